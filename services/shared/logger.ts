/**
 * The one way both services log: pino, one JSON object per line, with
 * `time` (ISO-8601), `level` (a word), `service` and, by convention at every
 * call site, `event`. The schema of every line is in log-schema.ts.
 *
 * The monitor logs a line per datagram, so the cost of a line matters
 * (docs/PERFORMANCE.md): the timestamp is formatted once per millisecond,
 * and the destination hands lines to the file descriptor in batches.
 */
import { mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import { asError } from './as-error.js';
import { isoTime } from './iso-time.js';

export type { Logger } from 'pino';
export type ServiceName = 'server' | 'client';

export interface LoggerSetup {
  service: ServiceName;
  level: string;
  /** Where lines go; stdout (asynchronous, bounded buffer) when omitted. */
  destination?: DestinationStream;
}

let lastTimeMs = Number.NaN;
let lastTime = '';

/**
 * pino's `isoTime` (`,"time":"2026-11-24T00:03:38.123Z"`), formatted once
 * per millisecond: at thousands of lines a second most lines share their
 * millisecond with the previous one, and toISOString() would otherwise be
 * a third of the cost of a short line. Reads Date.now(), so fake timers work.
 */
function logTime(): string {
  const now = Date.now();
  if (now !== lastTimeMs) {
    lastTimeMs = now;
    lastTime = `,"time":"${isoTime(now)}"`;
  }
  return lastTime;
}

export function loggerOptions(service: ServiceName, level: string): LoggerOptions {
  return {
    level,
    base: { service },
    timestamp: logTime,
    formatters: { level: (label) => ({ level: label }) },
    // Whatever was thrown: pino's own passes a value that is not an Error through as it is.
    serializers: { err: (value: unknown) => pino.stdSerializers.err(asError(value)) },
  };
}

export function createLogger(setup: LoggerSetup): Logger {
  return pino(loggerOptions(setup.service, setup.level), setup.destination ?? stdoutDestination().stream);
}

export interface LogDestination {
  stream: DestinationStream & { flushSync(): void; flush(cb?: (err?: Error) => void): void };
  /** Lines dropped because the destination could not keep up and the buffer was full. */
  dropped(): number;
  /** Bytes the descriptor has taken so far (counted as each write completes). */
  written(): number;
}

/** Bytes of log lines waiting for the descriptor at most, unless told otherwise (LOG_BUFFER_BYTES's default too). */
const DEFAULT_BUFFER_BYTES = 16 * 1024 * 1024;

export interface LogDestinationOptions {
  /** A file descriptor (1: stdout) or a file path (appended to; its folder is created). */
  dest: number | string;
  /** Bytes waiting for the destination at most; past it lines are dropped and counted. */
  maxBufferBytes?: number;
  /**
   * Lines are handed to the descriptor in batches (logBatchBytes()), and at
   * least this often, so that lines of a quiet service are not held back.
   */
  flushMs?: number;
}

/**
 * Stdout through sonic-boom, asynchronous so a slow reader of the logs never
 * stalls the event loop, with a bounded buffer: past `maxBufferBytes` lines
 * are dropped and counted instead of growing memory without limit.
 */
export function stdoutDestination(maxBufferBytes = DEFAULT_BUFFER_BYTES): LogDestination {
  return logDestination({ dest: 1, maxBufferBytes });
}

/**
 * An asynchronous sonic-boom destination (see stdoutDestination) fed in
 * batches: lines are joined in memory and handed on every logBatchBytes()
 * (BATCH_BYTES, or an eighth of the buffer if that is less) or every
 * `flushMs` (100 ms), whichever comes first. Handed one line at a time,
 * sonic-boom issues a write per line when the log is fast to drain and
 * re-measures its whole pending buffer on every line when it is not; in
 * batches a line costs a string append, and under load a write carries a
 * batch or more (~200 `readable` lines a batch). flush() and flushSync()
 * include the batch; so does process exit.
 */
export function logDestination(options: LogDestinationOptions): LogDestination {
  const maxBufferBytes = options.maxBufferBytes ?? DEFAULT_BUFFER_BYTES;
  const batchBytes = logBatchBytes(maxBufferBytes);
  const fd = typeof options.dest === 'number' ? options.dest : openForAppend(options.dest);
  const sonic = pino.destination({
    dest: fd,
    sync: false,
    maxLength: maxBufferBytes,
    // Buffers, so that sonic-boom appends a batch to its pending chunk by
    // length instead of measuring (and flattening) the chunk's string again.
    contentMode: 'buffer',
    maxWrite: MAX_WRITE_BYTES,
  });
  let batch = '';
  let dropped = 0;
  let written = 0;
  // sonic-boom's flushSync() writes its queue beside a write in flight; pino calls it at exit. Ours
  // (below) never does: it stands in for sonic-boom's everywhere.
  const sonicFlushSync = sonic.flushSync.bind(sonic);
  sonic.flushSync = () => flushSync();
  /**
   * Nobody reads the log any more (EPIPE: the shipper died, `| head`): pino
   * then makes sonic-boom's methods no-ops, and sonic-boom's own flushSync()
   * would retry the write forever. From then on every line is dropped and
   * counted, and nothing waits for a write.
   */
  let broken = false;
  sonic.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') broken = true;
  });
  sonic.on('drop', (data: Buffer) => {
    dropped += countLines(data);
  });
  sonic.on('write', (bytes: number) => {
    written += bytes;
  });
  function handOn(): void {
    if (batch.length === 0) return;
    const data = Buffer.from(batch);
    batch = '';
    if (broken) {
      dropped += countLines(data);
      return;
    }
    // Typed for strings; in buffer mode it takes Buffers.
    sonic.write(data as unknown as string);
  }
  /**
   * Everything out now: sonic-boom's queue, then the batch, written directly
   * (handing it to sonic-boom could start an asynchronous write that a
   * process about to exit would never finish). But not while an
   * asynchronous write is in flight (up to MAX_WRITE_BYTES, a slow reader
   * holding it): written beside it, lines would tear and come out of order
   * (a pipe write is atomic only up to 4,096 bytes). Then what waits is
   * dropped and counted, never written: the log loses lines, never order.
   */
  function flushSync(): void {
    if (broken || isWriting(sonic)) {
      dropped += countLines(Buffer.from(batch)) + letGoQueued(sonic, broken);
      batch = '';
      return;
    }
    sonicFlushSync();
    if (batch.length === 0) return;
    let bytes = Buffer.from(batch);
    batch = '';
    for (let attempts = 0; bytes.length > 0 && attempts < 100; ) {
      try {
        const n = writeSync(fd, bytes);
        written += n;
        bytes = bytes.subarray(n);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') break; // nobody reads the log any more
        if (code !== 'EAGAIN' && code !== 'EBUSY') throw err;
        attempts++;
        Atomics.wait(SLEEPER, 0, 0, 10); // a non-blocking pipe is full: give its reader a moment
      }
    }
    if (bytes.length > 0) dropped += countLines(bytes);
  }
  const timer = setInterval(handOn, options.flushMs ?? 100);
  timer.unref();
  // pino flushes sonic-boom on exit; this runs after that, for the batch.
  process.once('exit', () => {
    try {
      flushSync();
    } catch {
      // Closed or broken: nothing more can be done at exit.
    }
  });
  return {
    stream: {
      write(line: string) {
        batch += line;
        if (batch.length >= batchBytes) handOn();
      },
      flush(cb?: (err?: Error) => void) {
        // sonic-boom's own flush() calls back at once (minLength 0), and
        // writing here (flushSync) could block this thread on a reader that
        // has stalled: the lines are handed on, and sonic-boom writes them
        // in order, asynchronously; this calls back once all are out. A
        // reader that never takes them leaves the caller's own time limit
        // to end the wait (lifecycle.ts: its flushSync() then drops them).
        const finish = () => {
          handOn();
          if (broken) {
            flushSync(); // drops what is left: it can never be written
          } else if (isWriting(sonic) || queuedLines(sonic) > 0) {
            setTimeout(finish, 2);
            return;
          }
          cb?.();
        };
        finish();
      },
      flushSync,
    },
    dropped: () => dropped,
    written: () => written,
  };
}

