/**
 * A sliding window over sequence numbers: remembers which of the last
 * `size` numbers below the highest one have been seen. O(1) amortised per
 * mark; memory size/8 bytes.
 */
export type SeqVerdict = 'new' | 'seen' | 'too_old';

export interface SeqWindow {
  /** Record `seq`; says whether it is new, already seen, or older than the window. */
  mark(seq: number): SeqVerdict;
  readonly highest: number;
}

export function createSeqWindow(size: number): SeqWindow {
  const words = new Uint32Array(Math.ceil(size / 32));
  const bits = words.length * 32;
  let highest = -1;
  const has = (seq: number) => ((words[(seq % bits) >>> 5] as number) & (1 << (seq & 31))) !== 0;
  const set = (seq: number) => {
    words[(seq % bits) >>> 5] = (words[(seq % bits) >>> 5] as number) | (1 << (seq & 31));
  };
  const clear = (seq: number) => {
    words[(seq % bits) >>> 5] = (words[(seq % bits) >>> 5] as number) & ~(1 << (seq & 31));
  };
  return {
    mark(seq) {
      if (seq > highest) {
        if (seq - highest >= size || highest < 0) words.fill(0);
        else for (let s = highest + 1; s < seq; s++) clear(s);
        highest = seq;
        set(seq);
        return 'new';
      }
      if (highest - seq >= size) return 'too_old';
      if (has(seq)) return 'seen';
      set(seq);
      return 'new';
    },
    get highest() {
      return highest;
    },
  };
}
