/**
 * MAIN_THREAD_NICE lowers the main thread and V8's helper threads, and no
 * other. Run in a child process: a nice value cannot be raised back without
 * privilege, and the test runner's own threads must keep theirs.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { V8_HELPER_THREAD_NAME } from '../../services/shared/thread-priority.js';

interface ThreadNice {
  main: boolean;
  name: string;
  nice: number;
}

/** The child's threads after `lowerMainThread(nice)`, read from /proc (nice: field 19 of stat). */
function threadsAfter(nice: number): ThreadNice[] {
  const module = pathToFileURL(join(import.meta.dirname, '../../services/shared/thread-priority.ts')).href;
  const script = `
    import { readdirSync, readFileSync } from 'node:fs';
    const { lowerMainThread } = await import(${JSON.stringify(module)});
    lowerMainThread(${nice});
    const threads = readdirSync('/proc/self/task').map((tid) => {
      const stat = readFileSync('/proc/self/task/' + tid + '/stat', 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const name = readFileSync('/proc/self/task/' + tid + '/comm', 'utf8').trim();
      return { main: Number(tid) === process.pid, name, nice: Number(fields[16]) };
    });
    process.stdout.write(JSON.stringify(threads));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as ThreadNice[];
}

describe('lowerMainThread (Linux: threads by name in /proc)', () => {
  it("lowers the main thread and V8's helper threads to the value, and leaves every other thread as it was", () => {
    const threads = threadsAfter(7);
    const helpers = threads.filter((t) => t.name === V8_HELPER_THREAD_NAME);
    expect(helpers.length).toBeGreaterThan(0);
    expect(helpers.map((t) => t.nice)).toEqual(helpers.map(() => 7));
    expect(threads.filter((t) => t.main).map((t) => t.nice)).toEqual([7]);
    const others = threads.filter((t) => !t.main && t.name !== V8_HELPER_THREAD_NAME);
    expect(others.filter((t) => t.nice !== 0)).toEqual([]);
  });

  it('at 0 changes nothing', () => {
    expect(threadsAfter(0).filter((t) => t.nice !== 0)).toEqual([]);
  });
});
