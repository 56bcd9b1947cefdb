/**
 * The one sequence ring: which of the recent sequence numbers of one sender
 * boot have been seen, over a bounded window. A ring of `bits` bits
 * (Uint32Array words, `size` rounded up to a multiple of 32), bit
 * `seq mod bits` set once `seq` has been seen. The window covers the seqs in
 * (highest - size, highest]; memory is bits/8 bytes plus the array header.
 * A plain record with free functions (no closures), so a flood of new boots
 * stays cheap.
 *
 * Two consumers read its verdicts: the tracker turns them into counters, and
 * the anti-replay guard (ingest/replay.ts) admits only `isFresh` ones.
 *
 * Verdicts (the tracker turns them into counters):
 * - `next`: above the highest so far; `gap` seqs were skipped (lost so far).
 * - `duplicate`: equal to the highest, or already seen within the window.
 * - `late`: unseen, within the window, below the highest and at or above the
 *   boot's base: a reordered datagram that had been counted lost.
 * - `before_base`: unseen, within the window, below the first seq this
 *   monitor saw of the boot (it started mid-stream): out of order, but no loss
 *   had been charged for it.
 * - `stale`: older than the window; a duplicate cannot be told from a late
 *   arrival any more.
 */
export type SeqVerdict = 'next' | 'duplicate' | 'late' | 'before_base' | 'stale';

export interface SequenceWindow {
  readonly words: Uint32Array;
  /** Window size in seqs: seqs `size` or more below the highest are stale. */
  readonly size: number;
  /** Bits in the ring: `size` rounded up to a multiple of 32; seq and seq + bits share a bit. */
  readonly bits: number;
  /** First seq seen of the current boot. */
  base: number;
  /** Highest seq seen of the current boot. */
  highest: number;
  /** Seqs skipped by the latest `next` verdict. */
  gap: number;
}

export const MIN_SEQUENCE_WINDOW = 64;

/** The Uint32Array words a window of `size` seqs takes. */
export function sequenceWords(size: number): number {
  if (!Number.isInteger(size) || size < MIN_SEQUENCE_WINDOW) {
    throw new RangeError(`sequence window must be an integer >= ${MIN_SEQUENCE_WINDOW}, got ${size}`);
  }
  return Math.ceil(size / 32);
}

/** A window of `size` seqs, in `words` when given (zeroed, `sequenceWords(size)` long: a part of a larger buffer). */
export function createSequenceWindow(
  size: number,
  words: Uint32Array = new Uint32Array(sequenceWords(size)),
): SequenceWindow {
  const wanted = sequenceWords(size);
  if (words.length !== wanted)
    throw new RangeError(`a window of ${size} seqs takes ${wanted} words, got ${words.length}`);
  return { words, size, bits: words.length * 32, base: 0, highest: 0, gap: 0 };
}

/** Starts a boot at `seq`: forgets everything, `seq` becomes the base and the highest. */
export function startSequence(window: SequenceWindow, seq: number): void {
  window.words.fill(0);
  window.base = seq;
  window.highest = seq;
  window.gap = 0;
  setBit(window, seq);
}

/** Records `seq` and classifies it. O(1); a gap clears at most bits/32 words. */
export function acceptSeq(window: SequenceWindow, seq: number): SeqVerdict {
  const { highest, bits, size } = window;
  if (seq > highest) {
    window.gap = seq - highest - 1;
    clearBits(window, highest + 1, seq - highest);
    setBit(window, seq);
    window.highest = seq;
    return 'next';
  }
  if (highest - seq >= size) return 'stale';
  const index = seq % bits;
  const word = index >>> 5;
  const mask = 1 << (index & 31);
  const current = window.words[word] as number;
  if ((current & mask) !== 0) return 'duplicate';
  window.words[word] = current | mask;
  return seq >= window.base ? 'late' : 'before_base';
}

/** A seq seen for the first time within the window: what the anti-replay guard admits. */
export function isFresh(verdict: SeqVerdict): boolean {
  return verdict !== 'duplicate' && verdict !== 'stale';
}

function setBit(window: SequenceWindow, seq: number): void {
  const index = seq % window.bits;
  const word = index >>> 5;
  window.words[word] = (window.words[word] as number) | (1 << (index & 31));
}

/** Clears the bits of `count` consecutive seqs starting at `from`, a word at a time where possible. */
function clearBits(window: SequenceWindow, from: number, count: number): void {
  const { words, bits } = window;
  if (count >= bits) {
    words.fill(0);
    return;
  }
  let index = from % bits;
  let left = count;
  while (left > 0) {
    const offset = index & 31;
    // bits is a multiple of 32, so a run never crosses the end of the ring mid-word.
    const run = Math.min(32 - offset, left);
    const mask = run === 32 ? 0xffffffff : ((1 << run) - 1) << offset;
    const word = index >>> 5;
    words[word] = (words[word] as number) & ~mask;
    left -= run;
    index += run;
    if (index === bits) index = 0;
  }
}
