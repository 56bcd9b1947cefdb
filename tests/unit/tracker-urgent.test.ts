import { describe, expect, it } from 'vitest';
import { createTracker, type SenderView, type Tracker } from '../../services/client/tracking/tracker.js';
import { SENDER_STATES, STATE_URGENCY } from '../../services/shared/vocabulary.js';
import { declaredSender, T0, TRACKER_OPTIONS, trackedBeat } from '../support/builders.js';
import { walkTracker } from '../support/tracker-walk.js';

// The most urgent senders (the page, its live snapshot, the metrics' per-sender series) are found from
// the senders of each state, sorted or walked, whichever is cheaper. Whatever happened to the senders,
// they must be what sorting every sender by urgency, then by source, gives; and a page of
// /api/senders (the sources kept in order as senders come and go) what sorting them by source gives.

/** Every sender, by urgency, then by source; those whose source or name contains q. */
function byUrgency(tracker: Tracker, nowMs: number, q: string): string[] {
  const matching = (v: SenderView) =>
    q === '' || v.source.includes(q) || (v.displayName?.includes(q) ?? false);
  return tracker
    .views(nowMs)
    .filter(matching)
    .sort(
      (a, b) =>
        STATE_URGENCY[a.state] - STATE_URGENCY[b.state] ||
        (a.source < b.source ? -1 : a.source > b.source ? 1 : 0),
    )
    .map((v) => v.source);
}

function expectViewsOf(tracker: Tracker, nowMs: number): void {
  const bySource = tracker.views(nowMs).map((v) => v.source);
  expect(tracker.page({ limit: 1000 }, nowMs).views.map((v) => v.source)).toEqual(bySource);
  const middle = bySource[bySource.length >> 1];
  if (middle !== undefined)
    expect(tracker.page({ limit: 1000, after: middle }, nowMs).views.map((v) => v.source)).toEqual(
      bySource.slice((bySource.length >> 1) + 1),
    );
  for (const { heartbeats: _, ...summary } of tracker.views(nowMs))
    expect(tracker.summary(summary.source, nowMs)).toEqual(summary);
  expect(tracker.summary('no such sender', nowMs)).toBeUndefined();
  const counted = Object.fromEntries(SENDER_STATES.map((state) => [state, 0]));
  for (const v of tracker.views(nowMs)) counted[v.state] = (counted[v.state] ?? 0) + 1;
  expect(tracker.stateCounts()).toEqual(counted);
  // Few of many (the walk), all of a small state (the sort), and all of them; with and without q.
  for (const limit of [1, 3, 7, 40])
    for (const q of ['', '1', 'Pay']) {
      const want = byUrgency(tracker, nowMs, q).slice(0, limit);
      expect(
        tracker.urgentSources(limit, q === '' ? undefined : q),
        `sources, limit ${limit}, q '${q}'`,
      ).toEqual(want);
      // Made a step at a time, each passing over a few senders (walks go on from where they stopped).
      // Five states, each walked once at most through the 40 sources (30 tracked at most, but declared
      // senders stay), or sorted in a step of its own.
      const atMost = 5 * (40 / 3 + 2);
      const choice = tracker.urgentChoice(limit, q === '' ? undefined : q);
      let steps = 1;
      for (; !choice.step(3); steps++) if (steps > atMost) throw new Error('the choice does not end');
      expect([...choice.sources], `in steps, limit ${limit}, q '${q}'`).toEqual(want);
    }
}

