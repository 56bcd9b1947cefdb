import { describe, expect, it } from 'vitest';
import { fromRow, toRow } from '../../services/client/store/sender-codec.js';
import type { StoredSenderRow } from '../../services/client/store/state-file.js';
import { createTracker, type StateChange, type Tracker } from '../../services/client/tracking/tracker.js';
import { T0, TRACKER_OPTIONS, trackedBeat } from '../support/builders.js';
import { pick, prng, type Random } from '../support/prng.js';

// A sender and a monitor that restarts, simulated on a fake clock: the
// monitor's runs write their records as the state file does (a state change
// at once, the rest every few seconds, and everything at a clean stop; a
// crash loses what came after the last write), and each run starts from the
// previous run's file. The sender beats on its own schedule whatever the
// monitor does, restarts itself at times (a new boot on a new schedule,
// perhaps while the monitor is away), or dies.

const SHAPE = {
  sequenceWindow: TRACKER_OPTIONS.sequenceWindow,
  heartbeatSlots: TRACKER_OPTIONS.heartbeatSlots,
};
const STEP_MS = 100;
const TICK_MS = 1000;

interface Run {
  startMs: number;
  stopMs: number;
  /** A clean stop writes everything at stopMs; a crash leaves the last periodic write. */
  clean: boolean;
}

interface Beat {
  boot: string;
  seq: number;
  sentAtMs: number;
  delayMs: number;
}

interface Scenario {
  intervalMs: number;
  downAfterMisses: number;
  runs: Run[];
  beats: Beat[];
  /** How often a run writes its records. */
  syncMs: number;
}

/** What a run leaves in the state file. */
interface StoredFile {
  rows: StoredSenderRow[];
  recordedUntilMs: number;
  aliveAtMs: number;
}

/** A change, and when the monitor made it (it is dated at its threshold, which may be earlier). */
type Seen = StateChange & { seenAtMs: number };

/** Every change the runs made. */
function play(s: Scenario): Seen[] {
  const options = { ...TRACKER_OPTIONS, downAfterMisses: s.downAfterMisses };
  const seen: Seen[] = [];
  let file: StoredFile | null = null;
  let next = 0;
  for (const run of s.runs) {
    const tracker: Tracker = createTracker(options);
    const previous = file as StoredFile | null;
    if (previous !== null) {
      const stored = previous.rows.map((row) => fromRow(row, SHAPE));
      const recordedUntilMs = new Map(stored.map((sender) => [sender.source, previous.recordedUntilMs]));
      tracker.restore(stored, {
        monitorStartMs: run.startMs,
        lastAliveMs: previous.aliveAtMs,
        recordedUntilMs,
      });
    }
    tracker.listening(run.startMs);
    // Beats that arrived while the monitor was away are lost to it.
    while (next < s.beats.length && arrival(s.beats[next] as Beat) < run.startMs) next++;
    const write = (atMs: number) => {
      file = { rows: [...tracker.all()].map(toRow), recordedUntilMs: atMs, aliveAtMs: atMs };
    };
    let lastWrite: StoredFile | null = file;
    for (let t = run.startMs; t <= run.stopMs; t += STEP_MS) {
      const changesBefore = seen.length;
      while (next < s.beats.length && arrival(s.beats[next] as Beat) <= t) {
        const b = s.beats[next++] as Beat;
        const o = tracker.observe(
          trackedBeat({
            boot: b.boot,
            seq: b.seq,
            intervalMs: s.intervalMs,
            sentAtMs: b.sentAtMs,
            receivedAtMs: arrival(b),
          }),
        );
        for (const c of o.changes) seen.push({ ...c, seenAtMs: t });
      }
      if ((t - run.startMs) % TICK_MS === 0)
        for (const c of tracker.tick(t)) seen.push({ ...c, seenAtMs: t });
      // A state change is written at once (within 100 ms), everything else every syncMs.
      if (seen.length > changesBefore || (t - run.startMs) % s.syncMs === 0) {
        write(t);
        lastWrite = file;
      }
    }
    if (run.clean) write(run.stopMs);
    else file = lastWrite;
  }
  return seen;
}

