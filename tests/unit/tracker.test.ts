import { describe, expect, it } from 'vitest';
import {
  type Beat,
  createTracker,
  type Tracker,
  type TrackerOptions,
} from '../../services/client/tracking/tracker.js';
import { SENDER_STATES } from '../../services/shared/vocabulary.js';
import { T0, TRACKER_OPTIONS, takeDirtyLists, trackedBeat } from '../support/builders.js';

const OPTIONS: TrackerOptions = TRACKER_OPTIONS;

/**
 * Beat `seq` of sender 'a', boot 'b1', sent at T0 + seq seconds and received
 * 10 ms later. The declared interval (60 s) is long enough that liveness
 * never changes in these accounting tests.
 */
function beat(seq: number, over: Partial<Beat> = {}): Beat {
  return trackedBeat({ seq, intervalMs: 60_000, sentAtMs: T0 + seq * 1000, delayMs: 10, ...over });
}

function feed(tracker: Tracker, beats: Beat[]) {
  return beats.map((b) => ({ ...tracker.observe(b) }));
}

function counters(tracker: Tracker, source = 'a') {
  const v = tracker.view(source, T0 + 100_000);
  if (v === undefined) throw new Error(`no sender ${source}`);
  const { received, lost, duplicates, outOfOrder, stale, restarts, lastSeq, boot } = v;
  return { received, lost, duplicates, outOfOrder, stale, restarts, lastSeq, boot };
}

describe('tracker: sequence accounting', () => {
  it('reports a new sender and charges a gap as lost', () => {
    const tracker = createTracker(OPTIONS);
    const [first, second, third] = feed(tracker, [beat(0), beat(1), beat(5)]);
    expect(first).toEqual({
      isNewSender: true,
      restart: false,
      duplicate: false,
      outOfOrder: false,
      stale: false,
      lostDelta: 0,
      delayMs: 10,
      changes: [{ source: 'a', from: null, to: 'up', reason: 'first_beat', atMs: T0 + 10 }],
      evicted: null,
    });
    expect(second?.isNewSender).toBe(false);
    expect(second?.lostDelta).toBe(0);
    expect(second?.changes).toEqual([]);
    expect(third?.lostDelta).toBe(3);
    expect(counters(tracker)).toEqual({
      received: 3,
      lost: 3,
      duplicates: 0,
      outOfOrder: 0,
      stale: 0,
      restarts: 0,
      lastSeq: 5,
      boot: 'b1',
    });
  });

  it('counts duplicates (of the highest and of older seqs) in received but not in lost', () => {
    const tracker = createTracker(OPTIONS);
    const obs = feed(tracker, [beat(0), beat(1), beat(1), beat(0)]);
    expect(obs.map((o) => o.duplicate)).toEqual([false, false, true, true]);
    expect(obs.map((o) => o.lostDelta)).toEqual([0, 0, 0, 0]);
    expect(counters(tracker)).toMatchObject({ received: 4, lost: 0, duplicates: 2, outOfOrder: 0 });
  });

  it('takes a reordered datagram back out of the lost count', () => {
    const tracker = createTracker(OPTIONS);
    const obs = feed(tracker, [beat(0), beat(2), beat(1), beat(3), beat(6), beat(4)]);
    expect(obs.map((o) => o.lostDelta)).toEqual([0, 1, -1, 0, 2, -1]);
    expect(obs.map((o) => o.outOfOrder)).toEqual([false, false, true, false, false, true]);
    expect(counters(tracker)).toMatchObject({
      received: 6,
      lost: 1,
      duplicates: 0,
      outOfOrder: 2,
      lastSeq: 6,
    });
  });

  it('counts a late datagram arriving twice once as out of order, then as a duplicate', () => {
    const tracker = createTracker(OPTIONS);
    const obs = feed(tracker, [beat(0), beat(3), beat(1), beat(1)]);
    expect(obs.map((o) => [o.lostDelta, o.outOfOrder, o.duplicate])).toEqual([
      [0, false, false],
      [2, false, false],
      [-1, true, false],
      [0, false, true],
    ]);
    expect(counters(tracker)).toMatchObject({ received: 4, lost: 1, duplicates: 1, outOfOrder: 1 });
  });

  it('calls stale what is older than the window, whether it was lost or not', () => {
    const tracker = createTracker(OPTIONS); // window 64 seqs
    const obs = feed(tracker, [
      beat(0),
      beat(100, { sentAtMs: T0 + 1000 }),
      beat(36), // 100 - 36 = 64: outside
      beat(0), // a duplicate, but too old to tell
      beat(37), // inside: a late arrival
    ]);
    expect(obs.map((o) => [o.lostDelta, o.stale, o.outOfOrder, o.duplicate])).toEqual([
      [0, false, false, false],
      [99, false, false, false],
      [0, true, false, false],
      [0, true, false, false],
      [-1, false, true, false],
    ]);
    expect(counters(tracker)).toMatchObject({
      received: 5,
      lost: 98,
      stale: 2,
      outOfOrder: 1,
      duplicates: 0,
    });
  });

  it('charges no loss for seqs before the first one seen (monitor started mid-stream)', () => {
    const tracker = createTracker(OPTIONS);
    const obs = feed(tracker, [beat(40), beat(41), beat(38), beat(38)]);
    expect(obs.map((o) => [o.lostDelta, o.outOfOrder, o.duplicate])).toEqual([
      [0, false, false],
      [0, false, false],
      [0, true, false],
      [0, false, true],
    ]);
    expect(counters(tracker)).toMatchObject({
      received: 4,
      lost: 0,
      outOfOrder: 1,
      duplicates: 1,
      lastSeq: 41,
    });
  });
});

