import { describe, expect, it } from 'vitest';
import { CLOCK_STEP_MS, createClockStepWatch } from '../../services/client/tracking/clock-steps.js';
import { createTracker } from '../../services/client/tracking/tracker.js';
import { T0, TRACKER_OPTIONS, trackedBeat } from '../support/builders.js';

describe('steps of the wall clock', () => {
  it('are what the wall clock moved beyond the monotonic one between two looks, from a second on', () => {
    const watch = createClockStepWatch();
    expect(watch.look(T0, 0)).toBe(0);
    // Ticks 250 ms apart, one of them 180 ms late (a busy thread): both clocks moved alike.
    expect(watch.look(T0 + 250, 250)).toBe(0);
    expect(watch.look(T0 + 680, 680)).toBe(0);
    // A slew: 20 ms off over a tick.
    expect(watch.look(T0 + 950, 930)).toBe(0);
    // Set 10 s ahead, then 5 s back.
    expect(watch.look(T0 + 11_200, 1180)).toBe(10_000);
    expect(watch.look(T0 + 6450, 1430)).toBe(-5000);
    expect(watch.look(T0 + 6450 + 250 + CLOCK_STEP_MS - 1, 1680)).toBe(0);
  });

  it('forward, as a blind time: no sender goes late or down for the time the clock jumped, and none is charged a loss', () => {
    const run = (blindSteps: boolean) => {
      const tracker = createTracker(TRACKER_OPTIONS);
      const watch = createClockStepWatch();
      const changes: string[] = [];
      let wall = T0;
      let mono = 0;
      const tick = (wallMs: number, monoMs: number) => {
        const step = watch.look(wallMs, monoMs);
        if (blindSteps && step > 0) tracker.blind(wallMs - step, wallMs);
        for (const c of tracker.tick(wallMs)) changes.push(`${c.to}@${c.atMs - T0}`);
      };
      // A sender beating every second, the monitor ticking every 250 ms; at 2.5 s the wall clock steps 10 s ahead.
      let seq = 0;
      for (; mono <= 6000; mono += 250, wall += 250) {
        if (mono === 2500) wall += 10_000;
        if (mono % 1000 === 0)
          tracker.observe(trackedBeat({ seq: seq++, sentAtMs: wall, receivedAtMs: wall }));
        tick(wall, mono);
      }
      return { changes, lost: tracker.view('a', wall)?.lost };
    };
    expect(run(true)).toEqual({ changes: [], lost: 0 });
    // (Without it, every sender is down at the step, as of its threshold on the clock before it.)
    expect(run(false).changes).toEqual(['down@6000']);
  });

  it('looked at before each batch: a plain-text datagram stamped after a step ahead, before the next tick, changes nothing', () => {
    const run = (beforeEachBatch: boolean) => {
      const tracker = createTracker(TRACKER_OPTIONS);
      const watch = createClockStepWatch();
      const changes: string[] = [];
      const look = (wallMs: number, monoMs: number) => {
        const step = watch.look(wallMs, monoMs);
        if (step > 0) tracker.blind(wallMs - step, wallMs);
      };
      const record = (cs: readonly { from: string | null; to: string }[]) => {
        for (const c of cs) changes.push(`${c.from}->${c.to}`);
      };
      // A plain-text sender every second (at x.100 s), ticks every 250 ms; the wall clock steps 10 s ahead
      // at 7.05 s, and the datagram of 7.1 s comes before the tick of 7.25 s.
      let wall = T0;
      for (let mono = 0; mono <= 9000; mono += 50, wall += 50) {
        if (mono === 7050) wall += 10_000;
        if (mono % 1000 === 100) {
          if (beforeEachBatch) look(wall, mono);
          record(tracker.observeText('10.0.0.1', wall).changes);
        }
        if (mono % 250 === 0) {
          look(wall, mono);
          record(tracker.tick(wall));
        }
      }
      return { changes, lost: tracker.view('10.0.0.1', wall)?.lost };
    };
    expect(run(true)).toEqual({ changes: ['null->up'], lost: 0 });
    // Looked at only at the ticks, the datagram found it silent for the 10 s.
    expect(run(false)).toEqual({ changes: ['null->up', 'up->down', 'down->up'], lost: 10 });
  });
});