/**
 * A batch's size when the buffer allows it. A write costs a fixed price
 * besides its bytes (its thread-pool round trip, the file system's work):
 * on the 2-core AMD EPYC, 45–51 µs of CPU for 4 or 16 KiB, ~78 µs for
 * 64 KiB (docs/PERFORMANCE.md, "Back on an AMD EPYC: the log in larger
 * batches"); at 16 KiB, ~50 `readable` lines shared each write. Not
 * larger: a batch is a chain of strings until it is handed on, and joining
 * and handing on a 256 KiB chain cost the main thread about twice as much
 * a line in all as a 64 KiB one.
 */
const BATCH_BYTES = 64 * 1024;

/**
 * The batch size for a buffer of `maxBufferBytes`: BATCH_BYTES, but never
 * more than an eighth of the buffer. sonic-boom drops a batch whole that
 * does not fit its buffer, even an empty one, so a batch larger than the
 * buffer (LOG_BUFFER_BYTES may be as little as 64 KiB) would lose every line.
 */
export function logBatchBytes(maxBufferBytes: number): number {
  return Math.min(BATCH_BYTES, Math.floor(maxBufferBytes / 8));
}

const SLEEPER = new Int32Array(new SharedArrayBuffer(4));
const NEWLINE = 0x0a;
/**
 * The most one write() hands the descriptor. sonic-boom writes one chunk per
 * completed write, and a completion is seen once per turn of the event
 * loop; at its default (16 KiB) a turn that handled a few batches of
 * datagrams (each up to 512 `readable` lines, ~140 KiB) left the log behind
 * until its bounded buffer dropped lines. Our threads never write the log
 * concurrently (only the main thread logs), so a larger write cannot
 * interleave with another writer's.
 */
