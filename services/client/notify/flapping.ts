/**
 * Flap detection: a sender whose state changes more than `threshold` times
 * within `windowMs` is flapping. Its first excess change is reported once
 * (`started`: the caller sends one "flapping" notification), the changes
 * after it are `ongoing` (the caller sends nothing), and it is stable again
 * once it has had no change for `windowMs`: tick() names it once then, so
 * the caller can notify the state it settled in. Pure: no I/O, no clock of
 * its own; times are handed in and should not decrease per sender.
 *
 * Memory: at most threshold + 1 timestamps per sender, and at most
 * `maxSources` senders; beyond it the least recently changed sender is
 * forgotten (an evicted flapping sender is then never reported by tick()).
 * The notifier gives MAX_SENDERS and room for every declared sender, and
 * forgets a sender here when the tracker does, so no sender it tracks is
 * ever made room for.
 */

export type FlapVerdict = 'normal' | 'started' | 'ongoing';

export interface FlapOptions {
  /** Changes within the window that are still normal; one more is flapping (>= 1). */
  threshold: number;
  /** The sliding window, and the quiet time after which a flapping sender is stable (> 0). */
  windowMs: number;
  /** Senders remembered at most (LRU). */
  maxSources: number;
}

export interface FlapDetector {
  /** Called once per state change of `source`, at the change's time. */
  record(source: string, atMs: number): FlapVerdict;
  /**
   * A sender known to be flapping at `atMs` with no changes at hand (it was
   * when the monitor last stopped): flapping from `atMs` on, its changes
   * `ongoing`, until quiet for windowMs, when tick() names it.
   */
  resume(source: string, atMs: number): void;
  /** Flapping at `nowMs`: it started and the latest change is less than windowMs ago. */
  isFlapping(source: string, nowMs: number): boolean;
  /** The changes of `source` within the window ending at `nowMs` (at most threshold + 1). */
  changesInWindow(source: string, nowMs: number): number;
  /**
   * The flapping senders that have had no change for windowMs at `nowMs`,
   * each named once: they are `normal` again from here. O(flapping senders).
   */
  tick(nowMs: number): string[];
  forget(source: string): void;
  readonly size: number;
  /** Senders flapping (not yet named by tick()). */
  readonly flapping: number;
}

interface Entry {
  /** Change times, oldest first, at most threshold + 1. */
  times: number[];
  flapping: boolean;
}

export function createFlapDetector(options: FlapOptions): FlapDetector {
  const { threshold, windowMs, maxSources } = options;
  if (!(Number.isInteger(threshold) && threshold >= 1)) {
    throw new RangeError(`threshold must be an integer >= 1, got ${threshold}`);
  }
  if (!(Number.isFinite(windowMs) && windowMs > 0)) {
    throw new RangeError(`windowMs must be a finite number > 0, got ${windowMs}`);
  }
  if (!(Number.isInteger(maxSources) && maxSources >= 1)) {
    throw new RangeError(`maxSources must be an integer >= 1, got ${maxSources}`);
  }
  const keep = threshold + 1;
  /** Insertion order is recency: every change moves its sender to the end. */
  const entries = new Map<string, Entry>();
  const flappingSources = new Set<string>();

  const newest = (entry: Entry) => entry.times[entry.times.length - 1] ?? Number.NEGATIVE_INFINITY;
  /** Quiet for windowMs: the newest change is at least windowMs before `nowMs`. */
  const quiet = (entry: Entry, nowMs: number) => nowMs - newest(entry) >= windowMs;

  function settle(source: string, entry: Entry): void {
    entry.flapping = false;
    entry.times.length = 0;
    flappingSources.delete(source);
  }

  /** The sender's entry, made if new (the least recently changed forgotten beyond maxSources), moved to the end. */
  function touch(source: string): Entry {
    let entry = entries.get(source);
    if (entry === undefined) {
      entry = { times: [], flapping: false };
      if (entries.size >= maxSources) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) forget(oldest);
      }
    } else {
      entries.delete(source);
    }
    entries.set(source, entry);
    return entry;
  }

  function record(source: string, atMs: number): FlapVerdict {
    const entry = touch(source);

    const at = Math.max(atMs, newest(entry));
    if (entry.flapping && quiet(entry, at)) settle(source, entry);
    entry.times.push(at);
    if (entry.times.length > keep) entry.times.shift();
    if (entry.flapping) return 'ongoing';
    // threshold + 1 changes with the oldest still inside the window (at - windowMs, at].
    const oldest = entry.times[0] ?? at;
    if (entry.times.length === keep && at - oldest < windowMs) {
      entry.flapping = true;
      flappingSources.add(source);
      return 'started';
    }
    return 'normal';
  }

  function forget(source: string): void {
    entries.delete(source);
    flappingSources.delete(source);
  }

  return {
    record,
    resume(source, atMs) {
      const entry = touch(source);
      entry.times = [Math.max(atMs, newest(entry))];
      entry.flapping = true;
      flappingSources.add(source);
    },
    isFlapping(source, nowMs) {
      const entry = entries.get(source);
      if (entry === undefined) return false;
      return entry.flapping && !quiet(entry, nowMs);
    },
    changesInWindow(source, nowMs) {
      const entry = entries.get(source);
      if (entry === undefined) return 0;
      let n = 0;
      for (const t of entry.times) if (nowMs - t < windowMs) n++;
      return n;
    },
    tick(nowMs) {
      const settled: string[] = [];
      for (const source of flappingSources) {
        const entry = entries.get(source);
        if (entry !== undefined && quiet(entry, nowMs)) {
          settle(source, entry);
          settled.push(source);
        }
      }
      return settled;
    },
    forget,
    get size() {
      return entries.size;
    },
    get flapping() {
      return flappingSources.size;
    },
  };
}
