import { describe, expect, it } from 'vitest';
import { type Beat, createTracker, type Tracker } from '../../services/client/tracking/tracker.js';
import { trackedBeat } from '../support/builders.js';

const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;
/** On an hour boundary, so bucket edges are easy to count. */
const T0 = 10 * HOUR;

/** One beat a minute, grace 1 s, down at the first missed beat. */
const OPTIONS = {
  maxSenders: 10,
  lateGraceMs: 1000,
  downAfterMisses: 1,
  sequenceWindow: 64,
  heartbeatSlots: 50,
};

function beat(boot: string, seq: number, atMs: number, kind: Beat['kind'] = 'beat'): Beat {
  return trackedBeat({ boot, seq, kind, sentAtMs: atMs, intervalMs: MIN });
}

/** Ticks every minute from `fromMs` to `toMs` (inclusive), beating at each minute of `beats` too. */
function run(tracker: Tracker, fromMs: number, toMs: number, beats?: { boot: string; seq0: number }) {
  for (let t = fromMs, i = 0; t <= toMs; t += MIN, i++) {
    tracker.tick(t);
    if (beats) tracker.observe(beat(beats.boot, beats.seq0 + i, t));
  }
}

function uptime(tracker: Tracker, nowMs: number) {
  return tracker.view('a', nowMs)?.uptime;
}

describe('tracker: uptime', () => {
  /*
   * up      T0 .. T0+21m+1s  (beats 0..20 each minute; the next is expected at 21m, +1 s grace)
   * down    T0+21m+1s .. 30m
   * up      30m .. 40m       (restart, boot b2)
   * stopped 40m .. 50m       (bye)
   * up      50m .. 60m+1s    (restart, boot b3: beats 50m..59m)
   * down    from 60m+1s
   */
  function scenario(): Tracker {
    const tracker = createTracker(OPTIONS);
    run(tracker, T0, T0 + 20 * MIN, { boot: 'b1', seq0: 0 });
    run(tracker, T0 + 21 * MIN, T0 + 29 * MIN);
    run(tracker, T0 + 30 * MIN, T0 + 39 * MIN, { boot: 'b2', seq0: 0 });
    tracker.tick(T0 + 40 * MIN);
    tracker.observe(beat('b2', 10, T0 + 40 * MIN, 'bye'));
    run(tracker, T0 + 41 * MIN, T0 + 49 * MIN);
    run(tracker, T0 + 50 * MIN, T0 + 59 * MIN, { boot: 'b3', seq0: 0 });
    return tracker;
  }

  it('follows up, down and stopped time as it goes, leaving stopped out', () => {
    const tracker = createTracker(OPTIONS);
    run(tracker, T0, T0 + 20 * MIN, { boot: 'b1', seq0: 0 });
    run(tracker, T0 + 21 * MIN, T0 + 29 * MIN);
    // At 30 m: 21 m + 1 s up, 9 m - 1 s down.
    expect(uptime(tracker, T0 + 30 * MIN)?.h1).toBeCloseTo(((21 * MIN + S) * 100) / (30 * MIN), 10);
    run(tracker, T0 + 30 * MIN, T0 + 39 * MIN, { boot: 'b2', seq0: 0 });
    tracker.tick(T0 + 40 * MIN);
    tracker.observe(beat('b2', 10, T0 + 40 * MIN, 'bye'));
    run(tracker, T0 + 41 * MIN, T0 + 45 * MIN);
    // At 45 m: + 10 m up; the 5 m stopped do not count.
    expect(uptime(tracker, T0 + 45 * MIN)?.h1).toBeCloseTo(((31 * MIN + S) * 100) / (40 * MIN), 10);
    expect(uptime(tracker, T0 + 45 * MIN)?.h24).toBeCloseTo(((31 * MIN + S) * 100) / (40 * MIN), 10);
    expect(tracker.view('a', T0 + 45 * MIN)?.restarts).toBe(1);
  });

  it('drops the first minute from the hour at T0 + 60 m but keeps it in the day', () => {
    const tracker = scenario();
    tracker.tick(T0 + 60 * MIN);
    const view = tracker.view('a', T0 + 60 * MIN);
    expect(view?.state).toBe('up');
    // Hour from T0 + 1 m: up (20 m + 1 s) + 10 m + 10 m, down 9 m - 1 s.
    expect(view?.uptime.h1).toBeCloseTo(((40 * MIN + S) * 100) / (49 * MIN), 10);
    // Day from T0: up 41 m + 1 s, down 9 m - 1 s.
    expect(view?.uptime.h24).toBeCloseTo(((41 * MIN + S) * 100) / (50 * MIN), 10);
  });

  it('counts the down time after the last beat, split across the hour boundary', () => {
    const tracker = scenario();
    expect(tracker.tick(T0 + 90 * MIN)).toEqual([
      { source: 'a', from: 'up', to: 'down', reason: 'missed_1', atMs: T0 + 60 * MIN + S },
    ]);
    const view = tracker.view('a', T0 + 90 * MIN);
    // Hour from T0 + 31 m: up 9 m + (10 m + 1 s), stopped 10 m, down 30 m - 1 s.
    expect(view?.uptime.h1).toBeCloseTo(((19 * MIN + S) * 100) / (49 * MIN), 10);
    // Day from T0: up 41 m + 2 s, down (9 m - 1 s) + (30 m - 1 s).
    expect(view?.uptime.h24).toBeCloseTo(((41 * MIN + 2 * S) * 100) / (80 * MIN), 10);
  });

  it('forgets everything older than the window after a long jump', () => {
    const tracker = scenario();
    tracker.tick(T0 + 30 * HOUR);
    expect(uptime(tracker, T0 + 30 * HOUR)).toEqual({ h1: 0, h24: 0 });
    tracker.observe(beat('b4', 0, T0 + 30 * HOUR));
    // Half an hour later, without any tick: the hour holds 29 m down and 30 m up.
    expect(uptime(tracker, T0 + 30 * HOUR + 30 * MIN)?.h1).toBeCloseTo((30 / 59) * 100, 10);
  });

  it('is null for a sender that has only been stopped', () => {
    const tracker = createTracker(OPTIONS);
    tracker.observe(beat('b1', 0, T0, 'bye'));
    tracker.tick(T0 + 2 * HOUR);
    expect(uptime(tracker, T0 + 2 * HOUR)).toEqual({ h1: null, h24: null });
  });
});
