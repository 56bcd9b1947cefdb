import { describe, expect, it } from 'vitest';
import {
  type CoalescingClock,
  readCoalescing,
  threadClock,
} from '../../services/client/ingest/read-coalescing.js';

/** A thread whose idle time moves only when the test says the loop waited. */
function fakeThread() {
  let idle = 0;
  const slept: number[] = [];
  const clock: CoalescingClock = { idleMs: () => idle, sleep: (ms) => slept.push(ms) };
  return { clock, slept, loopWaited: (ms: number) => (idle += ms) };
}

describe('read coalescing', () => {
  it('sleeps once after a datagram that found the thread idle, and not for those read after it', () => {
    const t = fakeThread();
    let wakeups = 0;
    const c = readCoalescing(3, () => wakeups++, t.clock);
    t.loopWaited(40);
    c.handled();
    expect(t.slept).toEqual([3]);
    // Gathered meanwhile, read back to back: the loop never waited.
    for (let i = 0; i < 50; i++) c.handled();
    expect(t.slept).toEqual([3]);
    expect(wakeups).toBe(1);
    t.loopWaited(0.2);
    c.handled();
    expect(t.slept).toEqual([3, 3]);
    expect(wakeups).toBe(2);
  });

  it('under load, when the loop never waits, never sleeps', () => {
    const t = fakeThread();
    let wakeups = 0;
    const c = readCoalescing(1, () => wakeups++, t.clock);
    for (let i = 0; i < 10_000; i++) c.handled();
    expect(t.slept).toEqual([]);
    expect(wakeups).toBe(0);
  });

  it('at 0 counts wake-ups and never sleeps', () => {
    const t = fakeThread();
    let wakeups = 0;
    const c = readCoalescing(0, () => wakeups++, t.clock);
    for (let i = 0; i < 5; i++) {
      t.loopWaited(1);
      c.handled();
    }
    expect(wakeups).toBe(5);
    expect(t.slept).toEqual([]);
  });

  it("the thread's own clock: idle time moves only while the loop waits, and sleep blocks", async () => {
    const clock = threadClock();
    const before = clock.idleMs();
    const busyUntil = Date.now() + 30;
    while (Date.now() < busyUntil) {}
    expect(clock.idleMs()).toBe(before);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(clock.idleMs()).toBeGreaterThan(before);
    const from = performance.now();
    clock.sleep(25);
    expect(performance.now() - from).toBeGreaterThanOrEqual(24);
  });
});
