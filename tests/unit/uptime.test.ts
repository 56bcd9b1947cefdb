import { describe, expect, it } from 'vitest';
import {
  createUptime,
  creditUptime,
  setAvailability,
  uptimePercent,
} from '../../services/client/tracking/uptime.js';

const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;
/** On an hour boundary, so bucket edges are easy to count. */
const T0 = 10 * HOUR;

describe('uptime buckets', () => {
  it('is null before any time passes and when all time is planned', () => {
    expect(uptimePercent(createUptime(T0, 'available'), 'h1', T0)).toBeNull();
    const stopped = createUptime(T0, 'planned');
    creditUptime(stopped, T0 + 5 * MIN);
    expect(uptimePercent(stopped, 'h1', T0 + 10 * MIN)).toBeNull();
    expect(uptimePercent(stopped, 'h24', T0 + 10 * MIN)).toBeNull();
  });

  it('is 100 or 0 for a single class', () => {
    expect(uptimePercent(createUptime(T0, 'available'), 'h24', T0 + 1)).toBe(100);
    expect(uptimePercent(createUptime(T0, 'unavailable'), 'h1', T0 + 1)).toBe(0);
  });

  it('leaves planned time out of the denominator', () => {
    const u = createUptime(T0, 'available');
    setAvailability(u, 'planned', T0 + 10 * MIN);
    setAvailability(u, 'unavailable', T0 + 20 * MIN);
    expect(uptimePercent(u, 'h1', T0 + 25 * MIN)).toBeCloseTo((10 / 15) * 100, 10);
  });

  it('splits time across bucket boundaries and drops the minute that leaves the hour', () => {
    const u = createUptime(T0 + 30 * S, 'available');
    setAvailability(u, 'unavailable', T0 + 90 * S); // 30 s available in minute 0 and 30 s in minute 1
    setAvailability(u, 'available', T0 + 150 * S); // 30 s unavailable in minute 1 and 30 s in minute 2
    expect(uptimePercent(u, 'h1', T0 + 150 * S)).toBe(50);

    // At T0 + 60 min + 10 s the hour window starts at T0 + 1 min: minute 0 is out.
    const now = T0 + HOUR + 10 * S;
    const pending = now - (T0 + 150 * S);
    expect(uptimePercent(u, 'h1', now)).toBeCloseTo(
      ((30 * S + pending) * 100) / (30 * S + pending + 60 * S),
      10,
    );
    expect(uptimePercent(u, 'h24', now)).toBeCloseTo(
      ((60 * S + pending) * 100) / (60 * S + pending + 60 * S),
      10,
    );
  });

  it('gives the same answer whether credited in small steps or at once', () => {
    const stepped = createUptime(T0, 'available');
    const once = createUptime(T0, 'available');
    for (let t = T0; t <= T0 + 3 * HOUR; t += 7 * S) creditUptime(stepped, t);
    setAvailability(stepped, 'unavailable', T0 + 3 * HOUR + 1);
    setAvailability(once, 'unavailable', T0 + 3 * HOUR + 1);
    for (let t = T0 + 3 * HOUR; t <= T0 + 3 * HOUR + 25 * MIN; t += 13 * S) creditUptime(stepped, t);
    const now = T0 + 3 * HOUR + 30 * MIN;
    // Hour window from T0 + 2 h 31 min: available 29 min + 1 ms, unavailable 30 min - 1 ms.
    expect(uptimePercent(once, 'h1', now)).toBeCloseTo(((29 * MIN + 1) * 100) / (59 * MIN), 10);
    expect(uptimePercent(stepped, 'h1', now)).toBeCloseTo(uptimePercent(once, 'h1', now) as number, 10);
    expect(uptimePercent(stepped, 'h24', now)).toBeCloseTo(uptimePercent(once, 'h24', now) as number, 10);
    expect(uptimePercent(once, 'h24', now)).toBeCloseTo(((3 * HOUR + 1) * 100) / (3 * HOUR + 30 * MIN), 10);
  });

  it('clears every bucket after a jump longer than the window', () => {
    const u = createUptime(T0, 'available');
    setAvailability(u, 'unavailable', T0 + 10 * MIN);
    setAvailability(u, 'available', T0 + 30 * HOUR);
    const now = T0 + 30 * HOUR + 30 * MIN;
    // Hour window from T0 + 29 h 31 min: 29 min unavailable, 30 min available.
    expect(uptimePercent(u, 'h1', now)).toBeCloseTo((30 / 59) * 100, 10);
    // Day window from T0 + 7 h: 23 h unavailable, 30 min available.
    expect(uptimePercent(u, 'h24', now)).toBeCloseTo((0.5 / 23.5) * 100, 10);
  });

  it('does bounded work for any jump (here 30,000 years)', () => {
    const jump = 277_777_000 * HOUR;
    const u = createUptime(T0, 'unavailable');
    setAvailability(u, 'available', T0 + jump);
    expect(uptimePercent(u, 'h1', T0 + jump + HOUR)).toBe(100);
    // The day: the current hour (just begun) and 23 before: 22 h unavailable, 1 h available.
    expect(uptimePercent(u, 'h24', T0 + jump + HOUR)).toBeCloseTo(100 / 23, 10);
  });

  it('does not store anything on a read', () => {
    const u = createUptime(T0, 'available');
    uptimePercent(u, 'h1', T0 + 5 * MIN);
    expect(u.creditedUntilMs).toBe(T0);
    expect(u.ms.every((ms) => ms === 0)).toBe(true);
  });

  it('ignores a time earlier than what was credited', () => {
    const u = createUptime(T0, 'available');
    creditUptime(u, T0 + 2 * MIN);
    setAvailability(u, 'unavailable', T0 + MIN);
    expect(u.creditedUntilMs).toBe(T0 + 2 * MIN);
    expect(uptimePercent(u, 'h1', T0 + 4 * MIN)).toBe(50);
  });
});
