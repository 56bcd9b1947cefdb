/**
 * Drift-free beat schedule: beat k is due at start + k * interval, computed
 * from the start time, never by adding up timer delays. When the process
 * falls behind (a blocked event loop, a suspended container), slots that
 * have already passed are skipped rather than sent in a burst; the next
 * datagram still carries the next sequence number, so the monitor sees a
 * late beat, not a loss that the network never caused.
 */
export function dueAt(startMs: number, intervalMs: number, slot: number): number {
  return startMs + slot * intervalMs;
}

/** The slot to send after `sentSlot`: the next one, or the latest already due when behind. */
export function nextSlot(startMs: number, intervalMs: number, sentSlot: number, nowMs: number): number {
  const latestDue = Math.floor((nowMs - startMs) / intervalMs);
  return Math.max(sentSlot + 1, latestDue);
}

/** Milliseconds to wait before `slot` is due (0 when it already is). */
export function delayUntil(startMs: number, intervalMs: number, slot: number, nowMs: number): number {
  return Math.max(0, dueAt(startMs, intervalMs, slot) - nowMs);
}
