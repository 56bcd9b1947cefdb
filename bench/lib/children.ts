/** Forks the receivers under test and talks to them over IPC, one request at a time. */
import { type ChildProcess, fork } from 'node:child_process';
import type { Command, Probe, Ready, Reply } from '../children/ipc.js';

export interface Child {
  name: string;
  pid: number;
  ready: Ready;
  probe(): Promise<Probe>;
  flush(): Promise<void>;
  stop(): Promise<void>;
  /** Kills it if still running (SIGKILL to its own pid). */
  kill(): void;
}

const REQUEST_TIMEOUT_MS = 15_000;

export async function startChild(name: string, file: string, env: Record<string, string>): Promise<Child> {
  const child: ChildProcess = fork(file, [], {
    // Compiled (build-children.ts). BENCH_NODE_OPTIONS: extra flags for the receivers, e.g. --trace-gc or --cpu-prof.
    execArgv: process.env.BENCH_NODE_OPTIONS?.split(' ').filter(Boolean) ?? [],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;
  let exited = false;
  child.on('message', (message: Reply) => {
    const w = waiting;
    waiting = null;
    w?.resolve(message);
  });
  child.on('exit', (code, signal) => {
    exited = true;
    const w = waiting;
    waiting = null;
    w?.reject(new Error(`${name} exited (code ${code}, signal ${signal})`));
  });

  function next(what: string): Promise<Reply> {
    if (exited) return Promise.reject(new Error(`${name} is not running`));
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting = null;
        reject(new Error(`${name}: no answer to ${what} within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      waiting = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }
  async function request<T extends Reply['type']>(
    command: Command,
    type: T,
  ): Promise<Extract<Reply, { type: T }>> {
    const answer = next(command.cmd);
    child.send(command);
    const r = await answer;
    if (r.type !== type) throw new Error(`${name}: expected ${type}, got ${r.type}`);
    return r as Extract<Reply, { type: T }>;
  }

  const ready = await next('start');
  if (ready.type !== 'ready') throw new Error(`${name}: expected ready, got ${ready.type}`);
  return {
    name,
    pid: child.pid as number,
    ready,
    probe: () => request({ cmd: 'probe' }, 'probe'),
    flush: async () => {
      await request({ cmd: 'flush' }, 'flushed');
    },
    stop: async () => {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await request({ cmd: 'stop' }, 'stopped');
      await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (!exited) child.kill('SIGKILL');
    },
    kill: () => {
      if (!exited) child.kill('SIGKILL');
    },
  };
}
