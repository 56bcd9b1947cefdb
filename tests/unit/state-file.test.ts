import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openOutbox, PRUNE_OUTBOX_SQL } from '../../services/client/store/outbox.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../services/client/store/schema.js';
import { fromRow, toRow } from '../../services/client/store/sender-codec.js';
import {
  openStateFile,
  STATE_FILE_NAME,
  type StateFile,
  StateFileError,
  type StoredSenderRow,
} from '../../services/client/store/state-file.js';
import {
  INCIDENTS_PER_SENDER,
  PRUNE_INCIDENTS_SQL,
  startWriterThread,
  WRITER_NICE,
} from '../../services/client/store/state-writer.js';
import { openStore } from '../../services/client/store/store.js';
import { createTracker, type Tracker } from '../../services/client/tracking/tracker.js';
import { T0, TRACKER_OPTIONS, takeDirtyLists, trackedBeat } from '../support/builders.js';
import { captureLogs } from '../support/log-capture.js';

const SHAPE = { sequenceWindow: 64, heartbeatSlots: 50 };

function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // After the command in parentheses: state is field 3, nice field 19.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

/** The file a run left in `d`: begun at T0, `rows` written at T0, stopped cleanly at T0 + 1 s. */
function leftBehind(d: string, rows: StoredSenderRow[]): void {
  const file = openStateFile(d);
  file.beginRun(T0);
  file.write({ senders: rows, removed: [], incidents: [], atMs: T0, recordedUntilMs: T0 });
  file.close(T0 + 1000);
}

/** The store of `d` opened as a restart at T0 + 2 s opens it (1 s sync, nothing heard yet). */
function storeAtRestart(d: string, tracker: Tracker, logger: Logger = captureLogs('client').logger) {
  return openStore(
    d,
    tracker,
    SHAPE,
    logger,
    () => T0 + 2000,
    1000,
    () => 0,
  );
}

