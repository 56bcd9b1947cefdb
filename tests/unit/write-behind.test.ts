import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fromRow, toRow } from '../../services/client/store/sender-codec.js';
import { openStateFile, type StateFile, type StateWrite } from '../../services/client/store/state-file.js';
import {
  SLICE_ROWS,
  type StateSink,
  startWriteBehind,
  type WriteBehind,
  withPutBack,
} from '../../services/client/store/write-behind.js';
import { createWriteFailures } from '../../services/client/store/write-failures.js';
import { createTracker, type Tracker } from '../../services/client/tracking/tracker.js';
import { T0, TRACKER_OPTIONS, takeDirtyLists, trackedBeat } from '../support/builders.js';
import { prng } from '../support/prng.js';

const SHAPE = {
  sequenceWindow: TRACKER_OPTIONS.sequenceWindow,
  heartbeatSlots: TRACKER_OPTIONS.heartbeatSlots,
};

// The write-behind on a real SQLite file, with a fake clock: state changes at
// once, every other change spread over STATE_SYNC_INTERVAL in bounded slices,
// everything on a clean stop.
describe('the state file write-behind', () => {
  let dir: string;
  let file: StateFile;
  let tracker: Tracker;
  let wb: WriteBehind;
  let writes: StateWrite[];
  let nowMs: number;
  /** The receiver's heardUntil(): every datagram that arrived before it has been handled. */
  let heardUntilMs: number;
  /** Writes the sink refuses from now on (a full disk), as the writer thread would report them. */
  let refuse = 0;
  /** The next write this says yes to is held (a writer thread waiting on a busy file) until the test settles it. */
  let holdIf: ((w: StateWrite) => boolean) | null = null;
  let held: { resolve(ms: number): void; reject(err: Error): void } | null = null;

  function start(senders: number, syncMs: number, maxSenders = senders * 2): void {
    tracker = createTracker({ ...TRACKER_OPTIONS, maxSenders });
    file = openStateFile(dir);
    // What a restart restores, as store.ts does: the file's rows, its senders.
    const stored = [...file.eachSender()].map((row) => fromRow(row, SHAPE));
    tracker.restore(stored, { monitorStartMs: nowMs, lastAliveMs: nowMs });
    file.beginRun(T0);
    writes = [];
    const write = file.write.bind(file);
    file.write = (w) => {
      writes.push(w);
      write(w);
    };
    // The writer thread's stand-in: the same write, on the test's connection, answered on the next turn.
    const sink: StateSink = {
      write: async (w) => {
        if (holdIf?.(w)) {
          holdIf = null;
          return new Promise<number>((resolve, reject) => {
            held = { resolve, reject };
          });
        }
        if (refuse > 0) {
          refuse--;
          throw new Error('disk full');
        }
        file.write(w);
        return 1;
      },
      close: async () => {},
    };
    wb = startWriteBehind(file, sink, tracker, {
      intervalMs: 1000,
      syncMs,
      now: () => nowMs,
      heardUntil: () => heardUntilMs,
      openedWatermarkMs: file.recordedUntilMs,
      rowsAtStart: stored.map((s) => s.source),
      failures: createWriteFailures(pino({ level: 'silent' }), file.path, () => nowMs),
    });
  }

  /** Every sender beats (seq `seq`) at the current time; state changes go to the write-behind as the sink would. */
  function beatAll(senders: number, seq: number): void {
    for (let i = 0; i < senders; i++) {
      const o = tracker.observe(trackedBeat({ source: `s-${i}`, seq, sentAtMs: nowMs, receivedAtMs: nowMs }));
      if (o.changes.length > 0) wb.changes(o.changes);
    }
  }

  /** One second on: the beats of that second, then the timers, and the slices they leave for later turns of the loop. */
  async function second(senders: number, seq: number): Promise<void> {
    nowMs += 1000;
    beatAll(senders, seq);
    await vi.advanceTimersByTimeAsync(1000);
    // The slices left for later (each after a pause as long as the previous one), until only the interval is set.
    for (let turn = 0; turn < 100 && vi.getTimerCount() > 1; turn++) await vi.advanceTimersToNextTimerAsync();
  }

  /** The collection's steps take turns on the real event loop (setImmediate, not faked): let them run. */
  async function turnsDone(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  const rowsOf = (ws: StateWrite[]) => ws.flatMap((w) => w.senders.map((s) => s.source));
  /** The file's watermark, as a start reads it: the latest any run recorded. */
  const watermark = () =>
    Number((file.db.prepare('SELECT MAX(recorded_until) AS w FROM monitor_runs').get() as { w: number }).w);

  beforeEach(() => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'],
    });
    dir = mkdtempSync(join(tmpdir(), 'udpts-wb-'));
    nowMs = T0;
    heardUntilMs = Number.POSITIVE_INFINITY;
    refuse = 0;
    holdIf = null;
    held = null;
  });
  afterEach(() => {
    vi.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes each second as many of the longest-waiting senders as keep every one within the sync interval', async () => {
    start(200, 10_000);
    beatAll(200, 0);
    // The first beats are state changes (first_beat) of senders heard from once: their rows wait, and
    // so do their incidents, until the senders are heard from again.
    await vi.advanceTimersByTimeAsync(100);
    expect(writes).toHaveLength(1);
    expect(writes[0]?.incidents).toHaveLength(0);
    expect(writes[0]?.senders).toHaveLength(0);
    writes = [];

    const perSecond: number[] = [];
    const firstWrittenAt = new Map<string, number>();
    const firstBeatsAt = new Map<string, number>();
    for (let seq = 1; seq <= 12; seq++) {
      const before = writes.length;
      await second(200, seq);
      const rows = rowsOf(writes.slice(before));
      perSecond.push(rows.length);
      for (const i of writes.slice(before).flatMap((w) => w.incidents)) firstBeatsAt.set(i.source, seq);
      for (const source of rows) if (!firstWrittenAt.has(source)) firstWrittenAt.set(source, seq);
    }
    // 200 senders x 1 s / 10 s: 20 rows a second, not 200.
    expect(perSecond).toEqual(Array(12).fill(20));
    // Within 10 s of its change, every sender is in the file.
    expect(firstWrittenAt.size).toBe(200);
    expect(Math.max(...firstWrittenAt.values())).toBeLessThanOrEqual(10);
    // No incident was invented by the sync: the first beats, each once, all in the second of the
    // senders' second datagram, not with their rows.
    expect(writes.flatMap((w) => w.incidents).map((i) => i.reason)).toEqual(Array(200).fill('first_beat'));
    expect([...new Set(firstBeatsAt.values())]).toEqual([1]);
    await wb.stop();
  });

  it('writes a state change with its sender within 100 ms, whatever its turn', async () => {
    start(50, 3_600_000);
    beatAll(50, 0);
    await second(50, 1);
    writes = [];
    // s-7 says bye: stopped.
    nowMs += 10;
    const o = tracker.observe(
      trackedBeat({ source: 's-7', seq: 2, kind: 'bye', sentAtMs: nowMs, receivedAtMs: nowMs }),
    );
    wb.changes(o.changes);
    await vi.advanceTimersByTimeAsync(100);
    expect(writes).toHaveLength(1);
    expect(writes[0]?.incidents.map((i) => `${i.source}:${i.to}`)).toEqual(['s-7:stopped']);
    expect(rowsOf(writes)).toEqual(['s-7']);
    await wb.stop();
  });

  it("writes each state change in the transaction of its sender's row, in a storm of more than SLICE_ROWS too", async () => {
    start(200, 3_600_000);
    beatAll(200, 0);
    await second(200, 1);
    writes = [];
    // All 200 sign off at once, and a reader of incidents asks for them at once.
    nowMs += 10;
    for (let i = 0; i < 200; i++) {
      const bye = trackedBeat({
        source: `s-${i}`,
        seq: 2,
        kind: 'bye',
        sentAtMs: nowMs,
        receivedAtMs: nowMs,
      });
      wb.changes(tracker.observe(bye).changes);
    }
    const flushed = wb.flush();
    await vi.advanceTimersByTimeAsync(0);
    await flushed;
    for (let turn = 0; turn < 100 && writes.flatMap((w) => w.incidents).length < 200; turn++)
      await vi.advanceTimersToNextTimerAsync();
    expect(writes.flatMap((w) => w.incidents.map((i) => i.to))).toEqual(Array(200).fill('stopped'));
    // Never an incident without its sender's row: a crash between two writes loses both or neither.
    for (const w of writes) {
      const rows = new Set(w.senders.map((r) => r.source));
      expect(w.incidents.filter((i) => !rows.has(i.source))).toEqual([]);
      expect(w.senders.length).toBeLessThanOrEqual(SLICE_ROWS);
    }
    await wb.stop();
  });

  it('writes a large sync in slices, each its own transaction', async () => {
    start(1000, 1000);
    beatAll(1000, 0);
    await second(1000, 1);
    // A storm of 1000 state changes (first beats) is sliced too, with every incident written.
    expect(Math.max(...writes.map((w) => w.senders.length))).toBe(SLICE_ROWS);
    expect(writes.flatMap((w) => w.incidents)).toHaveLength(1000);
    writes = [];
    await second(1000, 2);
    // Every sender each second (sync 1 s), at most SLICE_ROWS to a transaction.
    expect(writes.map((w) => w.senders.length)).toEqual(Array(20).fill(50));
    expect(SLICE_ROWS).toBe(50);
    expect(new Set(rowsOf(writes)).size).toBe(1000);
    await wb.stop();
  });

  it('writes everything, one-shot senders too, on a clean stop', async () => {
    start(30, 3_600_000);
    beatAll(30, 0);
    await vi.advanceTimersByTimeAsync(100);
    writes = [];
    await wb.stop();
    expect(writes).toHaveLength(1);
    expect(new Set(rowsOf(writes)).size).toBe(30);
    // Reopened, the file has them all.
    const again = openStateFile(dir);
    expect([...again.eachSender()]).toHaveLength(30);
    again.close(null);
  });

  it('moves the file watermark only as far as every change before it is in the file: the senders still waiting hold it back', async () => {
    start(200, 10_000);
    const inFile = () => new Map([...file.eachSender()].map((row) => [row.source, fromRow(row, SHAPE)]));
    const stale: string[] = [];
    let seq = 0;
    beatAll(200, seq);
    for (let s = 1; s <= 14; s++) {
      // One write refused (a full disk): what it took waits again, since when it did.
      if (s === 6) refuse = 1;
      // For a few seconds the tracker is 1.5 s behind what arrived (a backlog on the socket threads).
      heardUntilMs = s >= 9 && s <= 11 ? nowMs + 1000 - 1500 : Number.POSITIVE_INFINITY;
      await second(200, ++seq);
      await turnsDone();
      const markMs = watermark();
      if (markMs > heardUntilMs) stale.push(`second ${s}: watermark past what the tracker knows`);
      // Every sender beats at each whole second: its latest beat before the watermark must be in its row.
      const latestBefore = T0 + (Math.ceil((markMs - T0) / 1000) - 1) * 1000;
      const rows = inFile();
      for (const sender of tracker.all()) {
        const row = rows.get(sender.source);
        if (latestBefore >= T0 && !(row !== undefined && row.lastSeenMs >= latestBefore))
          stale.push(
            `second ${s}: ${sender.source} beat at +${latestBefore - T0}, its row at +${(row?.lastSeenMs ?? T0) - T0}, watermark +${markMs - T0}`,
          );
      }
    }
    expect(stale).toEqual([]);
    // Every sender beats every second and is written within about the 10 s sync (a share of the waiting
    // ones each second): the watermark lags by about that, not more.
    expect(watermark()).toBeGreaterThan(T0);
    expect(nowMs - watermark()).toBeLessThanOrEqual(15_000);
    // What the tracker knows of what the monitor heard holds it back too.
    heardUntilMs = nowMs - 300;
    await wb.stop();
    const again = openStateFile(dir);
    expect(again.recordedUntilMs).toBe(nowMs - 300);
    expect([...again.eachSender()].map((row) => row.recordedUntilMs)).toContain(nowMs - 300);
    again.close(null);
  });

  it("holds a restarted run's watermark at the file's until the rows it restored and changed are written again", async () => {
    // A run that crashed: 100 senders written at +1 s, the file's watermark +1 s, no clean stop.
    const before = createTracker(TRACKER_OPTIONS);
    for (let i = 0; i < 100; i++) before.observe(trackedBeat({ source: `s-${i}`, seq: 0, receivedAtMs: T0 }));
    const crashed = openStateFile(dir);
    crashed.beginRun(T0);
    crashed.write({
      senders: takeDirtyLists(before).changed.map(toRow),
      removed: [],
      incidents: [],
      atMs: T0 + 1000,
      recordedUntilMs: T0 + 1000,
    });
    crashed.close(null);
    nowMs = T0 + 60_000;
    start(100, 30_000);
    // Listening: the restart's absence moves every restored sender's deadlines, which changes them all.
    tracker.listening(nowMs);
    let secondsWithRowsUnwritten = 0;
    for (let s = 1; s <= 90; s++) {
      nowMs += 1000;
      await vi.advanceTimersByTimeAsync(1000);
      await turnsDone();
      // Written again: with the restart's floor.
      const unwritten = [...file.eachSender()].filter(
        (row) => fromRow(row, SHAPE).listenFloorMs === 0,
      ).length;
      // Rows still as the crashed run left them: the file knows no further than it did.
      if (unwritten > 0) {
        secondsWithRowsUnwritten++;
        expect(watermark(), `second ${s}: ${unwritten} rows unwritten`).toBe(T0 + 1000);
      }
    }
    // The rewrite took a while (a share of the waiting rows each second, 30 s a round at first): the check
    // above ran through it, not only after it.
    expect(secondsWithRowsUnwritten).toBeGreaterThanOrEqual(30);
    // Every one written again (a share of the waiting ones each second): the watermark moves on.
    expect([...file.eachSender()].filter((row) => fromRow(row, SHAPE).listenFloorMs === 0)).toEqual([]);
    expect(watermark()).toBeGreaterThan(T0 + 60_000);
  });

  it("stores a clean stop's watermark as its stop: everything is written then", async () => {
    start(3, 10_000);
    beatAll(3, 0);
    await second(3, 1);
    await wb.stop();
    const again = openStateFile(dir);
    expect(again.recordedUntilMs).toBe(nowMs);
    again.close(null);
  });

  it('closes the file as no clean stop when its last write fails: the run was last alive at its last write that went through', async () => {
    start(5, 1000);
    await second(5, 0);
    await second(5, 1);
    const lastWrite = (writes.at(-1) as StateWrite).atMs;
    file.write = () => {
      throw new Error('disk full');
    };
    nowMs += 5000;
    await wb.stop();
    const again = openStateFile(dir);
    expect(again.previousRun).toMatchObject({ aliveAtMs: lastWrite, stoppedAtMs: null });
    again.close(null);
  });

  it('puts back what a refused write took, and writes it with the next one', async () => {
    start(20, 1000);
    beatAll(20, 0);
    await vi.advanceTimersByTimeAsync(100);
    writes = [];
    await second(20, 1);
    writes = [];
    // s-3 says bye while the disk is full: its incident and row wait, and so do the others' rows.
    nowMs += 10;
    wb.changes(
      tracker.observe(
        trackedBeat({ source: 's-3', seq: 2, kind: 'bye', sentAtMs: nowMs, receivedAtMs: nowMs }),
      ).changes,
    );
    refuse = 1;
    await vi.advanceTimersByTimeAsync(100);
    expect(writes).toEqual([]);
    expect(wb.stats.failures).toBe(1);
    // The next second s-3 is back: its refused incident is written first, in order.
    await second(20, 3);
    expect(writes.flatMap((w) => w.incidents).map((i) => `${i.source}:${i.to}`)).toEqual([
      's-3:stopped',
      's-3:up',
    ]);
    expect(new Set(rowsOf(writes)).size).toBe(20);
    await wb.stop();
  });

  /** One datagram of `source` now (seq `seq`), its state changes handed on as the sink would. */
  function beat(source: string, seq: number): void {
    wb.changes(tracker.observe(trackedBeat({ source, seq, sentAtMs: nowMs, receivedAtMs: nowMs })).changes);
  }

  /**
   * x is written, evicted (room for a and b: the tracker holds 2; a beats twice, so that b evicts a
   * sender heard twice), then heard from again as a new record (seq 7).
   */
  async function forgetAndHearAgain(): Promise<void> {
    beat('x', 0);
    nowMs += 1000;
    beat('x', 1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(rowsOf(writes)).toContain('x');
    nowMs += 1000;
    beat('a', 0);
    beat('a', 1);
    beat('b', 0); // evicts x, the longest silent
    expect(tracker.view('x', nowMs)).toBeUndefined();
    nowMs += 10;
    beat('x', 7); // back, evicting b (heard from once)
    nowMs += 10;
    beat('x', 8);
  }

  const storedSeqs = (f: StateFile) =>
    Object.fromEntries(
      [...f.eachSender()].map((r) => [
        r.source,
        (JSON.parse(r.record) as { sequence: { highest: number } }).sequence.highest,
      ]),
    );

  it('keeps the row of a sender forgotten and heard from again before the sync: its new record replaces it', async () => {
    start(1, 1000); // room for 2 senders
    await forgetAndHearAgain();
    writes = [];
    await second(0, 0);
    // The eviction of x is no removal any more: x's new record is written, and stays. (b, evicted
    // too, was never written: nothing to remove.)
    expect(rowsOf(writes)).toContain('x');
    expect(writes.flatMap((w) => w.removed)).toEqual([]);
    expect(storedSeqs(file)).toMatchObject({ x: 8 });
    expect(storedSeqs(file)).not.toHaveProperty('b');
    await wb.stop();
  });

  it('keeps such a sender on a clean stop too', async () => {
    start(1, 3_600_000);
    await forgetAndHearAgain();
    await wb.stop();
    const again = openStateFile(dir);
    expect(storedSeqs(again)).toEqual({ a: 1, x: 8 });
    again.close(null);
  });

  it('writes the new record of such a sender, not the old one still waiting for its turn', async () => {
    start(2, 3_600_000); // room for 4 senders; a sync credit of 1 row a second
    beat('w', 0);
    beat('x', 0);
    await vi.advanceTimersByTimeAsync(100); // their first_beat incidents; no rows yet (one-shot senders)
    writes = [];
    nowMs += 1000;
    beat('w', 1);
    beat('x', 1);
    await vi.advanceTimersByTimeAsync(1000);
    // w took the second's one row; x's record waits for its turn.
    expect(rowsOf(writes)).toEqual(['w']);
    nowMs += 1000;
    // Each beats twice (one heard from once is what MAX_SENDERS evicts first): c and d evict w and x.
    for (const source of ['a', 'b', 'c', 'd']) {
      beat(source, 0);
      beat(source, 1);
    }
    expect(tracker.view('x', nowMs)).toBeUndefined();
    nowMs += 10;
    beat('x', 7);
    nowMs += 10;
    beat('x', 8);
    await wb.stop();
    const again = openStateFile(dir);
    expect(storedSeqs(again)).toMatchObject({ x: 8 });
    expect(storedSeqs(again)).not.toHaveProperty('w');
    again.close(null);
  });

  it('does not bring back the row of a sender evicted while a refused write held its record', async () => {
    start(30, 1000, 61); // x and 60 others fill it
    const others = (seq: number) => {
      for (let i = 0; i < 60; i++) beat(`s-${i}`, seq);
    };
    const tick = async () => {
      await vi.advanceTimersByTimeAsync(1000);
      await turnsDone();
      await second(0, 0);
    };
    for (let seq = 0; held === null; seq++) {
      nowMs += 1000;
      beat('x', seq);
      others(seq);
      // From the third second, the next write with x's record is held: the writer thread waits on a busy file.
      if (seq === 2) holdIf = (w) => w.senders.some((r) => r.source === 'x');
      await tick();
    }
    // x dies; n comes and evicts it (the longest silent); the next collection takes the eviction.
    nowMs += 1000;
    others(30);
    beat('n', 0);
    expect(tracker.view('x', nowMs)).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1000);
    await turnsDone();
    // Then the held write is refused: what it took goes back, but x's record is no longer the tracker's.
    (held as { reject(err: Error): void } | null)?.reject(new Error('database is locked'));
    await turnsDone();
    for (let seq = 31; seq < 34; seq++) {
      nowMs += 1000;
      others(seq);
      beat('n', seq);
      await tick();
    }
    await wb.stop();
    expect(wb.stats.failures).toBe(1);
    const again = openStateFile(dir);
    const stored = [...again.eachSender()].map((r) => r.source);
    again.close(null);
    expect(stored).not.toContain('x');
    expect(stored).toHaveLength(61);
  });

  it('queues no removal for a flood of one-shot sources evicted while every write fails', async () => {
    start(5, 1000); // room for 10
    beatAll(5, 0);
    nowMs += 1000;
    beatAll(5, 1);
    await second(0, 0);
    expect(new Set(rowsOf(writes)).size).toBe(5); // s-0 to s-4 have rows
    writes = [];
    refuse = Number.POSITIVE_INFINITY; // the disk is full
    for (let s = 0; s < 5; s++) {
      nowMs += 1000;
      for (let i = 0; i < 2000; i++) beat(`spoof-${s}-${i}`, 0);
      await second(0, 0);
    }
    refuse = 0;
    await second(0, 0);
    await wb.stop();
    expect(wb.stats.failures).toBeGreaterThan(0);
    // The flood evicted its own sources only (heard from once), never written: nothing to remove, and
    // the five with rows still tracked.
    expect(writes.flatMap((w) => w.removed)).toEqual([]);
    for (let s = 0; s < 5; s++) expect(tracker.view(`s-${s}`, nowMs)).toBeDefined();
  });

  it('writes no incident for a flood of one-shot sources gone before they were written; a real sender\u2019s first beat goes with its row', async () => {
    start(5, 1000); // room for 10
    for (let i = 0; i < 2000; i++) beat(`spoof-${i}`, 0);
    await second(0, 0);
    beat('real', 0);
    nowMs += 500;
    beat('real', 1);
    await second(0, 0);
    expect(rowsOf(writes)).toContain('real');
    expect(file.incidents('real', 10).map((i) => `${i.from}->${i.to}:${i.reason}`)).toEqual([
      'null->up:first_beat',
    ]);
    await wb.stop();
    const again = openStateFile(dir);
    const all = again.db.prepare('SELECT source FROM incidents').all() as Array<{ source: string }>;
    const senders = [...again.eachSender()].map((r) => r.source);
    again.close(null);
    // The incidents of the senders tracked at the stop (written then, one-shots too), and no other.
    expect(all.map((r) => r.source).sort()).toEqual(senders.sort());
    expect(all.length).toBeLessThanOrEqual(10);
  });

  it.each(['a reader asks for its incidents', 'it goes late'])(
    'removes what it wrote of a sender heard from once, its row not written yet, once that sender is evicted: %s',
    async (how) => {
      start(1, 3_600_000); // room for 2
      beat('once', 0);
      if (how === 'it goes late') {
        nowMs += 2500; // due at 1 s, late after its grace
        wb.changes(tracker.tick(nowMs));
        await vi.advanceTimersByTimeAsync(100);
      } else await wb.flush('once');
      // Its incidents are in the file; its row waits, as a one-shot's does.
      expect(file.incidents('once', 10).length).toBeGreaterThan(0);
      expect(rowsOf(writes)).not.toContain('once');
      // a, then b: b evicts the longest silent of the senders heard from once, `once`.
      beat('a', 0);
      beat('b', 0);
      expect(tracker.view('once', nowMs)).toBeUndefined();
      await second(0, 0);
      expect(writes.flatMap((w) => w.removed)).toContain('once');
      expect(file.incidents('once', 10)).toEqual([]);
      await wb.stop();
    },
  );

  it('writes the first beat of a sender heard from only once when it is 5 s old', async () => {
    start(5, 3_600_000);
    beat('once', 0);
    for (let s = 0; s < 4; s++) await second(0, 0);
    expect(file.incidents('once', 10)).toEqual([]);
    await second(0, 0);
    await second(0, 0);
    expect(file.incidents('once', 10).map((i) => i.reason)).toEqual(['first_beat']);
    await wb.stop();
  });

  it('removes the row of a sender it started with (restored) once that sender is evicted', async () => {
    start(1, 1000); // room for 2
    beat('old', 0);
    nowMs += 500;
    beat('old', 1);
    await wb.stop();
    // A restart: 'old' restored from its row; two new senders push it out.
    nowMs += 10_000;
    start(1, 1000);
    expect(tracker.view('old', nowMs)).toBeDefined();
    beat('a', 0);
    beat('a', 1); // heard twice: b then evicts the longest silent of those, old
    beat('b', 0);
    expect(tracker.view('old', nowMs)).toBeUndefined();
    await wb.stop();
    const again = openStateFile(dir);
    expect([...again.eachSender()].map((r) => r.source)).not.toContain('old');
    again.close(null);
  });

  it('writes none of an evicted sender\u2019s incidents still on their way, and removes those in the file', async () => {
    start(1, 1000); // room for 2
    beat('a', 0);
    nowMs += 500;
    beat('a', 1);
    await second(0, 0);
    expect(file.incidents('a', 10)).toHaveLength(1); // its first beat
    writes = [];
    wb.changes(
      tracker.observe(trackedBeat({ source: 'a', seq: 2, kind: 'bye', sentAtMs: nowMs, receivedAtMs: nowMs }))
        .changes,
    );
    // Before the 100 ms its change waits: b beats twice, c comes, and a (the longest silent) goes.
    nowMs += 10;
    beat('b', 0);
    beat('b', 1);
    beat('c', 0);
    expect(tracker.view('a', nowMs)).toBeUndefined();
    await second(0, 0);
    expect(writes.flatMap((w) => w.incidents).filter((i) => i.source === 'a')).toEqual([]);
    expect(file.incidents('a', 10)).toEqual([]);
    await wb.stop();
  });

  it('lets a reader of incidents wait for the ones on their way', async () => {
    start(5, 3_600_000);
    beatAll(5, 0);
    // Within the 100 ms before the write-behind would write them itself; s-2's first beat too, though
    // s-2 is not written yet (heard from once).
    const flushed = wb.flush('s-2');
    await vi.advanceTimersByTimeAsync(0);
    await flushed;
    expect(file.incidents('s-2', 10).map((i) => i.to)).toEqual(['up']);
    expect(file.incidents('s-3', 10)).toEqual([]);
    nowMs += 10;
    wb.changes(
      tracker.observe(
        trackedBeat({ source: 's-3', seq: 1, kind: 'bye', sentAtMs: nowMs, receivedAtMs: nowMs }),
      ).changes,
    );
    const again = wb.flush();
    await vi.advanceTimersByTimeAsync(0);
    await again;
    // A later change of s-3 takes its first beat along, in order.
    expect(file.incidents('s-3', 10).map((i) => i.to)).toEqual(['stopped', 'up']);
    await wb.stop();
  });
});

describe('a refused write puts its senders back among those waiting', () => {
  it('keeps the times in ascending order, each source once at its earlier time, as sorting them all does', () => {
    const random = prng(12);
    for (let round = 0; round < 500; round++) {
      const times = Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 50)).sort(
        (a, b) => a - b,
      );
      const waiting = new Map(times.map((at, i) => [`w-${i}`, at] as [string, number]));
      // Some of the slice's sources changed again meanwhile (waiting at a later time), some not.
      const back = Array.from(
        { length: Math.floor(random() * 10) },
        (_, i) =>
          [random() < 0.3 && times.length > i ? `w-${i}` : `b-${i}`, Math.floor(random() * 50)] as [
            string,
            number,
          ],
      );
      const sortedAll = new Map(waiting);
      for (const [source, at] of back) sortedAll.set(source, Math.min(sortedAll.get(source) ?? at, at));
      const merged = withPutBack(
        waiting,
        back.map(([source, at]) => [source, at]),
      );
      const values = [...merged.values()];
      expect(values).toEqual([...values].sort((a, b) => a - b));
      expect(new Map([...merged].sort())).toEqual(new Map([...sortedAll].sort()));
    }
  });
});
