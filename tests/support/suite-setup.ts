/**
 * A suite's set-up (a compose project, a swarm, a browser) whose failure
 * fails every test of the suite with its error. A `beforeAll` that throws
 * makes vitest report the suite's tests as skipped, and a test that cannot
 * find Docker (or Chromium) must fail, not skip: so the set-up's error is
 * kept and thrown again before each test.
 */
import { beforeAll, beforeEach } from 'vitest';

export function setUpSuite(setUp: () => Promise<void>, timeoutMs?: number): void {
  let failure: { error: unknown } | null = null;
  beforeAll(async () => {
    try {
      await setUp();
    } catch (error) {
      failure = { error };
    }
  }, timeoutMs);
  beforeEach(() => {
    if (failure !== null) throw failure.error;
  });
}