describe('tracker: the most urgent senders', () => {
  it('are every sender by urgency, then by source, and pages are by source, after every step of beats, byes, silence, declarations, evictions and a restore', () => {
    const walk = walkTracker({
      seed: 7,
      steps: 1500,
      options: { ...TRACKER_OPTIONS, maxSenders: 30 },
      sources: 40,
      maxPauseMs: 400,
      shares: { beat: 0.6, text: 0.05, declare: 0.05, tick: 0.28 },
      beat: (random, source, highestSeq, nowMs) =>
        trackedBeat({
          source,
          seq: highestSeq + 1,
          sentAtMs: nowMs,
          receivedAtMs: nowMs,
          kind: random() < 0.08 ? 'bye' : 'beat',
        }),
      // Declared senders not heard yet are pending; some have a name that q finds.
      declare: (random, source) =>
        random() < 0.15
          ? declaredSender(source, 1000, { displayName: random() < 0.5 ? `Payroll ${source}` : null })
          : null,
      check: expectViewsOf,
    });
    // The run went through every state, and past the tracker's bound.
    expect([...walk.states].sort()).toEqual([...SENDER_STATES].sort());
    expect(walk.evictions).toBeGreaterThan(0);
  });

  it('made a step at a time, chooses a sender that changed state between two steps once', () => {
    const tracker = createTracker({ ...TRACKER_OPTIONS, maxSenders: 400 });
    const source = (i: number) => `n${String(i).padStart(3, '0')}`;
    for (let i = 0; i < 350; i++) tracker.observe(trackedBeat({ source: source(i) }));
    // Every seventh stopped: few enough to be sorted from their own set; the up ones are walked.
    const stopped: string[] = [];
    for (let i = 0; i < 350; i += 7) {
      tracker.observe(trackedBeat({ source: source(i), seq: 1, kind: 'bye' }));
      stopped.push(source(i));
    }
    const choice = tracker.urgentChoice(60);
    // The first step sorts the 50 stopped, which counts as passing over them, and ends there.
    expect(choice.step(1)).toBe(false);
    expect(choice.sources).toEqual(stopped);
    // n000, chosen as stopped, beats again: it is up, where the choice has still to look.
    tracker.observe(trackedBeat({ source: 'n000', seq: 2 }));
    expect(tracker.view('n000', T0 + 2500)?.state).toBe('up');
    for (let steps = 1; !choice.step(5); steps++) if (steps > 100) throw new Error('the choice does not end');
    const firstUp = ['n001', 'n002', 'n003', 'n004', 'n005', 'n006', 'n008', 'n009', 'n010', 'n011'];
    expect(choice.sources).toEqual([...stopped, ...firstUp]);
  });

  it("made a step at a time, sorts a state's set in a step of its own when the step has less left, and refuses a step of no senders", () => {
    const tracker = createTracker({ ...TRACKER_OPTIONS, maxSenders: 400 });
    const source = (i: number) => `n${String(i).padStart(3, '0')}`;
    for (let i = 0; i < 300; i++) tracker.observe(trackedBeat({ source: source(i) }));
    for (let i = 0; i < 300; i += 6) tracker.observe(trackedBeat({ source: source(i), seq: 1, kind: 'bye' }));
    // Silent for ten intervals: the 250 others are down, walked; the 50 stopped are sorted from their set.
    tracker.tick(T0 + 10_000);
    expect(tracker.stateCounts()).toMatchObject({ down: 250, stopped: 50 });
    // All 300: for the stopped, sorting their set (50 × log2(51) ≈ 284 comparisons) costs less than the
    // walk for them would pass over (50 × 300 / 50 = 300 sources), so it is sorted.
    const choice = tracker.urgentChoice(300);
    expect(() => choice.step(0)).toThrow(RangeError);
    // The walk of the 300 sources leaves 20 of the step: the 50 stopped wait for the next one.
    expect(choice.step(320)).toBe(false);
    expect(choice.sources).toHaveLength(250);
    expect(choice.step(320)).toBe(true);
    expect(choice.sources).toEqual(tracker.urgentSources(300));
    expect(choice.sources).toHaveLength(300);
  });

  it('finds the few senders of a state among many by their own set, in order', () => {
    const tracker = createTracker({ ...TRACKER_OPTIONS, maxSenders: 2000 });
    const source = (i: number) => `n${String(i).padStart(4, '0')}`;
    for (let i = 0; i < 2000; i++) tracker.observe(trackedBeat({ source: source(i) }));
    for (const i of [1999, 7, 1000]) tracker.observe(trackedBeat({ source: source(i), seq: 1, kind: 'bye' }));
    const urgent = tracker.urgentSources(5).map((source) => tracker.view(source, T0 + 500));
    expect(urgent.map((v) => [v?.source, v?.state])).toEqual([
      ['n0007', 'stopped'],
      ['n1000', 'stopped'],
      ['n1999', 'stopped'],
      ['n0000', 'up'],
      ['n0001', 'up'],
    ]);
  });
});
