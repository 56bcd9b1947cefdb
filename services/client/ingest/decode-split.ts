/**
 * Where a JSON datagram is decoded (JSON.parse and the schema): on the
 * socket thread that read it, or on the tracking thread, handed over framed
 * (classify.ts).
 *
 * A datagram's work is split between two threads: read (~3 µs on the 2-core
 * bench machine) and decoded (~2 µs) on a socket thread, tracked and logged
 * (~2 µs) on the tracking thread. Decoding every datagram, one socket thread
 * runs out first (at ~200,000/s there), and then the kernel drops datagrams,
 * while a tracking thread that falls behind only lets its backlog wait in
 * the socket thread's queue (bounded: UDP_QUEUE_BYTES). So a socket thread
 * decodes while it has time to spare, and hands the JSON over undecoded
 * while it is busy: it keeps the room to read at once whatever comes. But
 * once the queue to the tracking thread is half full, the tracking thread
 * is what falls behind, and the queue would soon drop: the socket thread
 * decodes again, to share its work, and the backlog waits in the kernel,
 * where a sender that paces itself by the receive queue sees it (the flood
 * test's does). (Decoding as soon as the tracking thread was a few batches
 * behind lost more at the kernel than it saved, measured on the ladder.)
 * At the rates of 50,000 senders at 1 Hz it decodes nearly all of them
 * (98.7% in 30 s; at 100,000/s half). (docs/PERFORMANCE.md, "The socket thread hands its JSON over
 * while busy": each thread's CPU, and the ladder with and without it.)
 *
 * Busy: in the last window (WINDOW_MS or more of its time), a share of
 * `busyShare` or more spent neither waiting for input nor in a coalescing
 * sleep (read-coalescing.ts). Looked at every CHECK_EVERY datagrams: a clock
 * read for each would cost more than the rest of the choice.
 */

/** The thread's clocks, in milliseconds (injectable for tests). */
export interface ThreadTime {
  nowMs(): number;
  /** Spent waiting for input (the event loop idle), since the thread started. */
  idleMs(): number;
  /** Spent in coalescing sleeps, since the thread started. */
  sleptMs(): number;
}

/** A socket thread that is busy this share of its time or more hands its JSON over undecoded. */
export const HAND_OVER_BUSY_SHARE = 0.5;
const WINDOW_MS = 10;
const CHECK_EVERY = 64;

export interface DecodeSplit {
  /** Whether to decode the next JSON datagram here. `queueHalfFull`: the queue to the tracking thread is. */
  decodeHere(queueHalfFull: boolean): boolean;
}

/**
 * `busyShare`: HAND_OVER_BUSY_SHARE in a monitor (0: hand every one over,
 * but while the queue is half full; above 1: none).
 */
export function decodeSplit(clock: ThreadTime, busyShare: number): DecodeSplit {
  const free = () => clock.idleMs() + clock.sleptMs();
  let fromMs = clock.nowMs();
  let freeFromMs = free();
  let busy = busyShare <= 0;
  let seen = 0;

  function look(): void {
    const nowMs = clock.nowMs();
    const elapsedMs = nowMs - fromMs;
    if (elapsedMs < WINDOW_MS) return;
    const freeMs = free();
    busy = 1 - (freeMs - freeFromMs) / elapsedMs >= busyShare;
    fromMs = nowMs;
    freeFromMs = freeMs;
  }

  return {
    decodeHere(queueHalfFull) {
      seen++;
      if (seen % CHECK_EVERY === 0) look();
      return !busy || queueHalfFull;
    },
  };
}
