import { describe, expect, it } from 'vitest';
import { toRow } from '../../services/client/store/sender-codec.js';
import { createTracker, type LivenessPass, type Tracker } from '../../services/client/tracking/tracker.js';
import { declaredSender, T0, TRACKER_OPTIONS } from '../support/builders.js';
import { pick, prng, type Random } from '../support/prng.js';

// tracker.blind() records the monitor's blind time, and each sender takes it in when it is next touched
// (judged, beaten, declared, read or written), not all of them at once. Whatever happens in between, that
// must give what taking it in at once gives: `eager` is made to (right after each blind(), every sender is
// read, by views() or by all(), which take it in), `lazy` is left alone. Both get the same steps;
// everything they answer must be the same. Each way of forcing `eager` relies on one of the reads; the
// other read is checked by the walk.

const SOURCES = ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9'];
const OPTIONS = { ...TRACKER_OPTIONS, maxSenders: 8, stoppedTimeoutMs: 4000 };

/** What a call answered, copied: observe() overwrites its one Observation object. */
const copy = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

interface Pair {
  eager: Tracker;
  lazy: Tracker;
}

type Force = 'views' | 'all';

function blindBoth(pair: Pair, fromMs: number, untilMs: number, nowMs: number, force: Force): void {
  pair.eager.blind(fromMs, untilMs);
  if (force === 'views') pair.eager.views(nowMs);
  else [...pair.eager.all()];
  pair.lazy.blind(fromMs, untilMs);
}

/** The rows of the records takeDirty() visits, by source, and the sources it returns. */
function dirtyRows(tracker: Tracker): { rows: Map<string, unknown>; removed: string[] } {
  const rows = new Map<string, unknown>();
  const removed = tracker.takeDirty((sender) => rows.set(sender.source, toRow(sender)));
  return { rows, removed };
}

/**
 * The changed senders as the state file takes them: the same rows where both have one. Not the same
 * senders: one that takes in a blind time which moves its floor is changed then (the file's watermark
 * passes the blind time once it is written), an eager one at once, a lazy one when it is next touched,
 * perhaps after a take of the eager one's.
 */
function expectSameRows(lazy: Tracker, eager: Tracker, at: string, handed: Handed): void {
  const fromLazy = dirtyRows(lazy);
  const fromEager = dirtyRows(eager);
  expect(fromLazy.removed, at).toEqual(fromEager.removed);
  for (const [source, row] of fromLazy.rows)
    if (fromEager.rows.has(source)) {
      expect(row, `${at}: ${source}`).toEqual(fromEager.rows.get(source));
      handed.compared++;
    }
  for (const [file, taken] of [
    [handed.lazy, fromLazy],
    [handed.eager, fromEager],
  ] as const) {
    for (const [source, row] of taken.rows) file.set(source, row);
    for (const source of taken.removed) file.delete(source);
  }
}

/**
 * The state file each tracker's takes made (its rows by source), and the rows compared in the takes. The
 * lazy one hands a sender over later, never less: once every sender has taken in every blind time and
 * been taken, both files are the same.
 */
interface Handed {
  lazy: Map<string, unknown>;
  eager: Map<string, unknown>;
  compared: number;
}

