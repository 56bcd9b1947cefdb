/**
 * The real monitor as a child process for the flood: `node --import tsx
 * services/client/main.ts` (works from a fresh clone and after `npm run
 * build` alike), its stdout (the product's JSON log) written straight to a
 * file and its stderr to another, plus the probes the flood samples while
 * it runs: /healthz latency and the child's resident memory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, createReadStream, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type LogLine, parseLogLine } from '../../services/shared/log-schema.js';
import { CLIENT_CONTAINER, REPO_ROOT } from './compose.js';
import { PROBLEMS_SHOWN } from './log-lines.js';

export interface ClientProcess {
  child: ChildProcess;
  pid: number;
  udpPort: number;
  httpPort: number;
  recvBufferBytes: number;
  logPath: string;
  errPath: string;
  /** Exit code and signal once it has exited. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | null;
  /** SIGTERM, then wait up to `ms` for the exit; SIGKILL past it. */
  stop(ms?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the client with `env` on 127.0.0.1, ports chosen by the kernel, and
 * the heap its container gives it (`--max-heap-size`, young generation
 * included): on the host V8 would size the heap from the host's memory and
 * grow it lazily, so the child's memory would tell of the host rather than
 * of the monitor. Resolves once both ports listen.
 */
export async function startClientProcess(dir: string, env: Record<string, string>): Promise<ClientProcess> {
  const logPath = join(dir, 'client.log');
  const errPath = join(dir, 'client.stderr');
  const out = openSync(logPath, 'w');
  const err = openSync(errPath, 'w');
  const heap = `--max-heap-size=${CLIENT_CONTAINER.heapLimitMiB}`;
  const child = spawn(process.execPath, [heap, '--import', 'tsx', 'services/client/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      UDP_HOST: '127.0.0.1',
      UDP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      DATA_DIR: join(dir, 'data'),
      ...env,
    },
    stdio: ['ignore', out, err],
  });
  // The child holds its own copies of the descriptors.
  closeSync(out);
  closeSync(err);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exitPromise = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolveExit(exit);
    }),
  );
  const kill = () => {
    if (exit === null) child.kill('SIGKILL');
  };

  const deadline = Date.now() + 30_000;
  let udp: { port: number; recvBufferBytes: number } | undefined;
  let http: { port: number } | undefined;
  while (udp === undefined || http === undefined) {
    if (exit !== null || Date.now() > deadline) {
      kill();
      throw new Error(
        `client did not start (${JSON.stringify(exit)}):\n${readFileSync(logPath, 'utf8')}\n${readFileSync(errPath, 'utf8')}`,
      );
    }
    await sleep(50);
    for (const line of readFileSync(logPath, 'utf8').split('\n')) {
      if (!line.includes('"event":"listening"')) continue;
      const l = JSON.parse(line) as { protocol: string; port: number; recvBufferBytes?: number };
      if (l.protocol === 'udp') udp = { port: l.port, recvBufferBytes: l.recvBufferBytes ?? 0 };
      if (l.protocol === 'http') http = { port: l.port };
    }
  }

  return {
    child,
    pid: child.pid as number,
    udpPort: udp.port,
    httpPort: http.port,
    recvBufferBytes: udp.recvBufferBytes,
    logPath,
    errPath,
    exited: () => exit,
    kill,
    async stop(ms = 10_000) {
      if (exit !== null) return exit;
      child.kill('SIGTERM');
      const timer = setTimeout(kill, ms);
      try {
        return await exitPromise;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Resident set size of a process in bytes (Linux /proc), or null once it is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export interface Probe {
  /** One /healthz answer: HTTP status (0: no answer) and time to the full body. */
  health: Array<{ status: number; ms: number }>;
  rss: number[];
  stop(): Promise<void>;
}

/**
 * Polls /healthz and samples RSS every `everyMs`, until stop(). A poll that
 * has no answer after `timeoutMs` is given up and recorded as status 0.
 */
export function startProbe(baseUrl: string, pid: number, everyMs: number, timeoutMs: number): Probe {
  const health: Probe['health'] = [];
  const rss: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const r = rssBytes(pid);
      if (r !== null) rss.push(r);
      try {
        const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
        await res.arrayBuffer();
        health.push({ status: res.status, ms: performance.now() - started });
      } catch {
        health.push({ status: 0, ms: performance.now() - started });
      }
      await sleep(Math.max(0, everyMs - (performance.now() - started)));
    }
  })();
  return {
    health,
    rss,
    async stop() {
      running = false;
      await loop;
    },
  };
}

export interface LogSummary {
  lines: number;
  bytes: number;
  /** Lines that break the log schema (not JSON, or not a documented line). */
  invalid: number;
  /** The first of those problems (as many as a failure shows), each the zod error and the line. */
  schemaProblems: string[];
  /** Count of schema-valid lines per `event`. */
  events: Map<string, number>;
  /** `readable` lines of accepted, verified datagrams. */
  verifiedReadable: number;
  /** The last line, parsed; null when it broke the schema (or the log is empty). */
  last: LogLine | null;
}

/**
 * One pass over a large log: every line parsed with the log schema and
 * counted by event. Affordable whole: the flood's ~800k lines take ~2 s to
 * read and parse on the 2-core CI machine (logSchemaCheckSeconds in its
 * printed figures), so no line goes unchecked.
 */
export async function summariseLog(path: string): Promise<LogSummary> {
  const summary: LogSummary = {
    lines: 0,
    bytes: 0,
    invalid: 0,
    schemaProblems: [],
    events: new Map(),
    verifiedReadable: 0,
    last: null,
  };
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    summary.lines++;
    summary.bytes += line.length + 1;
    const parsed = parseLogLine(line);
    if (!parsed.ok) {
      summary.invalid++;
      if (summary.schemaProblems.length < PROBLEMS_SHOWN) summary.schemaProblems.push(parsed.error);
      summary.last = null;
      continue;
    }
    const l = parsed.value;
    summary.events.set(l.event, (summary.events.get(l.event) ?? 0) + 1);
    if (l.event === 'readable' && l.verified === true) summary.verifiedReadable++;
    summary.last = l;
  }
  return summary;
}
