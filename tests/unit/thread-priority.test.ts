/**
 * MAIN_THREAD_NICE lowers the main thread and V8's helper threads, and no
 * other; libuv's pool, started first, keeps the process's priority. Run in a
 * child process: a nice value cannot be raised back without privilege, and
 * the test runner's own threads must keep theirs.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { POOL_THREAD_NAME, V8_HELPER_THREAD_NAME } from '../../services/shared/thread-priority.js';
import { type ThreadNice, threadsScript } from '../support/threads-script.js';

const PRIORITY_MODULE = pathToFileURL(
  join(import.meta.dirname, '../../services/shared/thread-priority.ts'),
).href;

/** The child's threads after `steps` (module code that may use the imported functions and `access`). */
function threadsAfter(steps: string): ThreadNice[] {
  const script = `
    import { access } from 'node:fs/promises';
    const { lowerMainThread, lowerThisThread, startThreadPool } = await import(${JSON.stringify(PRIORITY_MODULE)});
    ${steps}
    ${threadsScript('process.pid')}`;
  // A child that hangs fails the test rather than the worker that runs it.
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return JSON.parse(out) as ThreadNice[];
}

describe('lowerMainThread (Linux: threads by name in /proc)', () => {
  it("lowers the main thread and V8's helper threads to the value, and leaves every other thread as it was", () => {
    const threads = threadsAfter('lowerMainThread(7);');
    const helpers = threads.filter((t) => t.name === V8_HELPER_THREAD_NAME);
    expect(helpers.length).toBeGreaterThan(0);
    expect(helpers.map((t) => t.nice)).toEqual(helpers.map(() => 7));
    expect(threads.filter((t) => t.main).map((t) => t.nice)).toEqual([7]);
    const others = threads.filter((t) => !t.main && t.name !== V8_HELPER_THREAD_NAME);
    expect(others.filter((t) => t.nice !== 0)).toEqual([]);
  });

  it('at 0 changes nothing', () => {
    expect(threadsAfter('lowerMainThread(0);').filter((t) => t.nice !== 0)).toEqual([]);
  });
});

describe("startThreadPool: libuv's pool takes the nice value of the thread that queues its first task", () => {
  it('started before the main thread lowers itself, the pool keeps the priority the process started with', () => {
    const threads = threadsAfter("await startThreadPool(); lowerMainThread(7); await access('/');");
    const pool = threads.filter((t) => t.name === POOL_THREAD_NAME);
    expect(pool.length).toBeGreaterThan(0);
    expect(pool.filter((t) => t.nice !== 0)).toEqual([]);
  });

  it('not started first, the pool runs at the nice value of a lowered thread that first uses it', () => {
    // What startThreadPool prevents: a task queued after lowering starts the pool at the lowered value.
    const threads = threadsAfter("lowerThisThread(7); await access('/');");
    const pool = threads.filter((t) => t.name === POOL_THREAD_NAME);
    expect(pool.length).toBeGreaterThan(0);
    expect(pool.filter((t) => t.nice !== 7)).toEqual([]);
  });
});
