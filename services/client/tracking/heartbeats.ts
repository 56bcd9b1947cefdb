/**
 * The heartbeat bar of one sender: the marks of its last `slots` expected
 * beats, in a fixed ring of one byte per slot.
 */
import { type HeartbeatMark, heartbeatMarkSchema } from '../../shared/vocabulary.js';

export type { HeartbeatMark } from '../../shared/vocabulary.js';

const MARKS: readonly HeartbeatMark[] = heartbeatMarkSchema.options;
const CODES: Readonly<Record<HeartbeatMark, number>> = { received: 0, late: 1, missed: 2, restart: 3 };

export interface HeartbeatBar {
  readonly marks: Uint8Array;
  /** Where the next mark goes. */
  next: number;
  /** Marks held, at most marks.length. */
  count: number;
}

/** A bar of `slots` marks, in `marks` when given (zeroed, `slots` long: a part of a larger buffer). */
export function createHeartbeatBar(slots: number, marks?: Uint8Array): HeartbeatBar {
  if (!Number.isInteger(slots) || slots < 1) {
    throw new RangeError(`heartbeat slots must be a positive integer, got ${slots}`);
  }
  if (marks !== undefined && marks.length !== slots) {
    throw new RangeError(`a bar of ${slots} slots takes ${slots} bytes, got ${marks.length}`);
  }
  return { marks: marks ?? new Uint8Array(slots), next: 0, count: 0 };
}

/** Forgets every mark, in place. */
export function clearHeartbeatBar(bar: HeartbeatBar): void {
  bar.marks.fill(0);
  bar.next = 0;
  bar.count = 0;
}

/** Appends `mark` `times` times; the oldest marks drop out. O(min(times, slots)). */
export function pushMark(bar: HeartbeatBar, mark: HeartbeatMark, times = 1): void {
  const { marks } = bar;
  const code = CODES[mark];
  const n = Math.min(times, marks.length);
  for (let i = 0; i < n; i++) {
    marks[bar.next] = code;
    bar.next = bar.next + 1 === marks.length ? 0 : bar.next + 1;
  }
  bar.count = Math.min(marks.length, bar.count + n);
}

/** Rewrites the newest mark (no-op on an empty bar). */
export function replaceNewestMark(bar: HeartbeatBar, mark: HeartbeatMark): void {
  if (bar.count === 0) return;
  const newest = bar.next === 0 ? bar.marks.length - 1 : bar.next - 1;
  bar.marks[newest] = CODES[mark];
}

/** The marks, oldest first. */
export function heartbeatList(bar: HeartbeatBar): HeartbeatMark[] {
  const { marks, count } = bar;
  const out: HeartbeatMark[] = new Array(count);
  let index = (bar.next - count + marks.length) % marks.length;
  for (let i = 0; i < count; i++) {
    out[i] = MARKS[marks[index] as number] as HeartbeatMark;
    index = index + 1 === marks.length ? 0 : index + 1;
  }
  return out;
}