describe('tracker: restarts', () => {
  it('counts a new boot as a restart, charges no loss for it and starts the accounting afresh', () => {
    const tracker = createTracker(OPTIONS);
    feed(tracker, [beat(0), beat(1), beat(2)]);
    const [restart, next, gap] = feed(tracker, [
      beat(7, { boot: 'b2', sentAtMs: T0 + 3000 }), // first seen of b2 at seq 7: no loss
      beat(8, { boot: 'b2', sentAtMs: T0 + 4000 }),
      beat(10, { boot: 'b2', sentAtMs: T0 + 5000 }),
    ]);
    expect(restart).toMatchObject({
      restart: true,
      isNewSender: false,
      lostDelta: 0,
      stale: false,
      changes: [],
    });
    expect(next).toMatchObject({ restart: false, lostDelta: 0 });
    expect(gap?.lostDelta).toBe(1);
    expect(counters(tracker)).toEqual({
      received: 6,
      lost: 1,
      duplicates: 0,
      outOfOrder: 0,
      stale: 0,
      restarts: 1,
      lastSeq: 10,
      boot: 'b2',
    });
  });

  it('counts a late datagram from the previous boot as stale and changes nothing else', () => {
    const tracker = createTracker(OPTIONS);
    feed(tracker, [beat(0), beat(1, { boot: 'b2' })]);
    const before = tracker.view('a', T0 + 5000);
    const [old] = feed(tracker, [beat(5, { boot: 'b1', sentAtMs: T0 + 500, receivedAtMs: T0 + 4000 })]);
    expect(old).toMatchObject({ stale: true, restart: false, lostDelta: 0, duplicate: false, changes: [] });
    expect(tracker.view('a', T0 + 5000)).toEqual({ ...before, received: 3, stale: 1 });
    expect(counters(tracker)).toMatchObject({ boot: 'b2', restarts: 1, lastSeq: 1, lost: 0 });
  });

  it('remembers the last three previous boots; an older one is taken for a new boot', () => {
    const tracker = createTracker(OPTIONS);
    feed(
      tracker,
      ['b1', 'b2', 'b3', 'b4', 'b5'].map((boot, i) => beat(i, { boot })),
    );
    expect(counters(tracker).restarts).toBe(4);
    const [b2, b1] = feed(tracker, [beat(9, { boot: 'b2' }), beat(9, { boot: 'b1' })]);
    expect(b2).toMatchObject({ stale: true, restart: false });
    expect(b1).toMatchObject({ stale: false, restart: true });
    expect(counters(tracker)).toMatchObject({ restarts: 5, stale: 1, boot: 'b1' });
  });
});

