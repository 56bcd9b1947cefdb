/**
 * The delay and jitter histograms across all senders, written straight to
 * the exposition text from the counts the tracker keeps
 * (tracking/timing-counts.ts): a scrape's cost here does not grow with the
 * number of senders.
 */
import { TIMING_BOUNDS_S, type TimingHistogram, type TimingHistograms } from '../tracking/timing-counts.js';

const DELAY = {
  name: 'udp_monitor_senders_delay_seconds',
  help: 'Senders by their latest one-way delay (receive time minus sentAt), all senders',
};
const JITTER = {
  name: 'udp_monitor_senders_jitter_seconds',
  help: 'Senders by their interarrival jitter (RFC 3550), all senders',
};

function render(h: TimingHistogram, family: { name: string; help: string }): string[] {
  const { name, help } = family;
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
  let cumulative = 0;
  TIMING_BOUNDS_S.forEach((le, i) => {
    cumulative += h.buckets[i] as number;
    lines.push(`${name}_bucket{le="${le}"} ${cumulative}`);
  });
  cumulative += h.buckets[TIMING_BOUNDS_S.length] as number;
  lines.push(
    `${name}_bucket{le="+Inf"} ${cumulative}`,
    `${name}_sum ${h.sumMs / 1000}`,
    `${name}_count ${cumulative}`,
  );
  return lines;
}

/** The two histograms, as the exposition text. */
export function renderTimingHistograms(counts: TimingHistograms): string {
  return [...render(counts.delay, DELAY), ...render(counts.jitter, JITTER), ''].join('\n');
}
