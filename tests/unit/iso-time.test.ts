import { describe, expect, it } from 'vitest';
import { isoTime } from '../../services/shared/iso-time.js';
import { prng } from '../support/prng.js';

const MAX_TIME_MS = 8.64e15;

describe('isoTime', () => {
  it('is toISOString at the edges: midnight, before 1970, fractions, years past 9999 and the ends of the range', () => {
    const edges = [
      0,
      -0,
      1,
      -1,
      0.9,
      -0.9,
      -1e-9,
      86_399_999,
      86_400_000,
      Date.UTC(2026, 11, 3, 23, 59, 59, 999),
      Date.UTC(2026, 11, 4),
      Date.UTC(2024, 1, 29, 12),
      Date.UTC(-1, 0, 1),
      Date.UTC(10_000, 0, 1) - 1,
      Date.UTC(10_000, 0, 1),
      MAX_TIME_MS,
      -MAX_TIME_MS,
    ];
    for (const ms of edges) expect([ms, isoTime(ms)]).toEqual([ms, new Date(ms).toISOString()]);
  });

  it('is toISOString for 200,000 times drawn over the whole range and over the days around now', () => {
    const random = prng(12);
    const now = Date.UTC(2026, 11, 3);
    const mismatches: number[] = [];
    for (let i = 0; i < 200_000; i++) {
      const ms = i % 2 === 0 ? (random() * 2 - 1) * MAX_TIME_MS : now + (random() * 2 - 1) * 10 * 86_400_000;
      if (isoTime(ms) !== new Date(ms).toISOString()) mismatches.push(ms);
    }
    expect(mismatches).toEqual([]);
  });

  it('throws as toISOString does where a Date cannot hold the time', () => {
    for (const ms of [Number.NaN, MAX_TIME_MS + 1, -MAX_TIME_MS - 1, Number.POSITIVE_INFINITY]) {
      expect(() => new Date(ms).toISOString()).toThrow(RangeError);
      expect(() => isoTime(ms)).toThrow(RangeError);
    }
  });
});