describe('tracker: delay and jitter', () => {
  // Sent every second; received 10, 14, 11, 11, 20 ms later.
  const delays = [10, 14, 11, 11, 20];
  const beats = delays.map((d, seq) => beat(seq, { receivedAtMs: T0 + seq * 1000 + d }));

  it('keeps last, min, mean and max one-way delay', () => {
    const tracker = createTracker(OPTIONS);
    const obs = feed(tracker, beats);
    expect(obs.map((o) => o.delayMs)).toEqual(delays);
    const { delay } = tracker.view('a', T0 + 10_000) ?? {};
    expect(delay?.lastMs).toBe(20);
    expect(delay?.minMs).toBe(10);
    expect(delay?.maxMs).toBe(20);
    expect(delay?.meanMs).toBeCloseTo(66 / 5, 12);
  });

  it('computes the RFC 3550 interarrival jitter', () => {
    // D = |transit(j) - transit(i)|: 4, 3, 0, 9; J += (D - J) / 16 from J = 0.
    const expected = [0, 1 / 4, 27 / 64, 405 / 1024, 15291 / 16384];
    const tracker = createTracker(OPTIONS);
    const jitters = beats.map((b) => {
      tracker.observe(b);
      return tracker.view('a', T0 + 10_000)?.jitterMs;
    });
    expect(jitters).toEqual(expected);
  });

  it('takes no jitter or delay sample from duplicates and stale datagrams, but does from late ones', () => {
    const tracker = createTracker(OPTIONS);
    feed(tracker, [beat(0), beat(2, { receivedAtMs: T0 + 2010 })]); // transit 10, 10
    feed(tracker, [beat(2, { receivedAtMs: T0 + 2500 })]); // duplicate, transit 500
    feed(tracker, [beat(100, { sentAtMs: T0 + 3000, receivedAtMs: T0 + 3010 })]); // transit 10
    feed(tracker, [beat(3, { sentAtMs: T0 + 900, receivedAtMs: T0 + 4000 })]); // stale, transit 3100
    let view = tracker.view('a', T0 + 5000);
    expect(view?.jitterMs).toBe(0);
    expect(view?.delay).toEqual({ lastMs: 10, minMs: 10, meanMs: 10, maxMs: 10 });

    feed(tracker, [beat(99, { sentAtMs: T0 + 2900, receivedAtMs: T0 + 4002 })]); // late, transit 1102
    view = tracker.view('a', T0 + 5000);
    expect(view?.jitterMs).toBe(1092 / 16);
    expect(view?.delay).toMatchObject({ lastMs: 1102, minMs: 10, maxMs: 1102 });
    expect(view?.delay.meanMs).toBeCloseTo((3 * 10 + 1102) / 4, 12);
  });

  it('starts jitter afresh on a new boot; delay stats span the whole life', () => {
    const tracker = createTracker(OPTIONS);
    feed(tracker, beats);
    feed(tracker, [beat(0, { boot: 'b2', sentAtMs: T0 + 10_000, receivedAtMs: T0 + 10_050 })]);
    expect(tracker.view('a', T0 + 20_000)?.jitterMs).toBe(0);
    feed(tracker, [beat(1, { boot: 'b2', sentAtMs: T0 + 11_000, receivedAtMs: T0 + 11_066 })]);
    const view = tracker.view('a', T0 + 20_000);
    expect(view?.jitterMs).toBe(16 / 16);
    expect(view?.delay).toMatchObject({ lastMs: 66, minMs: 10, maxMs: 66 });
  });
});

