/**
 * Uptime of one sender over the last hour and the last day, from fixed time
 * buckets: 60 one-minute buckets and 24 one-hour buckets, each holding the
 * milliseconds spent available and unavailable. Buckets are aligned to
 * multiples of their width since the epoch; "the last hour" is the current
 * minute and the 59 before it (the last day: the current hour and 23 before).
 *
 * Time spent `planned` (a sender that said bye) is excluded: it is neither
 * available nor unavailable, so it is left out of the denominator.
 *
 * Memory: one Uint32Array of 168 numbers (672 bytes; for a tracked sender a
 * part of its one buffer, sender.ts) plus a small record.
 * A bucket holds whole milliseconds, at most an hour's 3,600,000, which 32
 * bits hold with room to spare; the clock handed in is Date.now()'s, whole
 * milliseconds too. (Float64 buckets, as releases before the state file's
 * schema 3 had them, took twice the memory and made a sender's row in the
 * state file too long for two to share a page: sender-codec.ts.)
 */
/** `planned` (a bye, a silence) and `unknown` (not observed: pending, the monitor's own downtime) are left out of the ratio. */
export type Availability = 'available' | 'unavailable' | 'planned' | 'unknown';
export type UptimeSpan = 'h1' | 'h24';

/** A ring of `slots` buckets of `widthMs`, at `offset` in the data array: `slots` available, then `slots` unavailable. */
interface Ring {
  offset: number;
  slots: number;
  widthMs: number;
}
const MINUTES: Ring = { offset: 0, slots: 60, widthMs: 60_000 };
const HOURS: Ring = { offset: 120, slots: 24, widthMs: 3_600_000 };
/** The most a bucket holds: the widest bucket's milliseconds. */
export const BUCKET_MAX_MS = HOURS.widthMs;
/** The numbers an Uptime's `ms` holds. */
export const UPTIME_BUCKETS = 2 * (MINUTES.slots + HOURS.slots);

export interface Uptime {
  /** Milliseconds per bucket, laid out as described by MINUTES and HOURS. */
  readonly ms: Uint32Array;
  /** Bucket number (time / width) of the newest minute bucket in use; older ones are valid back to slots - 1 before it. */
  minuteHead: number;
  hourHead: number;
  /** Time up to which `ms` has been credited. */
  creditedUntilMs: number;
  /** What the time after creditedUntilMs counts as. */
  current: Availability;
}

/** Uptime from `startMs` on, its buckets in `ms` when given (zeroed, UPTIME_BUCKETS long: a part of a larger buffer). */
export function createUptime(
  startMs: number,
  current: Availability,
  ms: Uint32Array = new Uint32Array(UPTIME_BUCKETS),
): Uptime {
  if (ms.length !== UPTIME_BUCKETS)
    throw new RangeError(`uptime takes ${UPTIME_BUCKETS} buckets, got ${ms.length}`);
  return {
    ms,
    minuteHead: Math.floor(startMs / MINUTES.widthMs),
    hourHead: Math.floor(startMs / HOURS.widthMs),
    creditedUntilMs: startMs,
    current,
  };
}

/** Credits the time up to `atMs` to the current availability, then switches to `next` from `atMs` on. */
export function setAvailability(uptime: Uptime, next: Availability, atMs: number): void {
  creditUptime(uptime, atMs);
  uptime.current = next;
}

/**
 * Credits [creditedUntilMs, nowMs) to the current availability, split across
 * bucket boundaries, clearing buckets that fall out of their window as time
 * advances. Work is bounded by the bucket counts whatever the jump. A time
 * earlier than creditedUntilMs is ignored (time never runs backwards here).
 */
export function creditUptime(uptime: Uptime, nowMs: number): void {
  const from = uptime.creditedUntilMs;
  if (!(nowMs > from)) return;
  uptime.minuteHead = creditRing(uptime.ms, MINUTES, uptime.minuteHead, from, nowMs, uptime.current);
  uptime.hourHead = creditRing(uptime.ms, HOURS, uptime.hourHead, from, nowMs, uptime.current);
  uptime.creditedUntilMs = nowMs;
}

/**
 * Percent of the observed time in the span that was available (0..100), or
 * null when nothing but planned time (or no time at all) was observed. A
 * read: it counts the not yet credited time up to `nowMs` without storing it.
 */
export function uptimePercent(uptime: Uptime, span: UptimeSpan, nowMs: number): number | null {
  const ring = span === 'h1' ? MINUTES : HOURS;
  const head = span === 'h1' ? uptime.minuteHead : uptime.hourHead;
  const { offset, slots, widthMs } = ring;
  const { ms } = uptime;
  const nowBucket = Math.floor(nowMs / widthMs);
  let available = 0;
  let unavailable = 0;
  // Buckets both in use (head - slots, head] and in the window (nowBucket - slots, nowBucket].
  const first = Math.max(head, nowBucket) - slots + 1;
  const last = Math.min(head, nowBucket);
  for (let bucket = first; bucket <= last; bucket++) {
    const slot = modulo(bucket, slots);
    available += ms[offset + slot] as number;
    unavailable += ms[offset + slots + slot] as number;
  }
  const pending = nowMs - Math.max(uptime.creditedUntilMs, (nowBucket - slots + 1) * widthMs);
  if (pending > 0) {
    if (uptime.current === 'available') available += pending;
    else if (uptime.current === 'unavailable') unavailable += pending;
  }
  const observed = available + unavailable;
  return observed > 0 ? (available * 100) / observed : null;
}

function creditRing(
  ms: Uint32Array,
  ring: Ring,
  head: number,
  from: number,
  to: number,
  availability: Availability,
): number {
  const { offset, slots, widthMs } = ring;
  const column = availability === 'available' ? offset : availability === 'unavailable' ? offset + slots : -1;
  // Time before the window that ends at `to` would be cleared again at once: skip it.
  let t = Math.max(from, (Math.floor(to / widthMs) - slots + 1) * widthMs);
  let current = head;
  while (t < to) {
    const bucket = Math.floor(t / widthMs);
    const end = Math.min(to, (bucket + 1) * widthMs);
    current = moveHead(ms, ring, current, bucket);
    if (column >= 0) {
      const index = column + modulo(bucket, slots);
      ms[index] = (ms[index] as number) + Math.round(end - t);
    }
    t = end;
  }
  return moveHead(ms, ring, current, Math.floor(to / widthMs));
}

/** Makes `bucket` the newest bucket in use, clearing the slots it and those before it reuse. */
function moveHead(ms: Uint32Array, ring: Ring, head: number, bucket: number): number {
  if (bucket <= head) return head;
  const { offset, slots } = ring;
  if (bucket - head >= slots) {
    ms.fill(0, offset, offset + 2 * slots);
    return bucket;
  }
  for (let b = head + 1; b <= bucket; b++) {
    const slot = modulo(b, slots);
    ms[offset + slot] = 0;
    ms[offset + slots + slot] = 0;
  }
  return bucket;
}

function modulo(n: number, m: number): number {
  const r = n % m;
  return r < 0 ? r + m : r;
}
