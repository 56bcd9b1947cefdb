import { describe, expect, it } from 'vitest';
import { escapeLabelValue, senderSeriesText } from '../../services/client/http/sender-series.js';
import { CHUNK_CHARS } from '../../services/client/http/text-chunks.js';
import { createTracker } from '../../services/client/tracking/tracker.js';
import { T0, TRACKER_OPTIONS, trackedBeat } from '../support/builders.js';
import { longestChunk } from '../support/chunks.js';

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
    const writer = senderSeriesText();
    writer.add(tracker.views(T0));
    const text = writer.chunks().join('');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    // Each family's HELP and TYPE once, ahead of its lines.
    for (const help of lines.filter((l) => l.startsWith('# HELP '))) {
      const name = help.split(' ')[2] as string;
      expect(lines.filter((l) => l.startsWith(`# HELP ${name} `))).toHaveLength(1);
      expect(lines.filter((l) => l.startsWith(`# TYPE ${name} `))).toHaveLength(1);
    }
    expect(lines.filter((l) => l === '# TYPE udp_monitor_sender_state gauge')).toHaveLength(1);
    expect(lines.filter((l) => l === '# TYPE udp_monitor_sender_received_total counter')).toHaveLength(1);
    expect(lines).toContain('udp_monitor_sender_state{source="x\\"1",state="up"} 1');
    expect(lines).toContain('udp_monitor_sender_received_total{source="y"} 1');
    expect(lines).toContain('udp_monitor_sender_delay_seconds{source="y",stat="last"} 0');
    // Every non-comment line is `name{labels} value`.
    for (const l of lines.filter((x) => !x.startsWith('#')))
      expect(l).toMatch(/^udp_monitor_sender_\w+\{[^}]+\} \S+$/);
  });

  it('written a part at a time, is the text of all the senders in one go: each family whole, the senders in order', () => {
    const tracker = createTracker(TRACKER_OPTIONS);
    for (const source of ['a', 'b', 'c', 'd', 'e']) tracker.observe(trackedBeat({ source, seq: 0 }));
    const views = tracker.views(T0);
    const writer = senderSeriesText();
    writer.add(views.slice(0, 2));
    writer.add([]);
    writer.add(views.slice(2));
    const text = writer.chunks().join('');
    const inOneGo = senderSeriesText();
    inOneGo.add(views);
    expect(text).toBe(inOneGo.chunks().join(''));
    // Not interleaved by part: the families' HELP lines each once, a's state series before e's.
    const lines = text.split('\n');
    expect(lines.filter((l) => l.startsWith('# HELP udp_monitor_sender_state '))).toHaveLength(1);
    expect(lines.indexOf('udp_monitor_sender_state{source="a",state="up"} 1')).toBeLessThan(
      lines.indexOf('udp_monitor_sender_state{source="e",state="up"} 1'),
    );
    expect(lines.indexOf('udp_monitor_sender_state{source="e",state="up"} 1')).toBeLessThan(
      lines.indexOf(
        '# HELP udp_monitor_sender_received_total Datagrams received per sender, duplicates included',
      ),
    );
  });

  it('comes in chunks of at most CHUNK_CHARS, whatever the parts and the sources', () => {
    // Parts of 250 (a scrape's largest) with sources of 64 characters: one family's lines of a part
    // are ~145K characters.
    const tracker = createTracker({ ...TRACKER_OPTIONS, maxSenders: 2000 });
    for (let i = 0; i < 1000; i++) tracker.observe(trackedBeat({ source: `s${i}`.padEnd(64, '.'), seq: 0 }));
    const views = tracker.views(T0);
    const writer = senderSeriesText();
    for (let at = 0; at < views.length; at += 250) writer.add(views.slice(at, at + 250));
    const chunks = writer.chunks();
    expect(chunks.join('').length).toBeGreaterThan(10 * CHUNK_CHARS);
    expect(longestChunk(chunks)).toBeLessThanOrEqual(CHUNK_CHARS);
  });

  it('with no sender, is the HELP and TYPE of each family alone', () => {
    const lines = senderSeriesText().chunks().join('').trimEnd().split('\n');
    expect(lines.every((l) => l.startsWith('# '))).toBe(true);
    expect(lines.filter((l) => l.startsWith('# TYPE '))).toHaveLength(lines.length / 2);
  });
});
