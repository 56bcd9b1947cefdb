/**
 * The senders' sources in sorted order, for the views that page through
 * them (tracker.page(), the most urgent senders), kept as sources come and
 * go and never sorted whole again. Changes wait until the order is next
 * asked for; then a few are spliced in or out by binary search, and many
 * are sorted among themselves and merged in one pass.
 *
 * The list was sorted afresh after any sender came or went: about 20 ms at
 * 50,000 senders heard in no particular order, in every part of a page
 * while new senders kept coming (docs/PERFORMANCE.md).
 *
 * The changes waiting are bounded whether or not anyone asks: past a
 * quarter of the keys (and PENDING_AT_MOST), they are applied at once.
 *
 * Pure: no I/O, no clock.
 */

/**
 * Up to this many changes are spliced in one at a time (a binary search and
 * a move of the array's tail, ~10-20 µs at 50,000 keys); more are merged in
 * one pass (1.5 ms for 500 new among 50,000).
 */
export const SPLICE_LIMIT = 64;

/** Changes that may wait for a read at any size; beyond it, a quarter of the keys. */
export const PENDING_AT_MOST = 1024;

/** By UTF-16 code units, as sort() with no comparator orders strings: the sources' one order. */
const before = (a: string, b: string): boolean => a < b;

/** The same order as a comparator, for things sorted by their key. */
export const compareKeys = (a: string, b: string): number => (before(a, b) ? -1 : before(b, a) ? 1 : 0);

/** The index of the first key in `sorted` for which `from` holds (and so for every one after it). */
function firstWhere(sorted: readonly string[], from: (key: string) => boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (from(sorted[mid] as string)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The index of `key` in `sorted`, or where it would go. */
const indexOf = (sorted: readonly string[], key: string): number =>
  firstWhere(sorted, (k) => !before(k, key));

/** The index of the first key after `key` (a page's cursor) in `sorted`. */
export const firstAfter = (sorted: readonly string[], key: string): number =>
  firstWhere(sorted, (k) => before(key, k));

export class SortedKeys {
  private sorted: string[] = [];
  /** Changes not applied yet: each key changed, and whether it is there after them. */
  private readonly pending = new Map<string, boolean>();

  add(key: string): void {
    this.pending.set(key, true);
    this.bound();
  }

  remove(key: string): void {
    this.pending.set(key, false);
    this.bound();
  }

  /** The keys in order. Read it before the next change: applying changes may alter it in place. */
  list(): readonly string[] {
    this.apply();
    return this.sorted;
  }

  /** Changes not applied yet (distinct keys). */
  get waiting(): number {
    return this.pending.size;
  }

  /** A flood of new sources with nobody looking must not grow the changes without end. */
  private bound(): void {
    if (this.pending.size > Math.max(PENDING_AT_MOST, this.sorted.length >> 2)) this.apply();
  }

  private apply(): void {
    if (this.pending.size === 0) return;
    if (this.pending.size <= SPLICE_LIMIT) this.splice();
    else this.merge();
    this.pending.clear();
  }

  private splice(): void {
    for (const [key, present] of this.pending) {
      const i = indexOf(this.sorted, key);
      const there = this.sorted[i] === key;
      if (present && !there) this.sorted.splice(i, 0, key);
      else if (!present && there) this.sorted.splice(i, 1);
    }
  }

  private merge(): void {
    const added: string[] = [];
    const removed = new Set<string>();
    for (const [key, present] of this.pending) {
      if (present) added.push(key);
      else removed.add(key);
    }
    added.sort();
    // The runs between two added keys are copied as they are, found by binary search, not compared key by key.
    const old = this.sorted;
    const merged: string[] = [];
    let from = 0;
    const copy = (to: number): void => {
      for (; from < to; from++) {
        const key = old[from] as string;
        if (removed.size === 0 || !removed.has(key)) merged.push(key);
      }
    };
    for (const key of added) {
      const at = indexOf(old, key);
      copy(at);
      if (old[at] !== key) merged.push(key); // there already (added again): copied with its run
    }
    copy(old.length);
    this.sorted = merged;
  }
}
