import { afterEach, describe, expect, it, vi } from 'vitest';
import { startBeacon } from '../../services/shared/beacon/beacon.js';
import { delayUntil, dueAt, nextSlot } from '../../services/shared/beacon/schedule.js';
import { captureLogs } from '../support/log-capture.js';

describe('schedule math', () => {
  it('computes each deadline from the start, not from the previous timer', () => {
    expect(dueAt(1000, 250, 0)).toBe(1000);
    expect(dueAt(1000, 250, 4)).toBe(2000);
    expect(nextSlot(1000, 250, 0, 1003)).toBe(1);
    expect(delayUntil(1000, 250, 1, 1003)).toBe(247);
  });
  it('skips slots that have already passed instead of bursting', () => {
    // Beat 0 sent, then the loop was blocked until 2.1 intervals later.
    expect(nextSlot(0, 100, 0, 210)).toBe(2);
    expect(delayUntil(0, 100, 2, 210)).toBe(0);
  });
  it('does not drift over 10,000 simulated beats with random timer lateness and work', () => {
    const start = 5_000;
    const interval = 60_000;
    let now = start;
    let slot = 0;
    const fired: number[] = [];
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let beat = 0; beat < 10_000; beat++) {
      fired.push(now);
      now += random() * 5; // work done in the tick
      slot = nextSlot(start, interval, slot, now);
      now += delayUntil(start, interval, slot, now) + random() * 3; // timer fires late by up to 3 ms
    }
    // Every beat left within (timer lateness + previous work) of its own slot: nothing accumulates.
    const worst = Math.max(...fired.map((t, k) => t - dueAt(start, interval, k)));
    expect(worst).toBeLessThan(3);
    expect(fired[9_999]).toBeGreaterThanOrEqual(dueAt(start, interval, 9_999));
  });
});

describe('beacon timers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  it('ticks exactly on start + k * interval for 10,000 beats under fake timers', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    const logs = captureLogs('server');
    const beacon = startBeacon(
      { intervalMs: 1000, targets: [], source: 's', boot: 'b', signer: null, sendBye: false },
      logs.logger,
    );
    const t0 = beacon.stats().lastTickPerfMs;
    for (let k = 1; k <= 10_000; k++) {
      await vi.advanceTimersByTimeAsync(1000);
      if (k % 2_500 === 0) {
        expect(beacon.stats().lastTickPerfMs - t0).toBe(k * 1000);
        expect(beacon.stats().lastLatenessMs).toBe(0);
      }
    }
    expect(beacon.stats().nextSeq).toBe(10_001);
    await beacon.stop();
  });
});
