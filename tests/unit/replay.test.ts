import { describe, expect, it } from 'vitest';
import { createReplayGuard, type ReplayOptions } from '../../services/client/ingest/replay.js';

const NOW = Date.parse('2026-11-24T00:00:00.000Z');
const SKEW = 30_000;
const options: ReplayOptions = { window: 64, maxClockSkewMs: SKEW, maxSources: 3, maxBoots: 2 };
const guard = (patch: Partial<ReplayOptions> = {}) => createReplayGuard({ ...options, ...patch });

describe('replay guard', () => {
  it('accepts each seq of a boot once and reports the second copy as a replay', () => {
    const g = guard();
    expect(g.check('s', 'b1', 0, NOW, NOW)).toBe('ok');
    expect(g.check('s', 'b1', 1, NOW, NOW)).toBe('ok');
    expect(g.check('s', 'b1', 1, NOW, NOW)).toBe('replay');
    expect(g.check('s', 'b1', 0, NOW, NOW)).toBe('replay');
  });

  it('accepts late arrivals inside the window and treats older ones as replays', () => {
    const g = guard();
    g.check('s', 'b1', 100, NOW, NOW);
    expect(g.check('s', 'b1', 50, NOW, NOW)).toBe('ok');
    expect(g.check('s', 'b1', 100 - 63, NOW, NOW)).toBe('ok');
    expect(g.check('s', 'b1', 100 - 64, NOW, NOW)).toBe('replay');
  });

  it('advances with the sender: after a jump the old numbers are too old', () => {
    const g = guard();
    for (let seq = 0; seq < 10; seq++) expect(g.check('s', 'b1', seq, NOW, NOW)).toBe('ok');
    expect(g.check('s', 'b1', 1000, NOW, NOW)).toBe('ok');
    expect(g.check('s', 'b1', 9, NOW, NOW)).toBe('replay');
    expect(g.check('s', 'b1', 999, NOW, NOW)).toBe('ok');
  });

  it('keeps one window per source and per boot', () => {
    const g = guard();
    expect(g.check('a', 'b1', 5, NOW, NOW)).toBe('ok');
    expect(g.check('b', 'b1', 5, NOW, NOW)).toBe('ok');
    expect(g.check('a', 'b2', 5, NOW, NOW)).toBe('ok');
    expect(g.check('a', 'b1', 5, NOW, NOW)).toBe('replay');
    expect(g.check('a', 'b2', 5, NOW, NOW)).toBe('replay');
  });

  it('accepts a new boot only when its sentAt is within MAX_CLOCK_SKEW, either way', () => {
    const g = guard();
    expect(g.check('s', 'early', 0, NOW - SKEW, NOW)).toBe('ok');
    expect(g.check('s2', 'late', 0, NOW + SKEW, NOW)).toBe('ok');
    expect(g.check('s3', 'old', 0, NOW - SKEW - 1, NOW)).toBe('clock_skew');
    expect(g.check('s3', 'future', 0, NOW + SKEW + 1, NOW)).toBe('clock_skew');
    // Rejected boots leave nothing behind: the same boot is judged afresh.
    expect(g.check('s3', 'old', 0, NOW, NOW)).toBe('ok');
  });

  it('fails closed on a sentAt that is not a number', () => {
    expect(guard().check('s', 'b', 0, Number.NaN, NOW)).toBe('clock_skew');
  });

  it('does not check the clock again for a boot it knows', () => {
    const g = guard();
    g.check('s', 'b1', 0, NOW, NOW);
    expect(g.check('s', 'b1', 1, NOW - 3_600_000, NOW + 60_000)).toBe('ok');
    expect(g.check('s', 'b1', 1, NOW, NOW)).toBe('replay');
  });

  it('remembers at most maxBoots boots per source, forgetting the least recently used', () => {
    const g = guard({ maxBoots: 2 });
    g.check('s', 'b1', 0, NOW, NOW);
    g.check('s', 'b2', 0, NOW, NOW);
    g.check('s', 'b1', 1, NOW, NOW); // b1 used last: b2 is the oldest now
    g.check('s', 'b3', 0, NOW, NOW); // evicts b2
    expect(g.check('s', 'b1', 1, NOW, NOW)).toBe('replay');
    expect(g.check('s', 'b3', 0, NOW, NOW)).toBe('replay');
    // b2 is forgotten: a captured b2 datagram is judged as a new boot, by the clock.
    expect(g.check('s', 'b2', 0, NOW - SKEW - 1, NOW)).toBe('clock_skew');
    expect(g.check('s', 'b2', 0, NOW, NOW)).toBe('ok');
  });

  it('remembers at most maxSources sources, forgetting the least recently used', () => {
    const g = guard({ maxSources: 3 });
    for (const s of ['a', 'b', 'c']) g.check(s, 'b1', 0, NOW, NOW);
    expect(g.size).toBe(3);
    g.check('a', 'b1', 1, NOW, NOW); // a used last: b is the oldest
    g.check('d', 'b1', 0, NOW, NOW); // evicts b
    expect(g.size).toBe(3);
    expect(g.check('a', 'b1', 1, NOW, NOW)).toBe('replay');
    expect(g.check('c', 'b1', 0, NOW, NOW)).toBe('replay');
    expect(g.check('d', 'b1', 0, NOW, NOW)).toBe('replay');
    expect(g.check('b', 'b1', 0, NOW - SKEW - 1, NOW)).toBe('clock_skew');
  });

  it('stays within its bounds under many sources and boots', () => {
    const g = guard({ maxSources: 100, maxBoots: 4 });
    for (let i = 0; i < 10_000; i++) {
      expect(g.check(`src-${i % 1000}`, `boot-${i % 7}`, i, NOW, NOW)).toBe('ok');
      expect(g.size).toBeLessThanOrEqual(100);
    }
    expect(g.size).toBe(100);
  });

  it('a replay or a rejected boot does not refresh or evict anything', () => {
    const g = guard({ maxSources: 2 });
    g.check('a', 'b1', 0, NOW, NOW);
    g.check('b', 'b1', 0, NOW, NOW);
    expect(g.check('a', 'b1', 0, NOW, NOW)).toBe('replay'); // not a use: a stays the oldest
    expect(g.check('c', 'b1', 0, NOW - SKEW - 1, NOW)).toBe('clock_skew'); // no room taken
    expect(g.check('b', 'b1', 0, NOW, NOW)).toBe('replay');
    expect(g.check('a', 'b1', 0, NOW, NOW)).toBe('replay');
    g.check('c', 'b1', 0, NOW, NOW); // evicts a, the least recently accepted
    expect(g.check('b', 'b1', 0, NOW, NOW)).toBe('replay');
    expect(g.check('a', 'b1', 0, NOW - SKEW - 1, NOW)).toBe('clock_skew');
  });
});

