/**
 * Holds one thread of a process still (tests/support/hold-thread.c, built
 * with the machine's gcc on first use): as if it got no core, while the
 * process's other threads run on.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

let binary: string | undefined;

function helper(): string {
  if (binary === undefined) {
    const out = join(mkdtempSync(join(tmpdir(), 'udpts-hold-')), 'hold-thread');
    const source = fileURLToPath(new URL('./hold-thread.c', import.meta.url));
    try {
      execFileSync('gcc', ['-O2', '-Wall', '-o', out, source], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      throw new Error(
        `cannot build ${source} (${(err as Error).message}): install gcc (.ci/provision.sh does)`,
      );
    }
    binary = out;
  }
  return binary;
}

/** The thread ids of this process whose name (/proc/self/task/TID/comm) is `name`. */
export function threadIdsNamed(name: string): number[] {
  return readdirSync('/proc/self/task').flatMap((tid) => {
    try {
      return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === name ? [Number(tid)] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}

/**
 * Stops thread `tid` until release() is called. Resolves once it is
 * stopped; release() resolves once it runs again (rejects if the helper
 * fails). The hold lasts until the caller ends it, so a check made before
 * release() is made while the thread is stopped, however late the caller's
 * own timers fire on a busy machine.
 */
export async function holdThread(tid: number): Promise<{ release(): Promise<void> }> {
  const child = spawn(helper(), [String(tid)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(
            new Error(
              `hold-thread exited with ${code}: ${stderr.trim()} (it traces a thread of this process: ` +
                'root, or kernel.yama.ptrace_scope 0, lets it)',
            ),
          ),
    );
  });
  // Not left unhandled if the hold fails before it begins (the race below reports it).
  exited.catch(() => {});
  await Promise.race([new Promise<void>((resolve) => child.stdout.once('data', () => resolve())), exited]);
  return {
    release() {
      child.stdin.end('\n');
      return exited;
    },
  };
}
