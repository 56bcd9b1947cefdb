import { describe, expect, it } from 'vitest';
import { fromRow, toRow } from '../../services/client/store/sender-codec.js';
import type { StoredSenderRow } from '../../services/client/store/state-file.js';
import { createTracker, type StateChange } from '../../services/client/tracking/tracker.js';
import { declaredSender, T0, TRACKER_OPTIONS, trackedBeat } from '../support/builders.js';
import { pick, prng, type Random } from '../support/prng.js';

// A sender and a monitor that restarts, simulated on a fake clock. The
// monitor's runs write their records as the state file does: a changed
// sender's row (and only a changed one) at once for a state change and every
// few seconds otherwise, each write moving the file's watermark; everything
// at a clean stop; a crash loses what came after the last write. Each run
// starts from the file the runs before it left. The sender beats on its own
// schedule whatever the monitor does: it restarts itself at times (a new
// boot on a new schedule, perhaps while the monitor is away), says bye and
// comes back, starts after it was declared, or dies.

const SHAPE = {
  sequenceWindow: TRACKER_OPTIONS.sequenceWindow,
  heartbeatSlots: TRACKER_OPTIONS.heartbeatSlots,
};
const STEP_MS = 100;
const TICK_MS = 1000;
const SOURCE = 'a';

interface Run {
  startMs: number;
  stopMs: number;
  /** A clean stop writes everything at stopMs; a crash loses what changed since the last write. */
  clean: boolean;
}

interface Datagram {
  kind: 'beat' | 'bye';
  boot: string;
  seq: number;
  sentAtMs: number;
  delayMs: number;
}

/** A boot of the sender: beats every interval from startMs until endMs, then a bye if it says one. */
interface Boot {
  startMs: number;
  endMs: number;
  bye: boolean;
}

interface Scenario {
  intervalMs: number;
  downAfterMisses: number;
  stoppedTimeoutMs?: number;
  /** Declared (EXPECTED_SENDERS) at every start. */
  declared?: boolean;
  runs: Run[];
  datagrams: Datagram[];
  /** How often a run writes its changed records. */
  syncMs: number;
}

/** The state file as the runs leave it: a row per sender with its write's time, and the watermark. */
interface StoredFile {
  rows: Map<string, { row: StoredSenderRow; writtenAtMs: number }>;
  watermarkMs: number;
  aliveAtMs: number;
}

/** A change, and when the monitor made it (it is dated at its threshold, which may be earlier). */
type Seen = StateChange & { seenAtMs: number };

/** Every change the runs made. */
function play(s: Scenario): Seen[] {
  const options = {
    ...TRACKER_OPTIONS,
    downAfterMisses: s.downAfterMisses,
    stoppedTimeoutMs: s.stoppedTimeoutMs ?? 0,
  };
  const seen: Seen[] = [];
  const file: StoredFile = { rows: new Map(), watermarkMs: 0, aliveAtMs: T0 };
  let next = 0;
  for (const run of s.runs) {
    const tracker = createTracker(options);
    const stored = [...file.rows.values()].map(({ row }) => fromRow(row, SHAPE));
    // As store.ts reads it: until the later of the row's write and the file's watermark.
    const recordedUntilMs = new Map(
      [...file.rows].map(([source, { writtenAtMs }]) => [source, Math.max(writtenAtMs, file.watermarkMs)]),
    );
    tracker.restore(stored, { monitorStartMs: run.startMs, lastAliveMs: file.aliveAtMs, recordedUntilMs });
    if (s.declared) tracker.declare([declaredSender(SOURCE, s.intervalMs)], run.startMs);
    tracker.listening(run.startMs);
    // Datagrams that arrived while the monitor was away are lost to it.
    while (next < s.datagrams.length && arrival(s.datagrams[next] as Datagram) < run.startMs) next++;
    const write = (atMs: number) => {
      tracker.takeDirty((sender) => file.rows.set(sender.source, { row: toRow(sender), writtenAtMs: atMs }));
      file.watermarkMs = Math.max(file.watermarkMs, atMs);
      file.aliveAtMs = atMs;
    };
    for (let t = run.startMs; t <= run.stopMs; t += STEP_MS) {
      const changesBefore = seen.length;
      while (next < s.datagrams.length && arrival(s.datagrams[next] as Datagram) <= t) {
        const d = s.datagrams[next++] as Datagram;
        const o = tracker.observe(
          trackedBeat({
            source: SOURCE,
            kind: d.kind,
            boot: d.boot,
            seq: d.seq,
            intervalMs: s.intervalMs,
            sentAtMs: d.sentAtMs,
            receivedAtMs: arrival(d),
          }),
        );
        for (const c of o.changes) seen.push({ ...c, seenAtMs: t });
      }
      if ((t - run.startMs) % TICK_MS === 0)
        for (const c of tracker.tick(t)) seen.push({ ...c, seenAtMs: t });
      // A state change is written at once (within 100 ms), every other change every syncMs.
      if (seen.length > changesBefore || (t - run.startMs) % s.syncMs === 0) write(t);
    }
    if (run.clean) write(run.stopMs);
  }
  return seen;
}

const arrival = (d: Datagram) => d.sentAtMs + d.delayMs;

/** The datagrams of `boots`, each beating every `intervalMs` from its start. */
function datagramsOf(intervalMs: number, boots: Boot[], random: Random): Datagram[] {
  const datagrams: Datagram[] = [];
  boots.forEach(({ startMs, endMs, bye }, i) => {
    const delay = () => Math.floor(random() * 50);
    let seq = 0;
    for (; startMs + seq * intervalMs < endMs; seq++) {
      datagrams.push({
        kind: 'beat',
        boot: `boot-${i}`,
        seq,
        sentAtMs: startMs + seq * intervalMs,
        delayMs: delay(),
      });
    }
    if (bye) datagrams.push({ kind: 'bye', boot: `boot-${i}`, seq, sentAtMs: endMs, delayMs: delay() });
  });
  return datagrams.sort((a, b) => arrival(a) - arrival(b));
}

