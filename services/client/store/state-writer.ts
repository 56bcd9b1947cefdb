/**
 * How a write reaches the state file: one transaction of sender rows,
 * evictions and incidents, and the run's sign of life. The one place that
 * writes those tables, on whichever connection it is given: the store's own
 * (its last write at a clean stop) or the writer thread's.
 *
 * The writer thread (startWriterThread) has a connection of its own to the
 * file and does the writing there: at 50,000 senders a sync writes about
 * 1,700 rows a second, and a transaction of them held the tracking thread
 * for 10-60 ms (a WAL checkpoint the longest), time in which no datagram
 * was tracked and no HTTP request answered. SQLite in WAL mode lets the
 * store's connection read (incidents, runs) while the thread writes.
 *
 * This file is also the thread's entry. It imports only Node's own modules
 * (its other imports are types, and the one module it needs at run time is
 * imported by its path), so it runs as a worker from the compiled .js or,
 * in development and tests, straight from the .ts.
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import type { StateWrite } from './state-file.js';

/**
 * The thread's nice value: its writes can wait (counters are due within
 * STATE_SYNC_INTERVAL), the socket thread's reads cannot. On two busy cores
 * the kernel dropped 163,000 datagrams in 120 s with the writer at the
 * socket thread's priority, 48,000 with it at 10 (one run each: noisy).
 */
export const WRITER_NICE = 10;
/** The thread's name, as `top -H` and /proc/PID/task/TID/comm show it. */
export const WRITER_THREAD_NAME = 'state-writer';
/** Incidents older than this are pruned (at most once an hour). */
const INCIDENT_RETENTION_MS = 90 * 86_400_000;
/**
 * A sender's newest incidents kept at most: a sender made to change state with
 * every datagram (beat, bye, beat, ...) would otherwise grow the table with
 * the datagram rate, for 90 days.
 */
export const INCIDENTS_PER_SENDER = 1000;
/** A sender's incidents are trimmed to INCIDENTS_PER_SENDER once this many more were written (each trim walks its 1,000). */
const TRIM_AFTER = 100;
const PRUNE_EVERY_MS = 3_600_000;
/** The prune by age: through incidents_by_at (schema 6). */
export const PRUNE_INCIDENTS_SQL = 'DELETE FROM incidents WHERE at < ?';
/** How long a write waits for the store's connection (a migration, its last write) to let go. */
export const BUSY_TIMEOUT_MS = 5000;

export interface StateWriter {
  /** One transaction; throws (and rolls back) when the file refuses it. */
  write(batch: StateWrite): void;
}

/** The write of `runId`'s batches on the connection `db`. */
export function createStateWriter(db: DatabaseSync, runId: number): StateWriter {
  const upsert = db.prepare(
    `INSERT INTO senders (source, record, sequence, heartbeats, uptime, updated_at)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (source) DO UPDATE SET record = excluded.record, sequence = excluded.sequence,
       heartbeats = excluded.heartbeats, uptime = excluded.uptime, updated_at = excluded.updated_at`,
  );
  const remove = db.prepare('DELETE FROM senders WHERE source = ?');
  // A sender forgotten (evicted, or by an operator) takes its history with it.
  const removeIncidents = db.prepare('DELETE FROM incidents WHERE source = ?');
  const trimIncidents = db.prepare(
    `DELETE FROM incidents WHERE source = ? AND id < (
       SELECT id FROM incidents WHERE source = ? ORDER BY id DESC LIMIT 1 OFFSET ${INCIDENTS_PER_SENDER - 1})`,
  );
  const incident = db.prepare(
    'INSERT INTO incidents (source, from_state, to_state, reason, at) VALUES (?, ?, ?, ?, ?)',
  );
  const alive = db.prepare(
    'UPDATE monitor_runs SET alive_at = ?, recorded_until = MAX(recorded_until, ?) WHERE id = ?',
  );
  const prune = db.prepare(PRUNE_INCIDENTS_SQL);
  let prunedAtMs = 0;
  /** Per source, incidents written since its last trim. */
  const sinceTrim = new Map<string, number>();
  return {
    write({ senders, removed, incidents, atMs, recordedUntilMs }) {
      // Not atomically() (store/atomically.ts): this file imports no module of ours at run time.
      db.exec('BEGIN');
      try {
        for (const s of senders)
          upsert.run(s.source, s.record, s.sequence, s.heartbeats, s.uptime, recordedUntilMs);
        for (const i of incidents) incident.run(i.source, i.from, i.to, i.reason, i.atMs);
        for (const i of incidents) {
          const n = (sinceTrim.get(i.source) ?? 0) + 1;
          if (n < TRIM_AFTER) sinceTrim.set(i.source, n);
          else {
            trimIncidents.run(i.source, i.source);
            sinceTrim.delete(i.source);
          }
        }
        for (const source of removed) {
          remove.run(source);
          removeIncidents.run(source);
          sinceTrim.delete(source);
        }
        alive.run(atMs, recordedUntilMs, runId);
        if (atMs - prunedAtMs >= PRUNE_EVERY_MS) {
          prune.run(atMs - INCIDENT_RETENTION_MS);
          prunedAtMs = atMs;
        }
        db.exec('COMMIT');
      } catch (err) {
        // (SQLite may have rolled it back itself: a full disk. A ROLLBACK then would hide the error.)
        if (db.isTransaction) db.exec('ROLLBACK');
        throw err;
      }
    },
  };
}