describe('replay guard seeded from the state file (a monitor restart)', () => {
  // A sender whose clock is 45 s behind: its datagrams arrive 45 s after the sentAt they carry.
  const DRIFT = 45_000;

  it('accepts the next datagram of a boot it tracked, as late as its datagrams were, however far its clock drifted', () => {
    const g = guard();
    g.seed('s', 'b1', 100, DRIFT);
    expect(g.check('s', 'b1', 101, NOW - DRIFT, NOW)).toBe('ok');
    // Then as any boot: each seq once.
    expect(g.check('s', 'b1', 101, NOW - DRIFT, NOW)).toBe('replay');
    expect(g.check('s', 'b1', 102, NOW - DRIFT + 1000, NOW + 1000)).toBe('ok');
    // Unseeded, the same drift is refused as the first datagram of a boot.
    expect(guard().check('s', 'b1', 101, NOW - DRIFT, NOW)).toBe('clock_skew');
  });

  it('refuses what the previous run had (a seq up to its highest), and a datagram later than its delay allows', () => {
    const g = guard();
    g.seed('s', 'b1', 100, DRIFT);
    expect(g.check('s', 'b1', 100, NOW - DRIFT, NOW)).toBe('replay');
    expect(g.check('s', 'b1', 37, NOW - DRIFT, NOW)).toBe('replay');
    // Sent while the monitor was away and replayed an hour later: newer, but an hour late.
    expect(g.check('s', 'b1', 150, NOW - DRIFT - 3_600_000, NOW)).toBe('clock_skew');
    expect(g.check('s', 'b1', 150, NOW - DRIFT - SKEW, NOW)).toBe('ok');
  });

  it("accepts a seeded boot's datagram on time by the receiver clock too: a clock set right while the monitor was away", () => {
    const g = guard();
    g.seed('s', 'b1', 100, DRIFT);
    // NTP put the sender's clock right: its datagrams are no longer 45 s late.
    expect(g.check('s', 'b1', 101, NOW, NOW)).toBe('ok');
  });

  it('judges a new boot of a seeded sender by the receiver clock, as ever', () => {
    const g = guard();
    g.seed('s', 'b1', 100, DRIFT);
    expect(g.check('s', 'b2', 0, NOW - DRIFT, NOW)).toBe('clock_skew');
    expect(g.check('s', 'b2', 0, NOW, NOW)).toBe('ok');
  });

  it('keeps maxSources seeds at most', () => {
    const g = guard({ maxSources: 2 });
    for (const source of ['a', 'b', 'c']) g.seed(source, 'b1', 10, DRIFT);
    expect(g.check('a', 'b1', 11, NOW - DRIFT, NOW)).toBe('ok');
    expect(g.check('c', 'b1', 11, NOW - DRIFT, NOW)).toBe('clock_skew');
  });
});
