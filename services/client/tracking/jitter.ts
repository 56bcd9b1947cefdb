/**
 * Interarrival jitter exactly as RFC 3550 section 6.4.1, in milliseconds.
 *
 * For two datagrams i and j taken in arrival order, with send times S and
 * receive times R, D(i,j) = (Rj - Ri) - (Sj - Si) = (Rj - Sj) - (Ri - Si):
 * the difference of their transit times (one-way delays). Each new datagram
 * updates the estimate J = J + (|D(i-1,i)| - J) / 16. A constant clock offset
 * between sender and receiver cancels out of D.
 */
export function nextJitter(jitterMs: number, previousTransitMs: number, transitMs: number): number {
  return jitterMs + (Math.abs(transitMs - previousTransitMs) - jitterMs) / 16;
}
