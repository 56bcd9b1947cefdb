import { describe, expect, it } from 'vitest';
import { type SilenceLinks, SilenceOrder } from '../../services/client/tracking/silence-order.js';
import { createTracker } from '../../services/client/tracking/tracker.js';
import { T0, TRACKER_OPTIONS, takeDirtyLists, trackedBeat } from '../support/builders.js';

interface Rec extends SilenceLinks<Rec> {
  name: string;
}
const rec = (name: string): Rec => ({ name, heardBefore: null, heardAfter: null });
const names = (order: SilenceOrder<Rec>) => [...order.fromLongestSilent()].map((r) => r.name);

describe('silence order', () => {
  it('keeps the longest-silent first and moves a record heard from to the end', () => {
    const order = new SilenceOrder<Rec>();
    const [a, b, c] = [rec('a'), rec('b'), rec('c')];
    for (const r of [a, b, c]) order.append(r);
    expect(names(order)).toEqual(['a', 'b', 'c']);
    order.moveToEnd(a);
    expect(names(order)).toEqual(['b', 'c', 'a']);
    order.moveToEnd(a);
    expect(names(order)).toEqual(['b', 'c', 'a']);
    order.moveToEnd(c);
    expect(names(order)).toEqual(['b', 'a', 'c']);
  });

  it('takes out the first, a middle and the last record, and ignores one not in it', () => {
    const order = new SilenceOrder<Rec>();
    const [a, b, c, d] = [rec('a'), rec('b'), rec('c'), rec('d')];
    for (const r of [a, b, c, d]) order.append(r);
    order.remove(b);
    expect(names(order)).toEqual(['a', 'c', 'd']);
    order.remove(a);
    expect(names(order)).toEqual(['c', 'd']);
    order.remove(d);
    expect(names(order)).toEqual(['c']);
    order.remove(rec('stranger'));
    order.remove(b);
    expect(names(order)).toEqual(['c']);
    order.remove(c);
    expect(names(order)).toEqual([]);
    order.append(b);
    expect(names(order)).toEqual(['b']);
    expect([b.heardBefore, b.heardAfter]).toEqual([null, null]);
  });

  it('lets the record in hand be removed while iterating', () => {
    const order = new SilenceOrder<Rec>();
    for (const name of ['a', 'b', 'c']) order.append(rec(name));
    const seen: string[] = [];
    for (const r of order.fromLongestSilent()) {
      seen.push(r.name);
      order.remove(r);
    }
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(names(order)).toEqual([]);
  });
});

describe('tracker: changed records for the state file', () => {
  // Receive times never decrease: each beat is a second after the previous one.
  let clock = T0;
  const beatOf = (source: string, seq: number) => {
    clock += 1000;
    return trackedBeat({ source, seq, intervalMs: 60_000, sentAtMs: clock, delayMs: 10 });
  };

  it('lists each changed sender once, and not one evicted since', () => {
    const tracker = createTracker({ ...TRACKER_OPTIONS, maxSenders: 2 });
    tracker.observe(beatOf('a', 0));
    tracker.observe(beatOf('a', 1));
    tracker.observe(beatOf('b', 0));
    expect(takeDirtyLists(tracker).changed.map((s) => s.source)).toEqual(['a', 'b']);
    expect(takeDirtyLists(tracker)).toEqual({ changed: [], removed: [] });
    tracker.observe(beatOf('a', 2));
    tracker.observe(beatOf('b', 1));
    // 'a' is the longest-silent now: 'c' takes its place.
    expect(tracker.observe(beatOf('c', 0)).evicted).toBe('a');
    const taken = takeDirtyLists(tracker);
    expect(taken.changed.map((s) => s.source)).toEqual(['b', 'c']);
    expect(taken.removed).toEqual(['a']);
  });

  it('lists a sender handed back with the next call', () => {
    const tracker = createTracker(TRACKER_OPTIONS);
    tracker.observe(beatOf('a', 0));
    const [a] = takeDirtyLists(tracker).changed;
    if (a === undefined) throw new Error('no record');
    tracker.markDirty(a);
    tracker.markDirty(a);
    expect(takeDirtyLists(tracker).changed).toEqual([a]);
  });

  it('lists a sender handed back during a visit with the next call, before those changed after it', () => {
    const tracker = createTracker(TRACKER_OPTIONS);
    for (const source of ['a', 'b', 'c']) tracker.observe(beatOf(source, 0));
    const visited: string[] = [];
    tracker.takeDirty((sender) => {
      visited.push(sender.source);
      if (sender.source !== 'b') tracker.markDirty(sender);
    });
    expect(visited).toEqual(['a', 'b', 'c']);
    tracker.observe(beatOf('b', 1));
    expect(takeDirtyLists(tracker).changed.map((s) => s.source)).toEqual(['a', 'c', 'b']);
    expect(takeDirtyLists(tracker).changed).toEqual([]);
  });

  it('visits at most `limit` at a time, the longest-changed first, and the rest with the calls after', () => {
    const tracker = createTracker(TRACKER_OPTIONS);
    const sources = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    for (const source of sources) tracker.observe(beatOf(source, 0));
    const take = (limit: number) => {
      const visited: string[] = [];
      tracker.takeDirty((sender) => visited.push(sender.source), limit);
      return visited;
    };
    expect(take(2)).toEqual(['a', 'b']);
    // Changed again while waiting: keeps its place. Changed again once taken: goes to the back.
    tracker.observe(beatOf('d', 1));
    tracker.observe(beatOf('a', 1));
    expect(take(3)).toEqual(['c', 'd', 'e']);
    tracker.observe(beatOf('h', 0));
    expect(take(1)).toEqual(['f']);
    expect(take(10)).toEqual(['g', 'a', 'h']);
    expect(take(10)).toEqual([]);
    // Reused from the front after it was emptied.
    tracker.observe(beatOf('b', 1));
    expect(take(10)).toEqual(['b']);
  });

  it('visits each changed sender exactly once across calls of random limits (against a model)', () => {
    const tracker = createTracker(TRACKER_OPTIONS);
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const seqs = new Map<string, number>();
    // The model: sources changed and not yet visited, in the order they first changed since their last visit.
    const waiting: string[] = [];
    for (let i = 0; i < 3000; i++) {
      if (random(3) > 0) {
        const source = `s${random(40)}`;
        const seq = (seqs.get(source) ?? -1) + 1;
        seqs.set(source, seq);
        tracker.observe(beatOf(source, seq));
        if (!waiting.includes(source)) waiting.push(source);
      } else {
        const limit = 1 + random(12);
        const visited: string[] = [];
        tracker.takeDirty((sender) => visited.push(sender.source), limit);
        expect(visited).toEqual(waiting.splice(0, limit));
      }
    }
  });
});