const MAX_WRITE_BYTES = 1024 * 1024;

/** sonic-boom has an asynchronous write in flight (not part of its typed API). */
function isWriting(stream: object): boolean {
  return (stream as { _writing?: boolean })._writing === true;
}

/** sonic-boom's queue behind the write in flight (buffer mode: chunks of Buffers; not part of its typed API). */
interface SonicQueue {
  _bufs: Buffer[][];
  _lens: number[];
  _len: number;
  _writingBuf: Buffer;
}

/** The lines sonic-boom holds queued behind the write in flight. */
function queuedLines(stream: object): number {
  let n = 0;
  for (const chunk of (stream as SonicQueue)._bufs ?? []) for (const b of chunk) n += countLines(b);
  return n;
}

/**
 * Lets go of sonic-boom's queue (the process is about to exit, and it cannot
 * be written in turn), and with `failed` of the write it failed too: their lines.
 */
function letGoQueued(stream: object, failed: boolean): number {
  const s = stream as SonicQueue;
  let n = queuedLines(s);
  if (failed) {
    n += countLines(s._writingBuf);
    s._writingBuf = Buffer.alloc(0);
  }
  s._bufs = [];
  s._lens = [];
  s._len = s._writingBuf.length;
  return n;
}

function openForAppend(path: string): number {
  mkdirSync(dirname(path), { recursive: true });
  return openSync(path, 'a');
}

function countLines(data: Buffer): number {
  let n = 0;
  for (let i = data.indexOf(NEWLINE); i !== -1; i = data.indexOf(NEWLINE, i + 1)) n++;
  return n;
}
