import { describe, expect, it } from 'vitest';
import { beatDueBetween } from '../../services/client/tracking/liveness.js';

describe('beatDueBetween: a beat expected to arrive in (from, until]', () => {
  // Last arrival at 1000, every 100: beats expected at 1100, 1200, ...
  it.each([
    ['the next beat inside', 1050, 1150, true],
    ['a later beat inside, the earlier ones before it', 1250, 1310, true],
    ['until is inclusive', 1250, 1300, true],
    ['from is exclusive', 1300, 1399, false],
    ['between two beats', 1310, 1390, false],
    ['before the next beat', 900, 1099, false],
  ])('%s', (_name, from, until, due) => {
    expect(beatDueBetween(1000, 100, from, until)).toBe(due);
  });

  it('is false without an interval (a plain-text sender whose interval is not known yet)', () => {
    expect(beatDueBetween(1000, 0, 0, 1e9)).toBe(false);
  });
});