/** The settings every connection to the state file needs (journal_mode WAL is the file's own). */
export function configureConnection(db: DatabaseSync): void {
  // WAL with synchronous=NORMAL: a commit survives a crash of the process
  // (the kernel has it); only a power cut may lose the last commits.
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
}

/** From the main thread to the writer thread. */
type WriterCommand = { type: 'write'; batch: StateWrite } | { type: 'close' };
/** From the writer thread: each write's outcome, in order, then `closed`. */
type WriterMessage =
  | { type: 'written'; ms: number }
  | { type: 'failed'; message: string; ms: number }
  | { type: 'closed' };

export interface WriterThread {
  /** Resolves with the write's duration once it is committed; rejects when the file refused it. */
  write(batch: StateWrite): Promise<number>;
  /** Waits for the writes handed over, then closes the thread's connection. */
  close(): Promise<void>;
}

// The compiled .js in production; this .ts run as it is (Node strips the types) in development and tests.
const THREAD_FILE = new URL(import.meta.url);

/** A thread with its own connection to the state file at `path`, writing for run `runId`. */
export function startWriterThread(path: string, runId: number): WriterThread {
  const worker = new Worker(THREAD_FILE, {
    name: WRITER_THREAD_NAME,
    workerData: { stateWriter: true, path, runId },
  });
  const waiting: Array<{ resolve(ms: number): void; reject(err: Error): void }> = [];
  let exited: Error | null = null;
  let closed: Promise<void> | null = null;
  const failAll = (err: Error) => {
    for (const w of waiting.splice(0)) w.reject(err);
  };
  worker.on('message', (m: WriterMessage) => {
    if (m.type === 'written') waiting.shift()?.resolve(m.ms);
    else if (m.type === 'failed') waiting.shift()?.reject(new Error(m.message));
  });
  worker.on('error', (err) => {
    exited = err;
    failAll(err);
  });
  worker.on('exit', () => {
    exited ??= new Error('the state file writer thread exited');
    failAll(exited);
  });
  return {
    write(batch) {
      if (exited !== null) return Promise.reject(exited);
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        worker.postMessage({ type: 'write', batch } satisfies WriterCommand);
      });
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        if (exited !== null) return resolve();
        worker.once('exit', () => resolve());
        worker.postMessage({ type: 'close' } satisfies WriterCommand);
      });
      return closed;
    },
  };
}

// The compiled .js in production; the .ts run as it is (Node strips the types) in development and tests.
const PRIORITY_MODULE = new URL(
  import.meta.url.endsWith('.ts') ? '../../shared/thread-priority.ts' : '../../shared/thread-priority.js',
  import.meta.url,
);

async function runThread(path: string, runId: number): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('state-writer runs as a worker');
  const { lowerThisThread } = (await import(
    PRIORITY_MODULE.href
  )) as typeof import('../../shared/thread-priority.js');
  // Refused (a restricted sandbox): the writes still go through, at the default priority.
  lowerThisThread(WRITER_NICE);
  const db = new DatabaseSync(path);
  configureConnection(db);
  const writer = createStateWriter(db, runId);
  port.on('message', (command: WriterCommand) => {
    if (command.type === 'close') {
      db.close();
      port.postMessage({ type: 'closed' } satisfies WriterMessage);
      port.close();
      return;
    }
    const started = performance.now();
    try {
      writer.write(command.batch);
      port.postMessage({ type: 'written', ms: performance.now() - started } satisfies WriterMessage);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      port.postMessage({ type: 'failed', message, ms: performance.now() - started } satisfies WriterMessage);
    }
  });
}

// A failure to open rejects: unhandled, it ends the worker, and the main thread sees its error.
// Commands sent meanwhile wait in the port until its listener is added.
if (parentPort !== null && workerData?.stateWriter === true)
  void runThread(workerData.path as string, workerData.runId as number);
