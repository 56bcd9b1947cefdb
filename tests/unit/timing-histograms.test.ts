import { describe, expect, it } from 'vitest';
import { renderTimingHistograms } from '../../services/client/http/timing-histograms.js';
import type { TimingVisitor } from '../../services/client/tracking/tracker.js';

/** What the tracker's eachTiming would visit for senders with these timings. */
const visiting =
  (timings: Array<{ delayMs: number; jitterMs: number }>) =>
  (visit: TimingVisitor): void => {
    for (const t of timings) visit(t.delayMs, t.jitterMs);
  };

describe('the delay and jitter histograms across all senders', () => {
  it('counts each sender once, cumulative, a bound inclusive, a negative delay as 0', () => {
    const text = renderTimingHistograms(
      visiting([
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
    expect(renderTimingHistograms(visiting([]))).toContain('udp_monitor_senders_jitter_seconds_count 0');
  });
});
