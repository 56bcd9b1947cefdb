/**
 * Liveness arithmetic, pure: when a sender is late and when it is down, how
 * many expected beats a silence covers, and the interval of a sender that
 * declares none (plain text). Times are milliseconds.
 */

/**
 * The sender is `late` from max(expected arrival + grace, notBefore) on.
 * `notBeforeMs` is the floor a blind time of the monitor sets (its end +
 * interval + grace: its own blindness is not the sender's fault), or a
 * declared sender's first deadline. 0 for no floor. (Numbers, not an
 * object: this runs for every datagram.)
 */
export function lateAtMs(expectedAtMs: number, graceMs: number, notBeforeMs: number): number {
  return Math.max(expectedAtMs + graceMs, notBeforeMs);
}

/** The sender is `down` downAfterMisses beats after its first missed one: late + (downAfterMisses - 1) intervals. */
export function downAtMs(lateAt: number, intervalMs: number, downAfterMisses: number): number {
  return lateAt + (downAfterMisses - 1) * intervalMs;
}

/**
 * Beats due to arrive from `fromMs` (`from`: 'at' it, or only 'after' it)
 * until `untilMs` (inclusive): beat k (k >= 1) at lastArrivalMs + k
 * intervals. None without an interval.
 */
export function beatsDueBetween(
  lastArrivalMs: number,
  intervalMs: number,
  fromMs: number,
  untilMs: number,
  from: 'at' | 'after',
): number {
  if (!(intervalMs > 0)) return 0;
  const since = (fromMs - lastArrivalMs) / intervalMs;
  const first = Math.max(1, from === 'at' ? Math.ceil(since) : Math.floor(since) + 1);
  const last = Math.floor((untilMs - lastArrivalMs) / intervalMs);
  return Math.max(0, last - first + 1);
}

/** Expected beats overdue at `nowMs`: the k-th is overdue at lateAt + (k - 1) intervals. */
export function overdueBeats(nowMs: number, lateAtMs: number, intervalMs: number): number {
  return nowMs < lateAtMs ? 0 : Math.floor((nowMs - lateAtMs) / intervalMs) + 1;
}

/**
 * Plain-text datagrams that arrive within this of a sender's last beat are
 * part of that beat, not beats of their own: two or more per period would
 * otherwise make the median gap the few milliseconds between them (an
 * interval of 0, no deadline ever; or a down every period).
 */
export const TEXT_BURST_MS = 50;
/** Gaps between arrivals a plain-text sender keeps to infer its interval. */
export const TEXT_GAPS_KEPT = 5;
/** Gaps needed before an interval is inferred. */
export const TEXT_GAPS_NEEDED = 3;

/** The median of the recent gaps once TEXT_GAPS_NEEDED have been seen, else null. */
export function inferInterval(gapsMs: readonly number[]): number | null {
  if (gapsMs.length < TEXT_GAPS_NEEDED) return null;
  const sorted = [...gapsMs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return median > 0 ? Math.round(median) : null;
}

/**
 * Beats a sender without sequence numbers missed, judged from the gap
 * between two arrivals: the gap in whole intervals, less the one that
 * arrived. A gap up to 1.5 intervals misses nothing.
 */
export function missedIntervals(gapMs: number, intervalMs: number): number {
  if (!(intervalMs > 0)) return 0;
  return Math.max(0, Math.round(gapMs / intervalMs) - 1);
}
