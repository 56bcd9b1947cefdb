import { describe, expect, it } from 'vitest';
import { createOverrunWatch, type DropCounts } from '../../services/client/ingest/overrun.js';
import { createTracker } from '../../services/client/tracking/tracker.js';
import { T0, TRACKER_OPTIONS, trackedBeat } from '../support/builders.js';

/** A tracker blinded by an overrun watch, and sender 'a' with its beat 0 at T0. */
function watchedSender() {
  const tracker = createTracker(TRACKER_OPTIONS);
  const counts: DropCounts = { queueDrops: 0, kernelDrops: 0 };
  const watch = createOverrunWatch(
    () => ({ ...counts }),
    (fromMs, nowMs) => tracker.blind(fromMs, nowMs),
  );
  tracker.observe(trackedBeat({ seq: 0 }));
  return { tracker, counts, watch };
}

describe('overrun: the monitor losing datagrams itself', () => {
  it('reports each new drop once, from the queue or the kernel, with what was dropped since the last report', () => {
    const counts: DropCounts = { queueDrops: 0, kernelDrops: 0 };
    const reports: Array<[number, number, number, DropCounts]> = [];
    const watch = createOverrunWatch(
      () => ({ ...counts }),
      (fromMs, nowMs, dropped, c) => reports.push([fromMs, nowMs, dropped, c]),
    );
    expect(watch.check(T0, T0 - 20)).toBe(false);
    counts.kernelDrops = 3;
    expect(watch.check(T0 + 250, T0 + 240)).toBe(true);
    expect(watch.check(T0 + 500, T0 + 480)).toBe(false);
    counts.queueDrops = 10;
    counts.kernelDrops = 4;
    expect(watch.check(T0 + 750, T0 + 700)).toBe(true);
    // Blind from what the check before had seen handled: the drops arrived after it.
    expect(reports).toEqual([
      [T0 - 20, T0 + 250, 3, { queueDrops: 0, kernelDrops: 3 }],
      [T0 + 480, T0 + 750, 11, { queueDrops: 10, kernelDrops: 4 }],
    ]);
  });

  it('is blind from any time at its first check, and never from later than that check', () => {
    const counts: DropCounts = { queueDrops: 1, kernelDrops: 0 };
    const froms: number[] = [];
    const watch = createOverrunWatch(
      () => ({ ...counts }),
      (fromMs) => froms.push(fromMs),
    );
    watch.check(T0, T0);
    counts.queueDrops = 2;
    // A heardUntil past the check's own time (nothing waits) counts as the check's time.
    watch.check(T0 + 250, Number.POSITIVE_INFINITY);
    counts.queueDrops = 3;
    watch.check(T0 + 500, T0 + 500);
    expect(froms).toEqual([0, T0, T0 + 250]);
  });

  it('a beat the kernel dropped makes no sender late: the monitor is blind until it saw the drop', () => {
    const { tracker, counts, watch } = watchedSender();
    watch.check(T0 + 1000, T0 + 990);
    // Beat 1 (due T0 + 1000) was dropped at the full receive buffer; the tick at T0 + 1250 sees the count.
    counts.kernelDrops = 1;
    watch.check(T0 + 1250, T0 + 1240);
    // Late would have been T0 + 2000 (expected + 1 s grace); now not before T0 + 3250.
    expect(tracker.tick(T0 + 3249)).toEqual([]);
    expect([...tracker.observe(trackedBeat({ seq: 2 })).changes]).toEqual([]);
    expect(tracker.view('a', T0 + 2000)?.lost).toBe(0);
  });

  it('charges what a silent sender missed before the overrun, and excuses what it may have sent into it', () => {
    const { tracker, counts, watch } = watchedSender();
    // Silent for a minute, every datagram handled, checked every 250 ms.
    for (let t = T0 + 250; t <= T0 + 60_000; t += 250) watch.check(t, t - 10);
    // Then the kernel dropped datagrams: seen at T0 + 60_250.
    counts.kernelDrops = 500;
    watch.check(T0 + 60_250, T0 + 60_240);
    // Beats 1-58 were due more than the 1 s grace before T0 + 59_990 (all handled until then): lost.
    // 59 and 60 (due T0 + 59_000 and T0 + 60_000) may have been among those dropped.
    expect(tracker.observe(trackedBeat({ seq: 61 })).lostDelta).toBe(58);
  });

  describe("the kernel's drops that were not a full buffer (a bad checksum)", () => {
    it('are no overrun: only as many as the namespace counted at a full buffer since the socket was made make one', () => {
      const counts: DropCounts = { queueDrops: 0, kernelDrops: 0, capacityDrops: 100 };
      const overruns: number[] = [];
      let discarded = 0;
      const watch = createOverrunWatch(
        () => ({ ...counts }),
        (_from, _now, dropped) => overruns.push(dropped),
        (n) => {
          discarded += n;
        },
        // Read before the bind: the socket's drops before the first check are measured against it.
        100,
      );
      // Three corrupt datagrams: the socket's count moves, the namespace's full-buffer count does not.
      counts.kernelDrops = 3;
      expect(watch.check(T0, T0)).toBe(false);
      // One at a full buffer and one corrupt.
      counts.kernelDrops = 5;
      counts.capacityDrops = 101;
      expect(watch.check(T0 + 250, T0 + 250)).toBe(true);
      expect(watch.check(T0 + 500, T0 + 500)).toBe(false);
      expect({ overruns, discarded }).toEqual({ overruns: [1], discarded: 4 });
      // The kernel counts a full buffer in the socket's drops first, then in the namespace's: read in
      // between, it is no discarded one, and the next check finds it a full buffer's.
      counts.kernelDrops = 6;
      expect(watch.check(T0 + 750, T0 + 750)).toBe(false);
      counts.capacityDrops = 102;
      expect(watch.check(T0 + 1000, T0 + 1000)).toBe(true);
      expect(watch.check(T0 + 1250, T0 + 1250)).toBe(false);
      expect({ overruns, discarded }).toEqual({ overruns: [1, 1], discarded: 4 });
    });

    it('measures from before the socket was made: a start that falls behind at once is an overrun', () => {
      const counts: DropCounts = { queueDrops: 0, kernelDrops: 0, capacityDrops: 50 };
      const overruns: number[] = [];
      const watch = createOverrunWatch(
        () => ({ ...counts }),
        (_from, _now, dropped) => overruns.push(dropped),
        () => overruns.push(-1),
        40,
      );
      // 10 full-buffer drops between the bind and the watch's first look.
      counts.kernelDrops = 10;
      expect(watch.check(T0, T0)).toBe(true);
      expect(watch.check(T0 + 250, T0 + 250)).toBe(false);
      expect(overruns).toEqual([10]);
    });

    it('leave a dead sender to go late, then down, however many come', () => {
      const { tracker, counts } = watchedSender();
      counts.capacityDrops = 7;
      const fresh = createOverrunWatch(
        () => ({ ...counts }),
        (fromMs, nowMs) => tracker.blind(fromMs, nowMs),
      );
      const states: string[] = [];
      for (let t = T0 + 250; t <= T0 + 5000; t += 250) {
        counts.kernelDrops++;
        fresh.check(t, t);
        for (const c of tracker.tick(t)) states.push(`${c.to}@${c.atMs - T0}`);
      }
      expect(states).toEqual(['late@2000', 'down@4000']);
      // Taken for full-buffer drops (the namespace's count unknown), the same trickle kept it up.
      const blinded = watchedSender();
      for (let t = T0 + 250; t <= T0 + 5000; t += 250) {
        blinded.counts.kernelDrops++;
        blinded.watch.check(t, t);
        expect(blinded.tracker.tick(t)).toEqual([]);
      }
    });
  });
});
