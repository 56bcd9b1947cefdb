import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  acceptSeq,
  createSequenceWindow,
  isFresh,
  startSequence,
} from '../../services/client/tracking/sequence.js';

type ReplayVerdict = 'new' | 'seen' | 'too_old';

/**
 * The ring as the anti-replay guard reads it (RFC 4303): the first seq of a
 * boot starts the window; after that `isFresh` verdicts are new, a
 * duplicate is seen, a stale one too old.
 */
function createSeqWindow(size: number) {
  const ring = createSequenceWindow(size);
  let started = false;
  return {
    get highest() {
      return started ? ring.highest : -1;
    },
    mark(seq: number): ReplayVerdict {
      if (!started) {
        started = true;
        startSequence(ring, seq);
        return 'new';
      }
      const verdict = acceptSeq(ring, seq);
      if (isFresh(verdict)) return 'new';
      return verdict === 'stale' ? 'too_old' : 'seen';
    },
  };
}

/** The obvious, unbounded model of the window: every seq ever seen, and the highest. */
function modelWindow(size: number) {
  const seen = new Set<number>();
  let highest = -1;
  return {
    mark(seq: number): ReplayVerdict {
      if (seq > highest) {
        highest = seq;
        seen.add(seq);
        return 'new';
      }
      if (highest - seq >= size) return 'too_old';
      if (seen.has(seq)) return 'seen';
      seen.add(seq);
      return 'new';
    },
  };
}

describe('the sequence ring as an anti-replay window (RFC 4303 style)', () => {
  it('accepts the first seq whatever it is, then sees it again as a duplicate', () => {
    for (const first of [0, 1, 63, 64, 1_000_000, Number.MAX_SAFE_INTEGER]) {
      const w = createSeqWindow(64);
      expect(w.highest).toBe(-1);
      expect(w.mark(first)).toBe('new');
      expect(w.highest).toBe(first);
      expect(w.mark(first)).toBe('seen');
    }
  });

  it('accepts late arrivals inside the window exactly once', () => {
    const w = createSeqWindow(64);
    expect(w.mark(100)).toBe('new');
    expect(w.mark(90)).toBe('new');
    expect(w.mark(90)).toBe('seen');
    expect(w.mark(99)).toBe('new');
    expect(w.highest).toBe(100);
  });

  it('has its edge at highest - size + 1: the one below is too old', () => {
    const w = createSeqWindow(64);
    w.mark(200);
    expect(w.mark(200 - 63)).toBe('new');
    expect(w.mark(200 - 64)).toBe('too_old');
    expect(w.mark(0)).toBe('too_old');
    // too_old does not record anything or move the window.
    expect(w.highest).toBe(200);
    expect(w.mark(200 - 63)).toBe('seen');
  });

  it('keeps what it saw when it advances by less than its size', () => {
    const w = createSeqWindow(64);
    w.mark(10);
    w.mark(8);
    expect(w.mark(60)).toBe('new');
    expect(w.mark(10)).toBe('seen');
    expect(w.mark(8)).toBe('seen');
    expect(w.mark(9)).toBe('new');
    // The numbers skipped over are unseen, not stale bits from an earlier lap.
    for (let s = 11; s < 60; s++) expect(w.mark(s)).toBe('new');
  });

  it('forgets everything when it advances by its size or more', () => {
    const w = createSeqWindow(64);
    for (let s = 0; s < 64; s++) w.mark(s);
    expect(w.mark(63 + 64)).toBe('new');
    expect(w.mark(63)).toBe('too_old');
    for (let s = 64; s < 127; s++) expect(w.mark(s)).toBe('new');
  });

  it('does not confuse seq with seq + bit-array length after wrapping (size not a multiple of 32)', () => {
    // 100 -> 4 words = 128 bits: seq and seq + 128 share a bit.
    const w = createSeqWindow(100);
    w.mark(5);
    expect(w.mark(5 + 128)).toBe('new');
    expect(w.mark(5 + 128 - 99)).toBe('new');
    expect(w.mark(5 + 128 - 100)).toBe('too_old');
    const v = createSeqWindow(100);
    v.mark(50);
    v.mark(140); // advance by 90 < 100; 140 - 128 = 12 shares a bit with 140
    expect(v.mark(50)).toBe('seen');
    expect(v.mark(41)).toBe('new');
    expect(v.mark(40)).toBe('too_old');
  });

  it('works near Number.MAX_SAFE_INTEGER', () => {
    const top = Number.MAX_SAFE_INTEGER;
    const w = createSeqWindow(64);
    w.mark(top - 100);
    expect(w.mark(top)).toBe('new');
    expect(w.mark(top - 1)).toBe('new');
    expect(w.mark(top - 1)).toBe('seen');
    expect(w.mark(top - 63)).toBe('new');
    expect(w.mark(top - 64)).toBe('too_old');
  });

  it('agrees with the unbounded model on any sequence of marks', () => {
    // Seqs cluster around a moving point so that duplicates, late arrivals,
    // small and large jumps all happen; sizes include one that is not a multiple of 32.
    const step = fc.oneof(
      { arbitrary: fc.integer({ min: -70, max: 70 }), weight: 8 },
      { arbitrary: fc.integer({ min: -300, max: 300 }), weight: 2 },
      { arbitrary: fc.integer({ min: 0, max: 1_000_000 }), weight: 1 },
    );
    fc.assert(
      fc.property(
        fc.constantFrom(64, 65, 100, 1024),
        fc.nat({ max: 2 ** 40 }),
        fc.array(step, { maxLength: 400 }),
        (size, start, steps) => {
          const real = createSeqWindow(size);
          const model = modelWindow(size);
          let at = start;
          for (const delta of steps) {
            at = Math.max(0, at + delta);
            expect(real.mark(at)).toBe(model.mark(at));
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