const arrival = (b: Beat) => b.sentAtMs + b.delayMs;

/** Beats from T0 until `untilMs` on one schedule, a new boot on a new one at each of `restartsAt`. */
function beatsOf(intervalMs: number, untilMs: number, restartsAt: number[], random: Random): Beat[] {
  const beats: Beat[] = [];
  const starts = [T0, ...restartsAt].sort((a, b) => a - b);
  starts.forEach((from, i) => {
    const to = starts[i + 1] ?? untilMs;
    for (let seq = 0; from + seq * intervalMs < to; seq++) {
      beats.push({
        boot: `boot-${i}`,
        seq,
        sentAtMs: from + seq * intervalMs,
        delayMs: Math.floor(random() * 50),
      });
    }
  });
  return beats;
}

/** Runs from T0 until `untilMs`: each up for `up()` ms, then away for `away()` ms. */
function runsOf(untilMs: number, up: () => number, away: () => number, clean: () => boolean): Run[] {
  const runs: Run[] = [];
  for (let at = T0; at < untilMs; ) {
    const stopMs = Math.min(untilMs, at + up());
    runs.push({ startMs: at, stopMs, clean: clean() });
    at = stopMs + away();
  }
  return runs;
}

const round = (ms: number) => Math.round(ms / STEP_MS) * STEP_MS;