function walk(seed: number, steps: number, force: Force): void {
  const random: Random = prng(seed);
  const pair: Pair = { eager: createTracker(OPTIONS), lazy: createTracker(OPTIONS) };
  // Never blind: where its answers differ from lazy's, a blind time made a difference.
  const unblind = createTracker(OPTIONS);
  let blindMattered = 0;
  const differs = (lazyAnswer: unknown, unblindAnswer: unknown) => {
    if (JSON.stringify(lazyAnswer) !== JSON.stringify(unblindAnswer)) blindMattered++;
  };
  const seqs = new Map<string, number>();
  const boots = new Map<string, string>();
  let passes: { eager: LivenessPass; lazy: LivenessPass; unblind: LivenessPass } | null = null;
  let nowMs = T0;
  let blinds = 0;
  const handed: Handed = { lazy: new Map(), eager: new Map(), compared: 0 };
  for (let step = 0; step < steps; step++) {
    nowMs += Math.floor(random() * 400);
    const source = pick(random, SOURCES);
    const roll = random();
    const at = `seed ${seed}, step ${step}`;
    if (roll < 0.45) {
      // A beat: mostly the next seq, sometimes a gap, a repeat or an old one; now and then a new boot or a bye.
      if (random() < 0.03) boots.set(source, `boot-${step}`);
      const highest = seqs.get(source) ?? 0;
      const r = random();
      const seq =
        r < 0.75 ? highest + 1 : r < 0.9 ? highest + 2 + Math.floor(random() * 4) : Math.max(0, highest - 1);
      seqs.set(source, Math.max(highest, seq));
      const beat = {
        source,
        boot: boots.get(source) ?? 'boot-0',
        seq,
        kind: random() < 0.03 ? ('bye' as const) : ('beat' as const),
        sentAtMs: nowMs - Math.floor(random() * 300),
        intervalMs: 1000,
        receivedAtMs: nowMs,
      };
      const answer = copy(pair.lazy.observe(beat));
      expect(answer, at).toEqual(copy(pair.eager.observe(beat)));
      differs(answer, copy(unblind.observe(beat)));
    } else if (roll < 0.62) {
      // The monitor was blind: from a time before now (or since each sender's last beat) until now.
      const fromMs = random() < 0.2 ? 0 : nowMs - Math.floor(random() * 3000);
      blindBoth(pair, fromMs, nowMs, nowMs, force);
      blinds++;
    } else if (roll < 0.85) {
      // A liveness pass, a few senders a step; other steps (and blind times) come between its steps.
      passes ??= { eager: pair.eager.pass(nowMs), lazy: pair.lazy.pass(nowMs), unblind: unblind.pass(nowMs) };
      const limit = 1 + Math.floor(random() * 3);
      const answer = copy(passes.lazy.step(limit));
      expect(answer, at).toEqual(copy(passes.eager.step(limit)));
      differs(answer, copy(passes.unblind.step(limit)));
      expect(passes.lazy.done).toBe(passes.eager.done);
      if (passes.eager.done) passes = null;
    } else if (roll < 0.88) {
      const answer = copy(pair.lazy.tick(nowMs));
      expect(answer, at).toEqual(copy(pair.eager.tick(nowMs)));
      differs(answer, copy(unblind.tick(nowMs)));
    } else if (roll < 0.91) {
      expect(copy(pair.lazy.observeText(source, nowMs)), at).toEqual(
        copy(pair.eager.observeText(source, nowMs)),
      );
      unblind.observeText(source, nowMs);
    } else if (roll < 0.925) {
      // The socket bound again (its time unobserved until now), as after a restart.
      pair.eager.listening(nowMs);
      pair.lazy.listening(nowMs);
      unblind.listening(nowMs);
    } else if (roll < 0.94) {
      const declared = SOURCES.filter(() => random() < 0.3).map((s) =>
        declaredSender(s, random() < 0.5 ? 1000 : 2500),
      );
      pair.eager.declare(declared, nowMs);
      pair.lazy.declare(declared, nowMs);
      unblind.declare(declared, nowMs);
    } else {
      // A look: a sender's view, the changed senders as the state file takes them, or every sender.
      const look = random();
      if (look < 0.4) expect(pair.lazy.view(source, nowMs), at).toEqual(pair.eager.view(source, nowMs));
      else if (look < 0.8) {
        expectSameRows(pair.lazy, pair.eager, at, handed);
        dirtyRows(unblind);
      } else expect([...pair.lazy.all()].map(toRow), at).toEqual([...pair.eager.all()].map(toRow));
    }
  }
  expect(pair.lazy.views(nowMs)).toEqual(pair.eager.views(nowMs));
  // views() had every sender take in every blind time: the last take hands over the rest.
  expectSameRows(pair.lazy, pair.eager, `seed ${seed}, the end`, handed);
  expect(handed.lazy).toEqual(handed.eager);
  expect(handed.compared).toBeGreaterThan(steps / 20);
  // The walk did what it is for: many blind times, and answers they changed.
  expect(blinds).toBeGreaterThan(steps / 10);
  expect(blindMattered).toBeGreaterThan(10);
}

/** Seq 1 of `source`, sent and received at `nowMs`. */
function beatAt(source: string, nowMs: number) {
  return {
    source,
    boot: 'b',
    seq: 1,
    kind: 'beat' as const,
    sentAtMs: nowMs,
    intervalMs: 1000,
    receivedAtMs: nowMs,
  };
}

/** An eager and a lazy tracker that have each heard the first `n` sources once, at T0. */
function heardOnce(n: number): Pair {
  const pair: Pair = { eager: createTracker(OPTIONS), lazy: createTracker(OPTIONS) };
  for (const source of SOURCES.slice(0, n)) {
    pair.eager.observe(beatAt(source, T0));
    pair.lazy.observe(beatAt(source, T0));
  }
  return pair;
}

describe('tracker: blind times taken in by each sender when it is next touched', () => {
  it.each<[number, Force]>([
    [1, 'views'],
    [2, 'views'],
    [3, 'views'],
    [4, 'views'],
    [5, 'all'],
    [6, 'all'],
    [7, 'all'],
    [8, 'all'],
  ])(
    'give what taking them in at once gives (walk %i, each blind time taken in at once through %s())',
    (seed, force) => {
      walk(seed, 3000, force);
    },
  );

  it('give the same when more come than are kept, with no pass to let them go (every sender takes them in at once)', () => {
    const pair = heardOnce(4);
    let nowMs = T0;
    // Ten a second for a minute, overlapping as the overrun watch's are; one sender beats now and then.
    for (let i = 0; i < 600; i++) {
      nowMs += 100;
      blindBoth(pair, nowMs - 150, nowMs, nowMs, 'views');
      if (i % 97 === 0) {
        const beat = { ...beatAt('s0', nowMs), seq: 2 + i };
        expect(copy(pair.lazy.observe(beat))).toEqual(copy(pair.eager.observe(beat)));
      }
    }
    expect(copy(pair.lazy.tick(nowMs))).toEqual(copy(pair.eager.tick(nowMs)));
    expect(pair.lazy.views(nowMs)).toEqual(pair.eager.views(nowMs));
  });

  it('give the same when every sender takes them in at once while a pass is half way', () => {
    const pair = heardOnce(6);
    let nowMs = T0;
    nowMs += 1500;
    const passes = { eager: pair.eager.pass(nowMs), lazy: pair.lazy.pass(nowMs) };
    expect(copy(passes.lazy.step(2))).toEqual(copy(passes.eager.step(2)));
    for (let i = 0; i < 100; i++) {
      nowMs += 50;
      blindBoth(pair, nowMs - 80, nowMs, nowMs, 'all');
    }
    expect(copy(passes.lazy.step(10))).toEqual(copy(passes.eager.step(10)));
    expect(passes.lazy.done).toBe(true);
    nowMs += 2500;
    expect(copy(pair.lazy.tick(nowMs))).toEqual(copy(pair.eager.tick(nowMs)));
    expect(pair.lazy.views(nowMs)).toEqual(pair.eager.views(nowMs));
  });
});
