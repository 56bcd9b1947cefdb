/**
 * A sliding window over sequence numbers (RFC 4303's anti-replay window):
 * remembers which of the last `size` numbers up to the highest one have been
 * seen. O(1) amortised per mark; memory about size/8 bytes plus a small
 * object (no closures per window: the replay guard creates one per sender
 * boot, and a flood of new boots must stay cheap).
 */
export type SeqVerdict = 'new' | 'seen' | 'too_old';

export interface SeqWindow {
  /** Record `seq`; says whether it is new, already seen, or older than the window. */
  mark(seq: number): SeqVerdict;
  readonly highest: number;
}

class BitWindow implements SeqWindow {
  readonly #size: number;
  readonly #words: Uint32Array;
  /** Bits in #words (a multiple of 32, >= size): seq and seq + #bits share a bit. */
  readonly #bits: number;
  #highest = -1;

  constructor(size: number) {
    this.#size = size;
    this.#words = new Uint32Array(Math.ceil(size / 32));
    this.#bits = this.#words.length * 32;
  }

  get highest(): number {
    return this.#highest;
  }

  #word(seq: number): number {
    return (seq % this.#bits) >>> 5;
  }

  #has(seq: number): boolean {
    return ((this.#words[this.#word(seq)] as number) & (1 << (seq & 31))) !== 0;
  }

  #set(seq: number): void {
    const w = this.#word(seq);
    this.#words[w] = (this.#words[w] as number) | (1 << (seq & 31));
  }

  #clear(seq: number): void {
    const w = this.#word(seq);
    this.#words[w] = (this.#words[w] as number) & ~(1 << (seq & 31));
  }

  mark(seq: number): SeqVerdict {
    const highest = this.#highest;
    if (seq > highest) {
      // Numbers passed over are unseen: clear the bits they share with numbers a lap earlier.
      if (highest < 0 || seq - highest >= this.#size) this.#words.fill(0);
      else for (let s = highest + 1; s < seq; s++) this.#clear(s);
      this.#highest = seq;
      this.#set(seq);
      return 'new';
    }
    if (highest - seq >= this.#size) return 'too_old';
    if (this.#has(seq)) return 'seen';
    this.#set(seq);
    return 'new';
  }
}

/** `size` >= 1: numbers more than size - 1 below the highest are too old. */
export function createSeqWindow(size: number): SeqWindow {
  return new BitWindow(size);
}
