import { describe, expect, it } from 'vitest';
import { renderTimingHistograms } from '../../services/client/http/timing-histograms.js';
import { TimingCounts } from '../../services/client/tracking/timing-counts.js';

/** The counts the tracker would keep for senders with these timings. */
function countsOf(timings: Array<{ delayMs: number; jitterMs: number }>): TimingCounts {
  const counts = new TimingCounts();
  for (const t of timings) counts.add(t.delayMs, t.jitterMs);
  return counts;
}

describe('the delay and jitter histograms across all senders', () => {
  it('counts each sender once, cumulative, a bound inclusive, a negative delay as 0', () => {
    const text = renderTimingHistograms(
      countsOf([
        { delayMs: 1, jitterMs: 0 }, // exactly the 1 ms bound
        { delayMs: -3, jitterMs: 20_000 }, // clock skew; jitter beyond the last bound
        { delayMs: 30, jitterMs: 0.2 },
      ]),
    );
    const line = (l: string) => expect(text.split('\n')).toContain(l);
    line('# TYPE udp_monitor_senders_delay_seconds histogram');
    line('udp_monitor_senders_delay_seconds_bucket{le="0.0005"} 1');
    line('udp_monitor_senders_delay_seconds_bucket{le="0.001"} 2');
    line('udp_monitor_senders_delay_seconds_bucket{le="0.025"} 2');
    line('udp_monitor_senders_delay_seconds_bucket{le="0.05"} 3');
    line('udp_monitor_senders_delay_seconds_bucket{le="+Inf"} 3');
    line('udp_monitor_senders_delay_seconds_sum 0.031');
    line('udp_monitor_senders_delay_seconds_count 3');
    line('udp_monitor_senders_jitter_seconds_bucket{le="10"} 2');
    line('udp_monitor_senders_jitter_seconds_bucket{le="+Inf"} 3');
    line('udp_monitor_senders_jitter_seconds_count 3');
  });

  it('writes empty histograms when there are no senders', () => {
    expect(renderTimingHistograms(countsOf([]))).toContain('udp_monitor_senders_jitter_seconds_count 0');
  });

  it('moves a sender between buckets as its timing crosses a bound, and takes it out when it goes', () => {
    const counts = countsOf([
      { delayMs: 3, jitterMs: 0 },
      { delayMs: 40, jitterMs: 0 },
    ]);
    counts.move(3, 0, 4, 0.3); // same delay bucket (to 5 ms), jitter to the next
    counts.move(40, 0, 120, 0); // 50 ms -> 250 ms bucket
    const text = renderTimingHistograms(counts).split('\n');
    expect(text).toContain('udp_monitor_senders_delay_seconds_bucket{le="0.005"} 1');
    expect(text).toContain('udp_monitor_senders_delay_seconds_bucket{le="0.1"} 1');
    expect(text).toContain('udp_monitor_senders_delay_seconds_bucket{le="0.25"} 2');
    expect(text).toContain('udp_monitor_senders_delay_seconds_sum 0.124');
    expect(text).toContain('udp_monitor_senders_jitter_seconds_bucket{le="0.0005"} 2');
    counts.remove(4, 0.3);
    counts.remove(120, 0);
    const empty = renderTimingHistograms(counts).split('\n');
    expect(empty).toContain('udp_monitor_senders_delay_seconds_bucket{le="+Inf"} 0');
    expect(empty).toContain('udp_monitor_senders_delay_seconds_sum 0');
    expect(empty).toContain('udp_monitor_senders_jitter_seconds_sum 0');
  });
});
