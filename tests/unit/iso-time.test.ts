import { describe, expect, it } from 'vitest';
import { isoTime, isoTimeMs } from '../../services/shared/iso-time.js';
import { datagramSchema } from '../../services/shared/protocol.js';
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

/** Whether zod's z.iso.datetime() of the protocol's `sentAt` lets `s` through: the only input isoTimeMs() is given. */
const sentAtOk = (s: string) => datagramSchema.shape.sentAt.safeParse(s).success;

describe('isoTimeMs', () => {
  it('is Date.parse at the edges: the first call, midnight, leap days, years 0000 and 9999, fractions of 0 to 13 digits', () => {
    const edges = [
      '2026-12-06T17:00:00.123Z',
      '2026-12-06T00:00:00.000Z',
      '2026-12-06T23:59:59.999Z',
      '2026-12-07T00:00:00Z',
      '2024-02-29T12:00:00.5Z',
      '2000-02-29T00:00:00.05Z',
      '1970-01-01T00:00:00Z',
      '1969-12-31T23:59:59.999Z',
      '0000-01-01T00:00:00.000Z',
      '0000-02-29T23:59:59.999Z',
      '0050-03-01T00:00:00.5Z',
      '9999-12-31T23:59:59.123456789Z',
      '2026-12-06T17:00:00.9999Z',
      '2026-12-06T17:00:00.1Z',
      '2026-12-06T17:00:00.12Z',
      '2026-12-06T17:00:00.012345678Z',
      // Past 9 digits V8 reads a fraction its own way (this one is 123 ms): Date.parse's number all the same.
      '2026-12-06T17:00:00.0123456789Z',
      '2026-12-06T17:00:00.0001234567891Z',
      '2026-12-06T17:00:00.9999999999Z',
    ];
    for (const s of edges) {
      expect(sentAtOk(s), s).toBe(true);
      expect([s, isoTimeMs(s)]).toEqual([s, Date.parse(s)]);
    }
  });

  it('is Date.parse for 200,000 times the schema lets through, in runs of 100 from a day of years 0000 to 9999 or around now', () => {
    const random = prng(13);
    const now = Date.UTC(2026, 11, 6);
    const year0 = Date.parse('0000-01-01T00:00:00Z');
    const year10000 = Date.parse('+010000-01-01T00:00:00Z');
    const mismatches: string[] = [];
    let fromMs = 0;
    for (let i = 0; i < 200_000; i++) {
      // A run of times within a day or two (the day parsed once, then taken from the cache), then another.
      if (i % 100 === 0) {
        fromMs =
          (i / 100) % 2 === 0
            ? year0 + random() * (year10000 - year0)
            : now + (random() * 2 - 1) * 10 * 86_400_000;
      }
      const iso = new Date(Math.min(fromMs + random() * 86_400_000, year10000 - 1)).toISOString();
      // Fractions of 0 to 12 digits: the milliseconds, then digits of their own.
      const digits = Math.floor(random() * 13);
      const fraction =
        digits === 0
          ? ''
          : `.${`${iso.slice(20, 23)}${Math.floor(random() * 1e9)}`.padEnd(digits, '7').slice(0, digits)}`;
      const s = `${iso.slice(0, 19)}${fraction}Z`;
      if (!sentAtOk(s) || isoTimeMs(s) !== Date.parse(s)) mismatches.push(s);
    }
    expect(mismatches).toEqual([]);
  });

  it('hands anything of another shape to Date.parse', () => {
    for (const s of [
      '',
      'x',
      '2026-12-06',
      '2026-12-06T17:00:00',
      '2026-12-06T17:00:00+01:00',
      '2026-12-06 17:00:00.000Z',
      'not a time at all, Z',
    ]) {
      expect([s, isoTimeMs(s)]).toEqual([s, Date.parse(s)]);
    }
  });
});
