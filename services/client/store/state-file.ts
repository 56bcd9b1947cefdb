/**
 * The monitor's state file: one SQLite database (node:sqlite, WAL) in
 * DATA_DIR. It holds every sender's record, the history of state changes
 * (incidents) and the monitor's own runs, from which its downtime is known.
 *
 * Opening never replaces anything: a file that is not a database, is
 * damaged, or was written by a newer schema stops start-up with a
 * StateFileError that names the file and says how to start afresh.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { type SenderState, senderStateSchema } from '../../shared/vocabulary.js';
import { atomically } from './atomically.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { configureConnection, createStateWriter, type StateWriter } from './state-writer.js';
import { isRefusedWrite } from './write-failures.js';

export const STATE_FILE_NAME = 'monitor.db';

export class StateFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
    /** What the operator can do; by default, for a file the monitor cannot use, start afresh. */
    remedy = `To start afresh, move it away (mv ${file} ${file}.broken, and its -wal and -shm files) and start the monitor again`,
  ) {
    super(`state file ${file} ${problem}; it was left as it is. ${remedy}`);
    this.name = 'StateFileError';
  }
}

/**
 * The error a start that failed on the file reports: a write its
 * surroundings refused (a full disk, a read-only volume, a lock another
 * program holds: isRefusedWrite()) says so, with nothing wrong with the
 * file, which must not be moved away for it; anything else is the file's
 * (`problem`, given the error's text).
 */
export function startError(file: string, err: unknown, problem: (text: string) => string): StateFileError {
  if (err instanceof StateFileError) return err;
  const text = message(err);
  return isRefusedWrite(err)
    ? new StateFileError(
        file,
        `cannot be written (${text})`,
        'Nothing is wrong with it: free space on its volume, make it writable, or end what holds its lock, and start the monitor again',
      )
    : new StateFileError(file, problem(text));
}

/** One sender as stored: a JSON record and its three binary rings. */
export interface StoredSenderRow {
  source: string;
  record: string;
  sequence: Uint8Array;
  heartbeats: Uint8Array;
  uptime: Uint8Array;
}

/** A stored sender as read back: its row, and until when the row knew all the monitor had heard (`updated_at`). */
export interface ReadSenderRow extends StoredSenderRow {
  recordedUntilMs: number;
}

export interface IncidentRow {
  source: string;
  from: SenderState | null;
  to: SenderState;
  reason: string;
  atMs: number;
}

export interface MonitorRun {
  startedAtMs: number;
  /** The last moment the run was known alive: its last write, or its clean stop. */
  aliveAtMs: number;
  stoppedAtMs: number | null;
}

export interface StateWrite {
  senders: readonly StoredSenderRow[];
  removed: readonly string[];
  incidents: readonly IncidentRow[];
  atMs: number;
  /**
   * The file's watermark once this write is in: every change the monitor
   * made to a sender before it (every datagram it heard before it, every
   * blind time) is in the file (write-behind.ts watermark()). Stored as the
   * run's `recorded_until` (never moved back) and as the `updated_at` of
   * the rows written.
   */
  recordedUntilMs: number;
}

export interface StateFile {
  readonly path: string;
  /** The open database, for the store's other tables (outbox.ts, notify-state.ts); nothing else touches it. */
  readonly db: DatabaseSync;
  /** The run before this one, if the file has one. */
  readonly previousRun: MonitorRun | null;
  /** The file's watermark when it was opened (StateWrite.recordedUntilMs): the latest any run wrote, 0 for none. */
  readonly recordedUntilMs: number;
  /**
   * The stored senders, one row at a time: a start that turns each into a
   * record as it comes (store.ts) holds no array of 50,000 rows and their
   * blobs for the collector to copy (0.2 s of the monitor's start at 50,000
   * senders; docs/PERFORMANCE.md).
   */
  eachSender(): IterableIterator<ReadSenderRow>;
  /** Records this run's start: call once, after reading, before the first write. */
  beginRun(atMs: number): void;
  /** This run's id in the file (-1 before beginRun), for a writer on another connection (state-writer.ts). */
  readonly runId: number;
  /**
   * One transaction on this connection: senders upserted and removed,
   * incidents appended, this run marked alive. The write-behind writes on
   * its thread (state-writer.ts) and here only its last write, at a clean stop.
   */
  write(batch: StateWrite): void;
  /** Newest first. */
  incidents(source: string, limit: number): IncidentRow[];
  /** Newest first, this run included. */
  runs(limit: number): MonitorRun[];
  /** Closes the file; with a time, this run is marked stopped cleanly first. */
  close(stoppedAtMs: number | null): void;
  /** Closes the file as if this run had never begun (a start that failed before it observed anything). */
  abandon(): void;
}

export function openStateFile(dataDir: string): StateFile {
  const path = join(dataDir, STATE_FILE_NAME);
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    throw new StateFileError(path, `cannot be created: DATA_DIR ${dataDir} is not usable (${message(err)})`);
  }
  // An empty file holds no database: SQLite would silently make it a new one. And a write-ahead log
  // whose database is gone or empty (moved or deleted without it) would be discarded by SQLite,
  // whatever it holds: a state file always has its first page written before anything goes to its log.
  const empty = existsSync(path) && statSync(path).size === 0;
  if (existsSync(`${path}-wal`) && (empty || !existsSync(path))) {
    throw new StateFileError(
      path,
      `${empty ? 'is empty' : 'is missing'}, but its write-ahead log ${path}-wal is there (the database was moved or deleted without it)`,
    );
  }
  if (empty) throw new StateFileError(path, 'is empty (not a SQLite database)');
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path);
  } catch (err) {
    throw new StateFileError(path, `cannot be opened (${message(err)})`);
  }
  try {
    prepare(db, path);
    return stateFile(db, path);
  } catch (err) {
    db.close();
    throw startError(path, err, (text) => `is unreadable (${text})`);
  }
}