describe('tracker: bounded senders', () => {
  const at = (source: string, t: number, kind: Beat['kind'] = 'beat'): Beat => ({
    source,
    boot: 'x',
    seq: t,
    kind,
    sentAtMs: T0 + t * 1000,
    intervalMs: 60_000,
    receivedAtMs: T0 + t * 1000,
  });

  it('evicts the longest-silent sender at the limit and keeps the counts exact', () => {
    const tracker = createTracker({ ...OPTIONS, maxSenders: 3 });
    for (const [source, t] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
      ['a', 4], // a heard again: b is now the longest silent
    ] as const) {
      expect(tracker.observe(at(source, t)).evicted).toBeNull();
    }
    expect(tracker.observe(at('c', 5, 'bye')).changes).toEqual([
      { source: 'c', from: 'up', to: 'stopped', reason: 'bye', atMs: T0 + 5000 },
    ]);
    expect(tracker.stateCounts()).toEqual({ pending: 0, up: 2, late: 0, down: 0, stopped: 1 });

    const d = { ...tracker.observe(at('d', 6)) };
    expect(d).toMatchObject({ isNewSender: true, evicted: 'b' });
    expect(tracker.views(T0 + 7000).map((v) => v.source)).toEqual(['a', 'c', 'd']);
    // Heard from once, d goes before a and c, heard twice (the longest silent of those heard once first).
    expect(tracker.observe(at('e', 7)).evicted).toBe('d');
    expect(tracker.observe(at('b', 8)).evicted).toBe('e'); // b comes back as new
    expect(tracker.observe(at('b', 9)).evicted).toBeNull();
    // Every one heard twice: the longest silent goes, a (then f, new, heard once).
    expect(tracker.observe(at('f', 10)).evicted).toBe('a');
    expect(tracker.observe(at('g', 11)).evicted).toBe('f');
    expect(tracker.size).toBe(3);
    expect(tracker.evictions).toBe(5);
    expect(tracker.stateCounts()).toEqual({ pending: 0, up: 2, late: 0, down: 0, stopped: 1 });
    expect(tracker.views(T0 + 12_000).map((v) => [v.source, v.received])).toEqual([
      ['b', 2],
      ['c', 2],
      ['g', 1],
    ]);
  });

  it('does not reorder on a datagram of a previous boot', () => {
    const tracker = createTracker({ ...OPTIONS, maxSenders: 2 });
    tracker.observe(at('a', 1));
    tracker.observe({ ...at('a', 2), boot: 'y' });
    tracker.observe(at('b', 3));
    tracker.observe(at('b', 4));
    tracker.observe(at('a', 5)); // boot x: stale, a stays the longest silent
    expect(tracker.observe(at('c', 6)).evicted).toBe('a');
  });

  it('makes room at MAX_SENDERS from the senders heard once: a flood of one-shot sources never evicts one that beat twice', () => {
    const tracker = createTracker({ ...OPTIONS, maxSenders: 100 });
    // A sender beating once a minute, and one that died long ago: both the longest silent.
    tracker.observe(at('real', 1));
    tracker.observe(at('real', 61));
    tracker.observe(at('dead', 2));
    tracker.observe(at('dead', 3));
    const evicted = new Set<string | null>();
    for (let i = 0; i < 1000; i++) {
      evicted.add(tracker.observe({ ...at(`spoof-${i}`, 62), seq: 0 }).evicted);
    }
    expect(tracker.size).toBe(100);
    expect(evicted.has('real') || evicted.has('dead')).toBe(false);
    expect(tracker.view('real', T0 + 62_000)).toBeDefined();
    expect(tracker.view('dead', T0 + 62_000)).toBeDefined();
  });

  it('keeps its list of changed senders within 2 × MAX_SENDERS under a flood of one-shot sources that no state file takes', () => {
    const tracker = createTracker({ ...OPTIONS, maxSenders: 100 });
    for (let i = 0; i < 100; i++) tracker.observe(at(`kept-${i}`, 1));
    let most = 0;
    // No takeDirty() meanwhile, as while the state file's collection falls behind.
    for (let i = 0; i < 20_000; i++) {
      tracker.observe({ ...at(`spoof-${i}`, 2), seq: 0 });
      most = Math.max(most, tracker.changedQueued);
    }
    expect(most).toBeLessThanOrEqual(2 * 100 + 1024);
    const { changed, removed } = takeDirtyLists(tracker);
    // Every evicted source is handed over (its row and queued incidents go), and the 100 tracked, in order.
    expect(removed).toHaveLength(20_000);
    expect(changed.map((s) => s.source)).toEqual(
      Array.from({ length: 100 }, (_, i) => `spoof-${19_900 + i}`),
    );
    expect(tracker.changedQueued).toBe(0);
  });

  it('evicts with a limit of one', () => {
    const tracker = createTracker({ ...OPTIONS, maxSenders: 1 });
    tracker.observe(at('a', 1));
    expect(tracker.observe(at('b', 2)).evicted).toBe('a');
    expect(tracker.observe(at('b', 3)).evicted).toBeNull();
    expect(tracker.observe(at('a', 4)).evicted).toBe('b');
    expect(tracker.size).toBe(1);
    expect(tracker.stateCounts()).toEqual({ pending: 0, up: 1, late: 0, down: 0, stopped: 0 });
  });
});

