/** Where a socket thread decodes JSON: here while it has time to spare, on the tracking thread while busy. */
import { describe, expect, it } from 'vitest';
import {
  type DecodeSplit,
  decodeSplit,
  HAND_OVER_BUSY_SHARE,
} from '../../services/client/ingest/decode-split.js';

/** A thread's clocks, moved by hand. */
function fakeThread() {
  const t = { nowMs: 0, idleMs: 0, sleptMs: 0 };
  return { t, clock: { nowMs: () => t.nowMs, idleMs: () => t.idleMs, sleptMs: () => t.sleptMs } };
}

/** The choices for `n` datagrams, the queue to the tracking thread half full or not. */
const choices = (split: DecodeSplit, n: number, queueHalfFull = false) =>
  Array.from({ length: n }, () => split.decodeHere(queueHalfFull));

describe('the decode split', () => {
  it('decodes here while the thread is idle most of the time', () => {
    const { t, clock } = fakeThread();
    const split = decodeSplit(clock, HAND_OVER_BUSY_SHARE);
    t.nowMs = 20;
    t.idleMs = 15; // busy a quarter of the window
    expect(choices(split, 128)).toEqual(Array(128).fill(true));
  });

  it(`hands over, from the next look on, once the thread was busy ${HAND_OVER_BUSY_SHARE} of a window or more; decodes again once it is not`, () => {
    const { t, clock } = fakeThread();
    const split = decodeSplit(clock, HAND_OVER_BUSY_SHARE);
    t.nowMs = 20;
    t.idleMs = 10; // busy half of it
    // It looks every 64 datagrams: the 64th is the first handed over.
    expect(choices(split, 64)).toEqual([...Array(63).fill(true), false]);
    expect(choices(split, 64)).toEqual(Array(64).fill(false));
    t.nowMs = 40;
    t.idleMs = 21; // busy 9 ms of the next 20
    expect(choices(split, 64)).toEqual([...Array(63).fill(false), true]);
  });

  it('decodes here all the same, busy, while the queue to the tracking thread is half full', () => {
    const { t, clock } = fakeThread();
    const split = decodeSplit(clock, HAND_OVER_BUSY_SHARE);
    t.nowMs = 20; // busy all of it
    expect(choices(split, 64).at(-1)).toBe(false);
    expect(choices(split, 64, true)).toEqual(Array(64).fill(true));
    expect(choices(split, 1)).toEqual([false]);
  });

  it('counts a coalescing sleep as free time, not as work', () => {
    const { t, clock } = fakeThread();
    const split = decodeSplit(clock, HAND_OVER_BUSY_SHARE);
    t.nowMs = 20;
    t.idleMs = 4;
    t.sleptMs = 8; // busy 8 ms of 20
    expect(choices(split, 64).at(-1)).toBe(true);
    // The same window without the sleep: busy 16 ms of 20.
    const other = fakeThread();
    const busy = decodeSplit(other.clock, HAND_OVER_BUSY_SHARE);
    other.t.nowMs = 20;
    other.t.idleMs = 4;
    expect(choices(busy, 64).at(-1)).toBe(false);
  });

  it('keeps its choice until a window of 10 ms has gone by: a short burst decides nothing', () => {
    const { t, clock } = fakeThread();
    const split = decodeSplit(clock, HAND_OVER_BUSY_SHARE);
    t.nowMs = 9; // not a window yet, though busy all of it
    expect(choices(split, 128)).toEqual(Array(128).fill(true));
    t.nowMs = 10;
    expect(choices(split, 64).at(-1)).toBe(false);
  });

  it('hands every one over with a share of 0, none with one above 1', () => {
    const { t, clock } = fakeThread();
    const always = decodeSplit(clock, 0);
    const never = decodeSplit(clock, 1.01);
    t.nowMs = 20; // busy all of it
    expect(choices(always, 128)).toEqual(Array(128).fill(false));
    expect(choices(never, 128)).toEqual(Array(128).fill(true));
  });
});