/** Boots from `fromMs` until `untilMs`, one after the other, a new one at each of `restartsAt`. */
function bootsOf(fromMs: number, untilMs: number, restartsAt: number[]): Boot[] {
  const starts = [fromMs, ...restartsAt].sort((a, b) => a - b);
  return starts.map((startMs, i) => ({ startMs, endMs: starts[i + 1] ?? untilMs, bye: false }));
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
const downs = (changes: Seen[]) => changes.filter((c) => c.to === 'down');

describe('tracker: a monitor that restarts again and again', () => {
  it('finds an hourly sender that died down, though the monitor never runs its 3 intervals + grace', () => {
    const hour = 3_600_000;
    const minute = 60_000;
    // Runs of 100 minutes, 1 minute apart, clean stops: before, each start gave every sender start +
    // interval + grace again, and N - 1 intervals more, and this sender was never judged at all.
    const runs = runsOf(
      T0 + 24 * hour,
      () => 100 * minute,
      () => minute,
      () => true,
    );
    const datagrams = datagramsOf(hour, bootsOf(T0, T0 + 1, []), () => 0);
    const [down, ...more] = downs(
      play({ intervalMs: hour, downAfterMisses: 3, runs, datagrams, syncMs: 5000 }),
    );
    expect(more).toEqual([]);
    // Its beat due at 3 h fell in the absence from 3:21 to 3:22 (within the grace before it): the start
    // at 3:22 gives it until it listens + 1 h + 30 min of grace, and judges it then.
    expect(((down as Seen).atMs - T0) / minute).toBe(292);
    expect(((down as Seen).seenAtMs - T0) / minute).toBe(292);
  });

  it('finds a declared sender that never started down, once a run watches its interval + grace', () => {
    const minute = 60_000;
    // Every 20 minutes a start, 10 s away: each run watches longer than 10 min + 5 min of grace.
    const runs = runsOf(
      T0 + 120 * minute,
      () => 20 * minute - 10_000,
      () => 10_000,
      () => true,
    );
    const changes = play({
      intervalMs: 10 * minute,
      downAfterMisses: 3,
      declared: true,
      runs,
      datagrams: [],
      syncMs: 5000,
    });
    expect(changes.map((c) => `${c.from}->${c.to}:${c.reason}`)).toEqual(['pending->down:never_seen']);
    // At its own deadline, its declaration + interval + grace: no start put it off.
    expect(((changes[0] as Seen).atMs - T0) / minute).toBe(15);
  });

  for (const downAfterMisses of [1, 2, 3]) {
    it(`never marks a live sender down, whatever the restarts of either (DOWN_AFTER_MISSES=${downAfterMisses}, 1,500 schedules)`, () => {
      const falseDowns: string[] = [];
      for (let seed = 1; seed <= 1500; seed++) {
        const random = prng(seed * 7919 + downAfterMisses);
        const intervalMs = pick(random, [1000, 5000, 10_000, 30_000]);
        const untilMs = T0 + 40 * intervalMs;
        const kind = pick(random, ['restarts', 'bye', 'declared'] as const);
        const runs = runsOf(
          untilMs,
          () => round(500 + random() * 4 * intervalMs),
          () => round(100 + random() * 2 * intervalMs),
          () => random() < 0.6,
        );
        const at = () => round(T0 + intervalMs + random() * 36 * intervalMs);
        let boots: Boot[];
        if (kind === 'restarts') {
          boots = bootsOf(T0, untilMs, Array.from({ length: Math.floor(random() * 4) }, at));
        } else if (kind === 'bye') {
          // A bye while the monitor listens (one its absence hid is not known: the sender is judged by
          // its schedule), then back on a new boot within STOPPED_TIMEOUT (3 intervals) less an interval.
          const run = pick(random, runs);
          const byeAt = round(run.startMs + random() * Math.max(0, run.stopMs - run.startMs - 500));
          const backAt = round(byeAt + intervalMs * (0.2 + random() * 1.8));
          boots = [
            { startMs: T0, endMs: byeAt, bye: true },
            { startMs: backAt, endMs: untilMs, bye: false },
          ];
        } else {
          // Declared at T0, started within its first interval.
          boots = bootsOf(round(T0 + random() * intervalMs), untilMs, []);
        }
        const changes = play({
          intervalMs,
          downAfterMisses,
          stoppedTimeoutMs: 3 * intervalMs,
          declared: kind === 'declared',
          runs,
          datagrams: datagramsOf(intervalMs, boots, random),
          syncMs: 2000,
        });
        for (const c of downs(changes))
          falseDowns.push(`seed ${seed} (${kind}): ${c.reason} at +${c.atMs - T0} ms`);
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
        const datagrams = datagramsOf(intervalMs, bootsOf(T0, diesAtMs, []), random);
        const found = downs(play({ intervalMs, downAfterMisses, runs, datagrams, syncMs: 2000 }));
        // Its last beat, then N missed beats and grace; or, where a start's absence may have hidden one, N
        // intervals and grace after the long run listened.
        const missesMs = downAfterMisses * intervalMs + graceMs;
        const boundMs = Math.max(diesAtMs + missesMs, judgedFromMs + missesMs);
        if (found.length !== 1 || (found[0] as Seen).atMs > boundMs)
          late.push(`seed ${seed}: ${found.map((c) => c.atMs - T0).join(',') || 'never'} > ${boundMs - T0}`);
      }
      expect(late).toEqual([]);
    });
  }
});