describe('the state file', () => {
  const dirs: string[] = [];
  const files: StateFile[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'udpts-state-'));
    dirs.push(d);
    return d;
  };
  const open = (d: string) => {
    const f = openStateFile(d);
    files.push(f);
    return f;
  };
  /** The StateFileError opening `d` throws (fails the test if it opens). */
  const refusal = (d: string): StateFileError => {
    try {
      open(d);
    } catch (err) {
      expect(err).toBeInstanceOf(StateFileError);
      return err as StateFileError;
    }
    throw new Error(`the state file in ${d} was opened`);
  };
  afterEach(() => {
    for (const f of files.splice(0)) f.close(null);
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('is created in DATA_DIR (made if missing), in WAL mode at the current schema', () => {
    const d = join(dir(), 'nested', 'data');
    const f = open(d);
    expect(f.path).toBe(join(d, STATE_FILE_NAME));
    expect(f.previousRun).toBeNull();
    f.close(null);
    const db = new DatabaseSync(f.path);
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    expect(db.prepare('PRAGMA user_version').get()).toEqual({ user_version: SCHEMA_VERSION });
    db.close();
  });

  it('prunes incidents and finished notifications by age through an index, not by reading every row', () => {
    const f = open(dir());
    const plan = (statement: string) =>
      f.db
        .prepare(`EXPLAIN QUERY PLAN ${statement}`)
        .all(0)
        .map((row) => String(row.detail));
    expect(plan(PRUNE_INCIDENTS_SQL)).toEqual([
      expect.stringMatching(/^SEARCH incidents USING .*INDEX incidents_by_at \(at<\?\)$/),
    ]);
    expect(plan(PRUNE_OUTBOX_SQL)).toEqual([
      expect.stringMatching(/^SEARCH outbox USING INDEX outbox_by_done_at \(done_at<\?\)$/),
    ]);
    f.close(null);
  });

  it('keeps senders, incidents and runs across a close and a reopen', () => {
    const d = dir();
    const tracker = createTracker({ maxSenders: 10, lateGraceMs: null, downAfterMisses: 3, ...SHAPE });
    for (let seq = 0; seq < 5; seq++) tracker.observe(trackedBeat({ seq, delayMs: 3 }));
    tracker.observe(trackedBeat({ seq: 9, delayMs: 3 }));
    const first = open(d);
    first.beginRun(T0);
    const changed = takeDirtyLists(tracker).changed;
    first.write({
      senders: changed.map(toRow),
      removed: [],
      incidents: [{ source: 'a', from: null, to: 'up', reason: 'first_beat', atMs: T0 }],
      atMs: T0 + 9000,
      recordedUntilMs: T0 + 9000,
    });
    first.close(T0 + 9500);

    const again = open(d);
    expect(again.previousRun).toEqual({ startedAtMs: T0, aliveAtMs: T0 + 9500, stoppedAtMs: T0 + 9500 });
    const rows = [...again.eachSender()];
    expect(rows.map((r) => r.source)).toEqual(['a']);
    const restored = fromRow(rows[0] as (typeof rows)[number], SHAPE);
    const original = changed[0];
    expect(restored).toEqual(original);
    expect(again.incidents('a', 10)).toEqual([
      { source: 'a', from: null, to: 'up', reason: 'first_beat', atMs: T0 },
    ]);
  });

  it('refuses a write-ahead log whose database is missing or empty, and leaves the log as it was', () => {
    // A log with a run in it, from a file closed while its log was still there (a crash, say).
    const source = dir();
    const f = open(source);
    f.beginRun(T0);
    const copy = join(dir(), 'wal');
    writeFileSync(copy, readFileSync(`${f.path}-wal`));
    for (const databaseLeft of [false, true]) {
      const d = dir();
      const path = join(d, STATE_FILE_NAME);
      writeFileSync(`${path}-wal`, readFileSync(copy));
      if (databaseLeft) writeFileSync(path, '');
      const refused = refusal(d);
      expect(refused.message).toContain(
        `${databaseLeft ? 'is empty' : 'is missing'}, but its write-ahead log`,
      );
      expect(readFileSync(`${path}-wal`)).toEqual(readFileSync(copy));
      expect(existsSync(path)).toBe(databaseLeft);
    }
  });

  it('closes a run abandoned before it observed anything as if it had never begun', () => {
    const d = dir();
    const first = open(d);
    first.beginRun(T0);
    first.close(T0 + 1000);
    const failed = open(d);
    failed.beginRun(T0 + 60_000);
    failed.abandon();
    const next = open(d);
    expect(next.previousRun).toEqual({ startedAtMs: T0, aliveAtMs: T0 + 1000, stoppedAtMs: T0 + 1000 });
    expect(next.runs(10)).toHaveLength(1);
  });

  it('drops, at the start, a sender stored under an id no longer valid (. or ..), with an `evict` line', async () => {
    const d = dir();
    const tracker = createTracker({ maxSenders: 10, lateGraceMs: null, downAfterMisses: 3, ...SHAPE });
    for (const source of ['.', '..', 'ok']) tracker.observe(trackedBeat({ source, seq: 0 }));
    leftBehind(d, takeDirtyLists(tracker).changed.map(toRow));
    const logs = captureLogs('client');
    const again = createTracker({ maxSenders: 10, lateGraceMs: null, downAfterMisses: 3, ...SHAPE });
    const store = storeAtRestart(d, again, logs.logger);
    expect([...again.all()].map((x) => x.source)).toEqual(['ok']);
    expect(logs.events('evict')).toMatchObject([
      { level: 'warn', source: '.', reason: 'invalid_id' },
      { level: 'warn', source: '..', reason: 'invalid_id' },
    ]);
    expect(logs.schemaProblems()).toEqual([]);
    await store.stop();
    expect([...open(d).eachSender()].map((r) => r.source)).toEqual(['ok']);
  });

  it('refuses to start on a sender stored under an id no release writes (a damaged row), and writes nothing', () => {
    for (const bad of ['', 'two words', 'x'.repeat(65), 'caf\u00e9']) {
      const d = dir();
      const tracker = createTracker({ maxSenders: 10, lateGraceMs: null, downAfterMisses: 3, ...SHAPE });
      tracker.observe(trackedBeat({ source: 'ok', seq: 0 }));
      const row = takeDirtyLists(tracker).changed.map(toRow)[0] as StoredSenderRow;
      leftBehind(d, [row, { ...row, source: bad }]);
      const start = () => storeAtRestart(d, createTracker({ ...TRACKER_OPTIONS, ...SHAPE }));
      expect(start).toThrow(StateFileError);
      expect(start).toThrow(`holds a sender whose id is not one a monitor writes (${JSON.stringify(bad)})`);
      const again = open(d);
      expect(again.runs(10)).toHaveLength(1);
      expect([...again.eachSender()].map((r) => r.source).sort()).toEqual([bad, 'ok'].sort());
      again.close(null);
    }
  });

  it("keeps a sender's newest INCIDENTS_PER_SENDER incidents, and none of a sender removed", () => {
    const f = open(dir());
    f.beginRun(T0);
    const changes = (source: string, n: number, fromMs: number) =>
      Array.from({ length: n }, (_, i) => ({
        source,
        from: i % 2 === 0 ? ('up' as const) : ('stopped' as const),
        to: i % 2 === 0 ? ('stopped' as const) : ('up' as const),
        reason: i % 2 === 0 ? 'bye' : 'beat',
        atMs: fromMs + i,
        recordedUntilMs: fromMs + i,
      }));
    // Beat, bye, beat, ...: a change per datagram.
    f.write({
      senders: [],
      removed: [],
      incidents: changes('flip', INCIDENTS_PER_SENDER + 5, T0),
      atMs: T0,
      recordedUntilMs: T0,
    });
    f.write({ senders: [], removed: [], incidents: changes('other', 3, T0), atMs: T0, recordedUntilMs: T0 });
    const kept = f.incidents('flip', 2000);
    expect(kept).toHaveLength(INCIDENTS_PER_SENDER);
    expect(kept[0]?.atMs).toBe(T0 + INCIDENTS_PER_SENDER + 4);
    expect(kept.at(-1)?.atMs).toBe(T0 + 5);
    // Trimmed again once 100 more were written (each trim walks the 1,000): 1,099 at most between.
    f.write({
      senders: [],
      removed: [],
      incidents: changes('flip', 94, T0 + 5000),
      atMs: T0,
      recordedUntilMs: T0,
    });
    expect(f.incidents('flip', 2000)).toHaveLength(INCIDENTS_PER_SENDER + 94);
    f.write({
      senders: [],
      removed: [],
      incidents: changes('flip', 1, T0 + 6000),
      atMs: T0,
      recordedUntilMs: T0,
    });
    expect(f.incidents('flip', 2000)).toHaveLength(INCIDENTS_PER_SENDER);
    f.write({ senders: [], removed: ['flip'], incidents: [], atMs: T0 + 1, recordedUntilMs: T0 + 1 });
    expect(f.incidents('flip', 10)).toEqual([]);
    expect(f.incidents('other', 10)).toHaveLength(3);
  });

  it("trims an outbox target's rows dropped or given up to the newest, and keeps those sent", () => {
    const f = open(dir());
    const outbox = openOutbox(f.db);
    outbox.enqueue(
      Array.from({ length: 6 }, (_, i) => ({
        id: `n${i}`,
        target: 't',
        source: `s${i}`,
        event: 'down',
        body: '{}',
        createdAtMs: T0 + i,
      })),
    );
    const seqs = f.db
      .prepare('SELECT seq FROM outbox ORDER BY seq')
      .all()
      .map((r) => Number(r.seq));
    outbox.sent(seqs[0] as number, T0, 1);
    outbox.sent(seqs[1] as number, T0, 1);
    outbox.givenUp(seqs[2] as number, T0, 1, 'refused');
    expect(outbox.trim('t', 0, T0)).toBe(3);
    outbox.trimFinished('t', 2);
    expect(
      f.db
        .prepare('SELECT id, status FROM outbox ORDER BY seq')
        .all()
        .map((r) => `${r.id}:${r.status}`),
    ).toEqual(['n0:sent', 'n1:sent', 'n4:dropped', 'n5:dropped']);
  });

  it('removes the rows of evicted senders in the same transaction', () => {
    const d = dir();
    const f = open(d);
    f.beginRun(T0);
    const tracker = createTracker({ maxSenders: 1, lateGraceMs: null, downAfterMisses: 3, ...SHAPE });
    tracker.observe(trackedBeat({ source: 'a' }));
    f.write({
      senders: takeDirtyLists(tracker).changed.map(toRow),
      removed: [],
      incidents: [],
      atMs: T0,
      recordedUntilMs: T0,
    });
    tracker.observe(trackedBeat({ source: 'b', seq: 1 }));
    const dirty = takeDirtyLists(tracker);
    expect(dirty.removed).toEqual(['a']);
    f.write({
      senders: dirty.changed.map(toRow),
      removed: dirty.removed,
      incidents: [],
      atMs: T0 + 1000,
      recordedUntilMs: T0 + 1000,
    });
    expect([...f.eachSender()].map((r) => r.source)).toEqual(['b']);
  });

  it.each([
    [
      'not a database',
      Buffer.from('garbage, not SQLite\n'.repeat(300)),
      /is unreadable \(file is not a database\)/,
    ],
    ['empty', Buffer.alloc(0), /is empty/],
  ])(
    'refuses a file that is %s, names it, says how to start afresh, and leaves it as it was',
    (_, bytes, problem) => {
      const d = dir();
      const path = join(d, STATE_FILE_NAME);
      writeFileSync(path, bytes);
      const message = refusal(d).message;
      expect(message).toMatch(problem);
      expect(message).toContain(`state file ${path}`);
      expect(message).toContain(`mv ${path} ${path}.broken`);
      expect(message).not.toContain('\n');
      expect(readFileSync(path).equals(bytes)).toBe(true);
    },
  );

  it.each([
    [
      0,
      'CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)',
      /it would hold no tables, and it holds invoices$/,
    ],
    [
      1,
      'CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL); PRAGMA user_version = 1',
      /at schema version 1 it would hold the tables incidents, monitor_runs, senders, and it holds invoices$/,
    ],
    [
      SCHEMA_VERSION,
      `${MIGRATIONS.join(';')}; DROP TABLE notified; PRAGMA user_version = ${SCHEMA_VERSION}`,
      /and it holds incidents, monitor_runs, outbox, senders, silences, webhook_queues$/,
    ],
  ])(
    "refuses another program's database (schema version %i), names it, and writes nothing to it",
    (_, sql, problem) => {
      const d = dir();
      const path = join(d, STATE_FILE_NAME);
      const other = new DatabaseSync(path);
      other.exec(sql);
      other.close();
      const bytes = readFileSync(path);
      const error = refusal(d);
      expect(error.message).toContain(`state file ${path} is not a state file of this monitor`);
      expect(error.problem).toMatch(problem);
      expect(readFileSync(path).equals(bytes)).toBe(true);
      expect(existsSync(`${path}-wal`)).toBe(false);
    },
  );

  it('refuses a file from a newer schema, and a damaged sender record, without writing to it', () => {
    const newer = dir();
    const db = new DatabaseSync(join(newer, STATE_FILE_NAME));
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => open(newer)).toThrow(
      `has schema version ${SCHEMA_VERSION + 1}, newer than this monitor's ${SCHEMA_VERSION}`,
    );

    const damaged = dir();
    const f = open(damaged);
    f.beginRun(T0);
    f.write({
      senders: [
        {
          source: 'x',
          record: '{"kind":"protocol"}',
          sequence: new Uint8Array(8),
          heartbeats: new Uint8Array(50),
          uptime: new Uint8Array(1344),
        },
      ],
      removed: [],
      incidents: [],
      atMs: T0,
      recordedUntilMs: T0,
    });
    const [row] = [...f.eachSender()];
    expect(() => fromRow(row as NonNullable<typeof row>, SHAPE)).toThrow(/^sender "x": declaration: /);
  });

  it('stops a start the file refuses to write (another program holds its lock) as such, not as a file to move away', () => {
    const d = dir();
    const f = open(d);
    f.beginRun(T0);
    files.splice(files.indexOf(f), 1);
    f.close(T0 + 1000);
    const other = new DatabaseSync(join(d, STATE_FILE_NAME));
    other.exec('BEGIN IMMEDIATE');
    try {
      // (One try: each waits out the busy timeout, 5 s.)
      let thrown: unknown = null;
      try {
        storeAtRestart(d, createTracker({ ...TRACKER_OPTIONS, ...SHAPE }));
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(StateFileError);
      const text = (thrown as Error).message;
      expect(text).toMatch(
        / cannot be written \(database is locked\); it was left as it is\. Nothing is wrong with it: /,
      );
      expect(text).not.toMatch(/move it away/);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    // Let go, the file starts as it was: its one run, stopped cleanly.
    const again = open(d);
    expect(again.previousRun).toMatchObject({ startedAtMs: T0, stoppedAtMs: T0 + 1000 });
  });

  it('stops a start at a damaged record among good ones, naming file and sender, and leaves the file as it was', () => {
    const d = dir();
    const f = open(d);
    f.beginRun(T0);
    const good = createTracker({ ...TRACKER_OPTIONS, ...SHAPE });
    for (const source of ['a', 'b', 'c']) good.observe(trackedBeat({ source }));
    const rows = [...good.all()].map(toRow);
    rows[1] = { ...(rows[1] as (typeof rows)[number]), record: '{"kind":"protocol"}' };
    f.write({ senders: rows, removed: [], incidents: [], atMs: T0, recordedUntilMs: T0 });
    files.splice(files.indexOf(f), 1);
    f.close(T0 + 1000);

    const tracker = createTracker({ ...TRACKER_OPTIONS, ...SHAPE });
    const start = () => storeAtRestart(d, tracker);
    expect(start).toThrow(StateFileError);
    expect(start).toThrow(/holds a record this monitor cannot read \(sender "b": declaration: /);
    expect(tracker.stateCounts().up).toBe(0);
    // Closed, and nothing written: the file opens again with its one run and its three rows.
    const again = open(d);
    expect(again.previousRun).toMatchObject({ startedAtMs: T0, stoppedAtMs: T0 + 1000 });
    expect([...again.eachSender()].map((r) => r.source)).toEqual(['a', 'b', 'c']);
  });

  it('migrates a file made by schema 1 (before notifications), keeping its senders and runs', () => {
    const d = dir();
    const db = new DatabaseSync(join(d, STATE_FILE_NAME));
    db.exec(MIGRATIONS[0] as string);
    db.exec('PRAGMA user_version = 1');
    const tracker = createTracker({ maxSenders: 10, lateGraceMs: null, downAfterMisses: 3, ...SHAPE });
    tracker.observe(trackedBeat({ seq: 3 }));
    const [row] = takeDirtyLists(tracker).changed.map(toRow);
    const r = row as NonNullable<typeof row>;
    db.prepare('INSERT INTO senders VALUES (?, ?, ?, ?, ?, ?)').run(
      r.source,
      r.record,
      r.sequence,
      r.heartbeats,
      r.uptime,
      T0,
    );
    db.prepare('INSERT INTO monitor_runs (started_at, alive_at) VALUES (?, ?)').run(T0 - 5000, T0);
    db.close();
    const f = open(d);
    expect(f.previousRun).toEqual({ startedAtMs: T0 - 5000, aliveAtMs: T0, stoppedAtMs: null });
    expect([...f.eachSender()].map((x) => fromRow(x, SHAPE).sequence.highest)).toEqual([3]);
    f.close(null);
    const check = new DatabaseSync(join(d, STATE_FILE_NAME));
    expect(check.prepare('PRAGMA user_version').get()).toEqual({ user_version: SCHEMA_VERSION });
    expect(check.prepare("SELECT name FROM sqlite_master WHERE name = 'outbox'").get()).toEqual({
      name: 'outbox',
    });
    check.close();
  });

  it('reads the uptime buckets of a row written before schema 3 (64-bit floats), and refuses one out of range', () => {
    const tracker = createTracker({ maxSenders: 10, lateGraceMs: null, downAfterMisses: 3, ...SHAPE });
    tracker.observe(trackedBeat({ seq: 1 }));
    tracker.tick(T0 + 90_000);
    const [first] = takeDirtyLists(tracker).changed;
    const sender = first as NonNullable<typeof first>;
    const row = toRow(sender);
    expect(row.uptime.byteLength).toBe(sender.uptime.ms.length * 4);
    expect(sender.uptime.ms.some((ms) => ms > 0)).toBe(true);
    // As schema 2 wrote it: the same buckets, as Float64 (and the blob not 8-byte aligned).
    const floats = new Uint8Array(Float64Array.from(sender.uptime.ms).buffer);
    const unaligned = new Uint8Array(floats.byteLength + 1).subarray(1);
    unaligned.set(floats);
    const old = fromRow({ ...row, uptime: unaligned }, SHAPE);
    expect([...old.uptime.ms]).toEqual([...sender.uptime.ms]);
    expect(old.uptime.creditedUntilMs).toBe(sender.uptime.creditedUntilMs);

    const over = Float64Array.from(sender.uptime.ms);
    over[3] = 3_600_001;
    expect(() => fromRow({ ...row, uptime: new Uint8Array(over.buffer) }, SHAPE)).toThrow(
      /^sender "[^"]+": uptime buckets hold 3600001 ms in one bucket$/,
    );
    expect(() => fromRow({ ...row, uptime: new Uint8Array(100) }, SHAPE)).toThrow(
      /^sender "[^"]+": uptime buckets of 100 bytes$/,
    );
  });

  it('migrates a file made by the previous schema (an empty database, version 0)', () => {
    const d = dir();
    const db = new DatabaseSync(join(d, STATE_FILE_NAME));
    db.exec('VACUUM'); // a database with its header written, and no table
    db.close();
    const f = open(d);
    expect([...f.eachSender()]).toEqual([]);
    f.beginRun(T0);
    expect(f.runs(5)).toEqual([{ startedAtMs: T0, aliveAtMs: T0, stoppedAtMs: null }]);
  });
  it('is written by a thread of its own, which the store reads at once, a refused write changing nothing', async () => {
    const d = dir();
    const f = open(d);
    f.beginRun(T0);
    const tracker = createTracker({ maxSenders: 10, lateGraceMs: null, downAfterMisses: 3, ...SHAPE });
    tracker.observe(trackedBeat({ source: 'a' }));
    tracker.observe(trackedBeat({ source: 'b' }));
    const [a, b] = takeDirtyLists(tracker).changed.map(toRow);
    const thread = startWriterThread(f.path, f.runId);
    try {
      const ms = await thread.write({
        senders: [a as NonNullable<typeof a>],
        removed: [],
        incidents: [{ source: 'a', from: null, to: 'up', reason: 'first_beat', atMs: T0 }],
        atMs: T0 + 1000,
        recordedUntilMs: T0 + 1000,
      });
      expect(ms).toBeGreaterThan(0);
      // It runs below every other thread of the process (Linux: field 19 of /proc/self/task/TID/stat is the nice value).
      expect(threadNiceValues().filter((nice) => nice === WRITER_NICE)).toHaveLength(1);
      expect([...f.eachSender()].map((r) => r.source)).toEqual(['a']);
      expect(f.incidents('a', 10)).toHaveLength(1);
      expect(f.runs(1)[0]?.aliveAtMs).toBe(T0 + 1000);
      // An incident the schema refuses (no state): the whole transaction is rolled back, b's row too.
      const refused = thread.write({
        senders: [b as NonNullable<typeof b>],
        removed: [],
        incidents: [{ source: 'b', from: null, to: null as unknown as 'up', reason: 'x', atMs: T0 }],
        atMs: T0 + 2000,
        recordedUntilMs: T0 + 2000,
      });
      await expect(refused).rejects.toThrow(/NOT NULL/);
      expect([...f.eachSender()].map((r) => r.source)).toEqual(['a']);
      expect(f.runs(1)[0]?.aliveAtMs).toBe(T0 + 1000);
    } finally {
      await thread.close();
    }
    // The thread let go of the file: the store's own last write and clean close go through.
    f.write({
      senders: [b as NonNullable<typeof b>],
      removed: [],
      incidents: [],
      atMs: T0 + 3000,
      recordedUntilMs: T0 + 3000,
    });
    f.close(T0 + 3000);
    const again = open(d);
    expect([...again.eachSender()].map((r) => r.source)).toEqual(['a', 'b']);
    expect(again.previousRun).toEqual({ startedAtMs: T0, aliveAtMs: T0 + 3000, stoppedAtMs: T0 + 3000 });
  });
});