/** The tables of a file at schema `version`: made by running its migrations on an empty database. */
function tablesAt(version: number): string[] {
  const scratch = new DatabaseSync(':memory:');
  try {
    for (const migration of MIGRATIONS.slice(0, version)) scratch.exec(migration);
    return tableNames(scratch);
  } finally {
    scratch.close();
  }
}

function tableNames(db: DatabaseSync): string[] {
  return (
    db
      .prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all() as Array<{ name: string }>
  ).map((r) => r.name);
}

/** Checks the file (intact, not newer, its tables those of its version), sets it up (WAL) and migrates it to SCHEMA_VERSION. */
function prepare(db: DatabaseSync, path: string): void {
  const check = db.prepare('PRAGMA quick_check').all() as Array<{ quick_check: string }>;
  const problems = check.map((r) => r.quick_check).filter((r) => r !== 'ok');
  if (problems.length > 0) throw new StateFileError(path, `is damaged (${problems.slice(0, 3).join('; ')})`);
  const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  if (version > SCHEMA_VERSION) {
    throw new StateFileError(
      path,
      `has schema version ${version}, newer than this monitor's ${SCHEMA_VERSION} (written by a newer release)`,
    );
  }
  // Another program's database (or one altered by hand) is refused before anything is written to it.
  const found = tableNames(db);
  const expected = tablesAt(version);
  if (found.join() !== expected.join()) {
    throw new StateFileError(
      path,
      `is not a state file of this monitor: at schema version ${version} it would hold ${expected.length === 0 ? 'no tables' : `the tables ${expected.join(', ')}`}, and it holds ${found.length === 0 ? 'none' : found.join(', ')}`,
    );
  }
  db.exec('PRAGMA journal_mode = WAL');
  configureConnection(db);
  for (let v = version; v < SCHEMA_VERSION; v++) {
    try {
      atomically(db, () => {
        db.exec(MIGRATIONS[v] as string);
        db.exec(`PRAGMA user_version = ${v + 1}`);
      });
    } catch (err) {
      throw startError(path, err, (text) => `could not be migrated to schema ${v + 1} (${text})`);
    }
  }
}

function stateFile(db: DatabaseSync, path: string): StateFile {
  const toRun = (r: Record<string, unknown>): MonitorRun => ({
    startedAtMs: Number(r.started_at),
    aliveAtMs: Number(r.alive_at),
    stoppedAtMs: r.stopped_at === null ? null : Number(r.stopped_at),
  });
  const last = db.prepare('SELECT * FROM monitor_runs ORDER BY id DESC LIMIT 1').get();
  const previousRun = last === undefined ? null : toRun(last);
  let runId = -1;

  const statements: Record<string, StatementSync> = {
    stopped: db.prepare('UPDATE monitor_runs SET alive_at = ?, stopped_at = ? WHERE id = ?'),
    abandoned: db.prepare('DELETE FROM monitor_runs WHERE id = ?'),
    incidents: db.prepare('SELECT * FROM incidents WHERE source = ? ORDER BY id DESC LIMIT ?'),
    runs: db.prepare('SELECT * FROM monitor_runs ORDER BY id DESC LIMIT ?'),
    senders: db.prepare('SELECT source, record, sequence, heartbeats, uptime, updated_at FROM senders'),
  };
  const run = (name: string) => statements[name] as StatementSync;
  let writer: StateWriter | null = null;
  let open = true;
  const close = (stoppedAtMs: number | null): void => {
    if (!open) return;
    open = false;
    if (stoppedAtMs !== null && runId >= 0) run('stopped').run(stoppedAtMs, stoppedAtMs, runId);
    db.close();
  };

  return {
    path,
    db,
    previousRun,
    recordedUntilMs: Number(
      (db.prepare('SELECT MAX(recorded_until) AS until FROM monitor_runs').get() as { until: unknown })
        .until ?? 0,
    ),
    *eachSender() {
      for (const r of run('senders').iterate()) {
        yield {
          source: String(r.source),
          record: String(r.record),
          sequence: r.sequence as Uint8Array,
          heartbeats: r.heartbeats as Uint8Array,
          uptime: r.uptime as Uint8Array,
          recordedUntilMs: Number(r.updated_at),
        };
      }
    },
    beginRun(atMs) {
      const insert = db.prepare('INSERT INTO monitor_runs (started_at, alive_at) VALUES (?, ?)');
      runId = Number(insert.run(atMs, atMs).lastInsertRowid);
    },
    get runId() {
      return runId;
    },
    write(batch) {
      writer ??= createStateWriter(db, runId);
      writer.write(batch);
    },
    incidents(source, limit) {
      return run('incidents')
        .all(source, limit)
        .map((r) => ({
          source: String(r.source),
          from: r.from_state === null ? null : senderStateSchema.parse(r.from_state),
          to: senderStateSchema.parse(r.to_state),
          reason: String(r.reason),
          atMs: Number(r.at),
        }));
    },
    runs(limit) {
      return run('runs').all(limit).map(toRun);
    },
    close,
    abandon() {
      if (!open) return;
      // The next start then takes the run before as the last alive, and counts the time since unobserved.
      if (runId >= 0) run('abandoned').run(runId);
      close(null);
    },
  };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
