import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { LOOP_SAMPLE_MS, type LoopHistogram, monitorLoopDelay } from '../../services/shared/loop-delay.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ms = (x: number) => x * 1e6;

function fakeHistogram(p99Ns: number, maxNs: number): LoopHistogram & { resets: number } {
  return {
    resets: 0,
    percentile: () => p99Ns,
    max: maxNs,
    reset() {
      this.resets++;
    },
  };
}

describe('event-loop delay', () => {
  it("Node records the time between its timer's runs: an idle loop's shortest is the sampling interval", async () => {
    // The fact the correction rests on: if Node ever records lateness instead, this fails.
    const raw = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
    raw.enable();
    await sleep(200);
    raw.disable();
    expect(raw.min / 1e6).toBeGreaterThanOrEqual(LOOP_SAMPLE_MS - 1);
  });

  it('is what Node records less the interval, never below 0, and a new window after each read', () => {
    const h = fakeHistogram(ms(12.5), ms(45));
    const loop = monitorLoopDelay(h);
    expect(loop.read()).toEqual({ p99Ms: 2.5, maxMs: 35 });
    expect(h.resets).toBe(1);
    expect(monitorLoopDelay(fakeHistogram(ms(9.2), ms(9.9))).read()).toEqual({ p99Ms: 0, maxMs: 0 });
    // An empty window (no sample yet): Node answers NaN.
    expect(monitorLoopDelay(fakeHistogram(Number.NaN, Number.NaN)).read()).toEqual({ p99Ms: 0, maxMs: 0 });
  });

  it('a loop held for 80 ms shows at least 60 ms of it', async () => {
    const loop = monitorLoopDelay();
    await sleep(50);
    const until = Date.now() + 80;
    while (Date.now() < until) {}
    await sleep(30);
    expect(loop.read().maxMs).toBeGreaterThanOrEqual(60);
  });
});
