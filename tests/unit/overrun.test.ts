import { describe, expect, it } from 'vitest';
import { createOverrunWatch, type DropCounts } from '../../services/client/ingest/overrun.js';
import { createTracker } from '../../services/client/tracking/tracker.js';
import { T0, TRACKER_OPTIONS, trackedBeat } from '../support/builders.js';

describe('overrun: the monitor losing datagrams itself', () => {
  it('reports each new drop once, from the queue or the kernel, with what was dropped since the last report', () => {
    const counts: DropCounts = { queueDrops: 0, kernelDrops: 0 };
    const reports: Array<[number, number, DropCounts]> = [];
    const watch = createOverrunWatch(
      () => ({ ...counts }),
      (nowMs, dropped, c) => reports.push([nowMs, dropped, c]),
    );
    expect(watch.check(T0)).toBe(false);
    counts.kernelDrops = 3;
    expect(watch.check(T0 + 250)).toBe(true);
    expect(watch.check(T0 + 500)).toBe(false);
    counts.queueDrops = 10;
    counts.kernelDrops = 4;
    expect(watch.check(T0 + 750)).toBe(true);
    expect(reports).toEqual([
      [T0 + 250, 3, { queueDrops: 0, kernelDrops: 3 }],
      [T0 + 750, 11, { queueDrops: 10, kernelDrops: 4 }],
    ]);
  });

  it('a beat the kernel dropped makes no sender late: the monitor is blind until it saw the drop', () => {
    const tracker = createTracker(TRACKER_OPTIONS);
    const counts: DropCounts = { queueDrops: 0, kernelDrops: 0 };
    const watch = createOverrunWatch(
      () => ({ ...counts }),
      (nowMs) => tracker.blind(nowMs),
    );
    tracker.observe(trackedBeat({ seq: 0 }));
    // Beat 1 (due T0 + 1000) was dropped at the full receive buffer; the tick at T0 + 1250 sees the count.
    counts.kernelDrops = 1;
    watch.check(T0 + 1250);
    // Late would have been T0 + 2000 (expected + 1 s grace); now not before T0 + 3250.
    expect(tracker.tick(T0 + 3249)).toEqual([]);
    expect([...tracker.observe(trackedBeat({ seq: 2 })).changes]).toEqual([]);
    expect(tracker.view('a', T0 + 2000)?.lost).toBe(0);
  });
});
