/**
 * A suite's set-up (a compose project, a swarm, a browser) whose failure
 * fails every test of the suite with its error. A `beforeAll` that throws,
 * or outruns its hook timeout, makes vitest report the suite's tests as
 * skipped, and a test that cannot find Docker (or Chromium) must fail, not
 * skip: so the set-up's error is kept and thrown again before each test,
 * and a set-up still running shortly before the hook timeout is an error
 * too.
 */
import { beforeAll, beforeEach, inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The project's hook timeout (vitest.config.ts). */
    hookTimeoutMs: number;
  }
}

/** How long before the hook timeout a set-up still running is given up. */
const MARGIN_MS = 10_000;

/** `hookTimeoutMs`: the project's (vitest.config.ts), or one of this suite's own. */
export function setUpSuite(setUp: () => Promise<void>, hookTimeoutMs = inject('hookTimeoutMs')): void {
  let failure: { error: unknown } | null = null;
  const withinMs = hookTimeoutMs - MARGIN_MS;
  beforeAll(async () => {
    let timer: NodeJS.Timeout | undefined;
    const outrun = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the suite's set-up did not finish within ${withinMs / 1000} s`)),
        withinMs,
      );
    });
    const running = setUp();
    // Given up, it may still fail later: that is this failure already.
    running.catch(() => {});
    try {
      await Promise.race([running, outrun]);
    } catch (error) {
      failure = { error };
    } finally {
      clearTimeout(timer);
    }
  }, hookTimeoutMs);
  beforeEach(() => {
    if (failure !== null) throw failure.error;
  });
}
