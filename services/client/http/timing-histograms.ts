/**
 * The delay and jitter histograms across all senders, whatever their number:
 * counted in one pass over the senders' latest timings and written straight
 * to the exposition text (a registry histogram would hash its labels at
 * every one of 100,000 observations at 50,000 senders).
 */
import type { TimingVisitor } from '../tracking/tracker.js';

/** Upper bounds, in seconds. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

const DELAY = {
  name: 'udp_monitor_senders_delay_seconds',
  help: 'Senders by their latest one-way delay (receive time minus sentAt), all senders',
};
const JITTER = {
  name: 'udp_monitor_senders_jitter_seconds',
  help: 'Senders by their interarrival jitter (RFC 3550), all senders',
};

class Counts {
  readonly buckets = new Float64Array(BUCKETS.length + 1);
  sum = 0;
  observe(seconds: number): void {
    let i = 0;
    while (i < BUCKETS.length && seconds > (BUCKETS[i] as number)) i++;
    this.buckets[i] = (this.buckets[i] as number) + 1;
    this.sum += seconds;
  }
  render(family: { name: string; help: string }): string[] {
    const { name, help } = family;
    const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
    let cumulative = 0;
    BUCKETS.forEach((le, i) => {
      cumulative += this.buckets[i] as number;
      lines.push(`${name}_bucket{le="${le}"} ${cumulative}`);
    });
    cumulative += this.buckets[BUCKETS.length] as number;
    lines.push(
      `${name}_bucket{le="+Inf"} ${cumulative}`,
      `${name}_sum ${this.sum}`,
      `${name}_count ${cumulative}`,
    );
    return lines;
  }
}

/** The histograms of the timings `eachTiming` visits (the tracker's eachTiming). */
export function renderTimingHistograms(eachTiming: (visit: TimingVisitor) => void): string {
  const delay = new Counts();
  const jitter = new Counts();
  eachTiming((delayMs, jitterMs) => {
    delay.observe(Math.max(0, delayMs) / 1000);
    jitter.observe(jitterMs / 1000);
  });
  return [...delay.render(DELAY), ...jitter.render(JITTER), ''].join('\n');
}
