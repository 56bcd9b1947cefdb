/**
 * Seeded randomness for model and fuzz tests: the same numbers on every
 * run, so a failure can be replayed.
 */

/** Numbers in [0, 1), as Math.random() gives them. */
export type Random = () => number;

/** mulberry32: small, fast, good enough to pick kinds, ids and steps reproducibly. */
export function prng(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One of `xs`, drawn with `random`. */
export function pick<T>(random: Random, xs: readonly T[]): T {
  return xs[Math.floor(random() * xs.length)] as T;
}
