/**
 * The delay and jitter histograms across all senders, kept up to date as
 * each sender's timing changes: a sender is in them, once, with its latest
 * one-way delay and its jitter, from its first protocol datagram until it
 * is forgotten or turns into a plain-text sender. So a scrape reads a few
 * counts instead of passing over every sender (6.7 ms at 50,000 of them,
 * most of a scrape's own work: docs/PERFORMANCE.md), whatever their number.
 * A datagram moves its sender between buckets only when its delay or jitter
 * crosses a bound; the sums move with every sample.
 */

/** Upper bounds, in seconds. */
export const TIMING_BOUNDS_S = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/** Counts per bucket (the last: beyond every bound), not cumulative; the sum in milliseconds. */
export class TimingHistogram {
  readonly buckets = new Float64Array(TIMING_BOUNDS_S.length + 1);
  count = 0;
  sumMs = 0;

  add(ms: number): void {
    const i = bucketOf(ms);
    this.buckets[i] = (this.buckets[i] as number) + 1;
    this.count++;
    this.sumMs += ms;
  }

  remove(ms: number): void {
    const i = bucketOf(ms);
    this.buckets[i] = (this.buckets[i] as number) - 1;
    // Exactly 0 when empty, whatever rounding the moves left.
    if (--this.count === 0) this.sumMs = 0;
    else this.sumMs -= ms;
  }

  move(fromMs: number, toMs: number): void {
    const from = bucketOf(fromMs);
    const to = bucketOf(toMs);
    if (from !== to) {
      this.buckets[from] = (this.buckets[from] as number) - 1;
      this.buckets[to] = (this.buckets[to] as number) + 1;
    }
    this.sumMs += toMs - fromMs;
  }
}

/** The bucket of a value in milliseconds: the first bound it does not exceed (a bound is inclusive). */
function bucketOf(ms: number): number {
  const seconds = ms / 1000;
  let i = 0;
  while (i < TIMING_BOUNDS_S.length && seconds > (TIMING_BOUNDS_S[i] as number)) i++;
  return i;
}

/** A delay as the histogram counts it: a negative one (the sender's clock ahead) as 0. */
const counted = (delayMs: number) => Math.max(0, delayMs);

/** What readers of the counts see: the two histograms. */
export type TimingHistograms = Pick<TimingCounts, 'delay' | 'jitter'>;

export class TimingCounts {
  readonly delay = new TimingHistogram();
  readonly jitter = new TimingHistogram();

  add(delayMs: number, jitterMs: number): void {
    this.delay.add(counted(delayMs));
    this.jitter.add(jitterMs);
  }

  remove(delayMs: number, jitterMs: number): void {
    this.delay.remove(counted(delayMs));
    this.jitter.remove(jitterMs);
  }

  move(fromDelayMs: number, fromJitterMs: number, toDelayMs: number, toJitterMs: number): void {
    this.delay.move(counted(fromDelayMs), counted(toDelayMs));
    this.jitter.move(fromJitterMs, toJitterMs);
  }
}