describe('tracker: API', () => {
  it('reuses one observation object and one frozen empty changes array', () => {
    const tracker = createTracker(OPTIONS);
    const first = tracker.observe(beat(0));
    const second = tracker.observe(beat(1));
    expect(second).toBe(first);
    expect(second.changes).toHaveLength(0);
    expect(Object.isFrozen(second.changes)).toBe(true);
    expect(tracker.observe(beat(2)).changes).toBe(second.changes);
  });

  it('gives plain JSON views sorted by source, undefined for an unknown one', () => {
    const tracker = createTracker(OPTIONS);
    for (const source of ['m', 'b', 'Z', 'a']) tracker.observe(beat(0, { source }));
    const views = tracker.views(T0 + 1000);
    expect(views.map((v) => v.source)).toEqual(['Z', 'a', 'b', 'm']);
    expect(JSON.parse(JSON.stringify(views))).toEqual(views);
    expect(tracker.view('nobody', T0)).toBeUndefined();
    expect(tracker.view('a', T0 + 1000)).toEqual({
      source: 'a',
      kind: 'protocol',
      displayName: null,
      declared: false,
      maintenance: false,
      boot: 'b1',
      state: 'up',
      stateSinceMs: T0 + 10,
      reason: 'first_beat',
      firstSeenMs: T0 + 10,
      lastSeenMs: T0 + 10,
      lastSeq: 0,
      intervalMs: 60_000,
      expectedAtMs: T0 + 60_010,
      received: 1,
      lost: 0,
      duplicates: 0,
      outOfOrder: 0,
      stale: 0,
      restarts: 0,
      delay: { lastMs: 10, minMs: 10, meanMs: 10, maxMs: 10 },
      jitterMs: 0,
      uptime: { h1: 100, h24: 100 },
      heartbeats: ['received'],
    });
  });

  it('lists the states in a fixed order', () => {
    expect(SENDER_STATES).toEqual(['pending', 'up', 'late', 'down', 'stopped']);
  });

  it('refuses bad options', () => {
    expect(() => createTracker({ ...OPTIONS, maxSenders: 0 })).toThrow(RangeError);
    expect(() => createTracker({ ...OPTIONS, lateGraceMs: -1 })).toThrow(RangeError);
    expect(() => createTracker({ ...OPTIONS, downAfterMisses: 0 })).toThrow(RangeError);
    expect(() => createTracker({ ...OPTIONS, sequenceWindow: 32 })).toThrow(RangeError);
    expect(() => createTracker({ ...OPTIONS, heartbeatSlots: 0 })).toThrow(RangeError);
    expect(() => createTracker({ ...OPTIONS, lateGraceMs: 0 })).not.toThrow();
  });
});