describe('tracker: a monitor that restarts again and again', () => {
  it('finds an hourly sender that died down, though it never runs an hour (the floor of each start is not carried on)', () => {
    const hour = 3_600_000;
    const minute = 60_000;
    // Runs of 50 minutes, 1 minute apart, clean stops: before, each start gave every sender
    // start + interval + grace again, and this sender was never judged at all.
    const runs = runsOf(
      T0 + 24 * hour,
      () => 50 * minute,
      () => minute,
      () => true,
    );
    const beats = beatsOf(hour, T0 + 1, [], () => 0); // one beat at T0, then nothing
    const downs = play({ intervalMs: hour, downAfterMisses: 3, runs, beats, syncMs: 5000 }).filter(
      (c) => c.to === 'down',
    );
    expect(downs).toHaveLength(1);
    // Three of its beats fell in no absence of the monitor (+ grace): beats due at 1, 2 and 3 h would make
    // it down at 3.5 h. The absences hid some of them, and each start's floor held it until the next start.
    // Its beats due at 1, 2 and 3 h would make it down at 3.5 h; the absences (and the grace before each)
    // hid some of them, and each start's floor (listening + 1.5 h) held it until the next start.
    const down = downs[0] as Seen;
    expect((down.atMs - T0) / hour).toBe(6.5);
    expect((down.seenAtMs - T0) / hour).toBeLessThan(7.5);
  });

  it('finds a declared sender that never started down, though the monitor restarts every half interval', () => {
    const minute = 60_000;
    const options = { ...TRACKER_OPTIONS };
    let tracker = createTracker(options);
    tracker.declare(
      [{ source: 'x', kind: 'protocol', intervalMs: 10 * minute, graceMs: null, displayName: null }],
      T0,
    );
    tracker.listening(T0);
    const changes: Seen[] = [];
    for (let start = T0; start < T0 + 60 * minute; start += 5 * minute) {
      if (start > T0) {
        const stopMs = start - 10_000;
        const stored = [...tracker.all()].map((s) => fromRow(toRow(s), SHAPE));
        tracker = createTracker(options);
        tracker.restore(stored, {
          monitorStartMs: start,
          lastAliveMs: stopMs,
          recordedUntilMs: new Map([['x', stopMs]]),
        });
        tracker.declare(
          [{ source: 'x', kind: 'protocol', intervalMs: 10 * minute, graceMs: null, displayName: null }],
          start,
        );
        tracker.listening(start);
      }
      for (let t = start; t < start + 5 * minute - 10_000; t += 1000)
        for (const c of tracker.tick(t)) changes.push({ ...c, seenAtMs: t });
    }
    // Its deadline, its declaration + 10 min + 5 min of grace, fell in the run from 10 min, which its
    // floor (listening + 15 min) held: the start at 20 min finds it passed while the monitor watched.
    expect(changes.map((c) => `${c.from}->${c.to}:${c.reason}`)).toEqual(['pending->down:never_seen']);
    expect(((changes[0] as Seen).atMs - T0) / minute).toBe(15);
    expect(((changes[0] as Seen).seenAtMs - T0) / minute).toBe(20);
  });

  for (const downAfterMisses of [1, 2, 3]) {
    it(`never marks a live sender down, whatever the restarts of either (DOWN_AFTER_MISSES=${downAfterMisses}, 1,000 schedules)`, () => {
      const falseDowns: string[] = [];
      for (let seed = 1; seed <= 1000; seed++) {
        const random = prng(seed * 7919 + downAfterMisses);
        const intervalMs = pick(random, [1000, 5000, 10_000, 30_000]);
        const untilMs = T0 + 40 * intervalMs;
        const restartsAt = Array.from({ length: Math.floor(random() * 4) }, () =>
          round(T0 + intervalMs + random() * 38 * intervalMs),
        );
        const runs = runsOf(
          untilMs,
          () => round(500 + random() * 4 * intervalMs),
          () => round(100 + random() * 2 * intervalMs),
          () => random() < 0.6,
        );
        const beats = beatsOf(intervalMs, untilMs, restartsAt, random);
        const changes = play({ intervalMs, downAfterMisses, runs, beats, syncMs: 2000 });
        for (const c of changes.filter((c) => c.to === 'down'))
          falseDowns.push(`seed ${seed}: ${c.reason} at +${c.atMs - T0} ms`);
      }
      expect(falseDowns).toEqual([]);
    });
  }

  for (const downAfterMisses of [1, 3]) {
    it(`finds a sender that died down by its misses and grace, from its last beat or a run that watches that long (DOWN_AFTER_MISSES=${downAfterMisses}, 300 schedules)`, () => {
      const late: string[] = [];
      for (let seed = 1; seed <= 300; seed++) {
        const random = prng(seed * 104_729 + downAfterMisses);
        const intervalMs = pick(random, [1000, 5000, 10_000]);
        const graceMs = Math.max(1000, intervalMs / 2);
        const diesAtMs = round(T0 + 5 * intervalMs + random() * 10 * intervalMs);
        const untilMs = T0 + 60 * intervalMs;
        // Short runs and absences until it dies; then one run long enough to judge it on its own.
        const runs = runsOf(
          diesAtMs + intervalMs,
          () => round(500 + random() * 3 * intervalMs),
          () => round(100 + random() * intervalMs),
          () => random() < 0.6,
        );
        const last = runs[runs.length - 1] as Run;
        const judgedFromMs = last.stopMs + round(100 + random() * intervalMs);
        runs.push({ startMs: judgedFromMs, stopMs: untilMs, clean: true });
        const beats = beatsOf(intervalMs, diesAtMs, [], random);
        const downs = play({ intervalMs, downAfterMisses, runs, beats, syncMs: 2000 }).filter(
          (c) => c.to === 'down',
        );
        // Its last beat, then N missed beats and grace; or, where a start's absence may have hidden one, N
        // intervals and grace after the long run listened.
        const missesMs = downAfterMisses * intervalMs + graceMs;
        const boundMs = Math.max(diesAtMs + missesMs, judgedFromMs + missesMs);
        if (downs.length !== 1 || (downs[0] as StateChange).atMs > boundMs)
          late.push(`seed ${seed}: ${downs.map((c) => c.atMs - T0).join(',') || 'never'} > ${boundMs - T0}`);
      }
      expect(late).toEqual([]);
    });
  }
});
