import { describe, expect, it } from 'vitest';
import {
  BACKOFF_DEFAULTS,
  ceilingMs,
  giveUpAt,
  nextAttemptAtMs,
  retryDelayMs,
} from '../../services/client/notify/backoff.js';

const MIN = 60_000;
const ALMOST_ONE = 1 - Number.EPSILON;
const lowest = () => 0;
const highest = () => ALMOST_ONE;

describe('retry backoff with full jitter', () => {
  it('doubles the ceiling per attempt from baseMs up to maxMs', () => {
    // 1 s, 2 s, 4 s, ... 256 s, then capped at 5 min.
    const expected = [1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000];
    expected.forEach((ceiling, i) => {
      const attempt = i + 1;
      expect(ceilingMs(attempt, BACKOFF_DEFAULTS)).toBe(ceiling);
      expect(retryDelayMs(attempt, BACKOFF_DEFAULTS, lowest)).toBe(0);
      expect(retryDelayMs(attempt, BACKOFF_DEFAULTS, highest)).toBe(ceiling);
    });
  });

  it('stays within [0, ceiling] for any random value, and is uniform-ish in between', () => {
    for (const r of [0, 0.1, 0.5, 0.999, ALMOST_ONE, 1, -1, 2, Number.NaN]) {
      const delay = retryDelayMs(3, BACKOFF_DEFAULTS, () => r);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(4000);
      expect(Number.isInteger(delay)).toBe(true);
    }
    expect(retryDelayMs(3, BACKOFF_DEFAULTS, () => 0.5)).toBe(2000);
  });

  it('never overflows: attempt 1000 (and more) is capped at maxMs', () => {
    expect(ceilingMs(1000, BACKOFF_DEFAULTS)).toBe(5 * MIN);
    expect(retryDelayMs(1000, BACKOFF_DEFAULTS, highest)).toBe(5 * MIN);
    const huge = retryDelayMs(1_000_000, { baseMs: 1, maxMs: Number.MAX_SAFE_INTEGER }, highest);
    expect(Number.isSafeInteger(huge)).toBe(true);
    expect(huge).toBeGreaterThan(Number.MAX_SAFE_INTEGER / 2);
    expect(Number.isFinite(retryDelayMs(5000, { baseMs: 1000, maxMs: 1e300 }, highest))).toBe(true);
  });

  it('refuses attempts below 1 and inconsistent options', () => {
    expect(() => retryDelayMs(0, BACKOFF_DEFAULTS)).toThrow(RangeError);
    expect(() => retryDelayMs(1.5, BACKOFF_DEFAULTS)).toThrow(RangeError);
    expect(() => retryDelayMs(1, { baseMs: 0, maxMs: 10 })).toThrow(RangeError);
    expect(() => retryDelayMs(1, { baseMs: 10, maxMs: 5 })).toThrow(RangeError);
  });

  it('gives up at createdAt + maxAge: a retry that would fall later is made then, the last one', () => {
    const created = 1_000_000;
    expect(giveUpAt(created, 60 * MIN)).toBe(created + 60 * MIN);
    const opts = { ...BACKOFF_DEFAULTS, maxAgeMs: 10_000 };
    expect(nextAttemptAtMs(1, created, created + 5000, opts, highest)).toBe(created + 6000);
    // 5 s + up to 4 s: still before the 10 s limit; + up to 8 s: past it, so at it.
    expect(nextAttemptAtMs(3, created, created + 5000, opts, highest)).toBe(created + 9000);
    expect(nextAttemptAtMs(4, created, created + 5000, opts, highest)).toBe(created + 10_000);
    expect(nextAttemptAtMs(4, created, created + 5000, opts, lowest)).toBe(created + 5000);
  });

  it("waits at least a server's Retry-After, capped at maxMs", () => {
    const opts = { ...BACKOFF_DEFAULTS, maxAgeMs: 60 * MIN };
    expect(nextAttemptAtMs(1, 0, 0, { ...opts, retryAfterMs: 30_000 }, lowest)).toBe(30_000);
    expect(nextAttemptAtMs(1, 0, 0, { ...opts, retryAfterMs: 3_600_000 }, lowest)).toBe(5 * MIN);
    expect(nextAttemptAtMs(1, 0, 0, { ...opts, retryAfterMs: null }, highest)).toBe(1000);
    expect(nextAttemptAtMs(1, 0, 0, { ...opts, maxAgeMs: 20_000, retryAfterMs: 30_000 }, lowest)).toBe(
      20_000,
    );
  });
});
