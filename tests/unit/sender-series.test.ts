import { describe, expect, it } from 'vitest';
import { escapeLabelValue, renderSenderSeries } from '../../services/client/http/sender-series.js';
import { createTracker } from '../../services/client/tracking/tracker.js';
import { T0, TRACKER_OPTIONS, trackedBeat } from '../support/builders.js';

// The per-sender families are written as text by hand: the exposition rules are checked here
// (and by promtool against a live monitor in tests/integration/monitor.test.ts).
describe('per-sender metric series', () => {
  it('escapes backslash, double quote and newline in label values, and nothing else', () => {
    expect(escapeLabelValue('plain-1.example')).toBe('plain-1.example');
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });

  it('writes HELP and TYPE once per family and one line per series', () => {
    const tracker = createTracker(TRACKER_OPTIONS);
    tracker.observe(trackedBeat({ source: 'x"1', seq: 0 }));
    tracker.observe(trackedBeat({ source: 'y', seq: 0 }));
    const text = renderSenderSeries(tracker.views(T0));
    const lines = text.trimEnd().split('\n');
    expect(lines.filter((l) => l === '# TYPE udp_monitor_sender_state gauge')).toHaveLength(1);
    expect(lines.filter((l) => l === '# TYPE udp_monitor_sender_received_total counter')).toHaveLength(1);
    expect(lines).toContain('udp_monitor_sender_state{source="x\\"1",state="up"} 1');
    expect(lines).toContain('udp_monitor_sender_received_total{source="y"} 1');
    expect(lines).toContain('udp_monitor_sender_delay_seconds{source="y",stat="last"} 0');
    // Every non-comment line is `name{labels} value`.
    for (const l of lines.filter((x) => !x.startsWith('#')))
      expect(l).toMatch(/^udp_monitor_sender_\w+\{[^}]+\} \S+$/);
  });
});
