/**
 * Fewer wake-ups for spread-out datagrams: the socket thread's share of
 * what a NIC's interrupt coalescing does.
 *
 * Senders that beat once a second each arrive spread out: at 10,000 of them,
 * one datagram every 100 µs. Read the moment each arrives, every datagram
 * wakes the thread on its own, and the wake-up (epoll, a read that finds the
 * next one not there yet, the event loop's turn) costs more than the
 * datagram: about 40 µs a datagram at 10,000/s against 12 µs at 50,000/s,
 * measured in docs/PERFORMANCE.md.
 *
 * So when a datagram finds the thread idle (its event loop had been waiting
 * for input since the one before), the thread handles it and then sleeps for
 * `coalesceMs`. What arrives meanwhile waits in the kernel's receive buffer
 * and is read in one go afterwards, with no wake-up of its own. While
 * datagrams are waiting, the loop never goes idle and nothing sleeps: under
 * load this costs nothing and changes nothing. A datagram is read at most
 * `coalesceMs` later than it would have been; its receive time is when it
 * was read, as before.
 */

import type { ThreadTime } from './decode-split.js';

/** The two things it needs from its thread, injectable for tests. */
export interface CoalescingClock {
  /** Milliseconds this thread's event loop has spent waiting for input, since it started. */
  idleMs(): number;
  /** Blocks the thread (nothing else on it runs meanwhile). */
  sleep(ms: number): void;
}

export interface ReadCoalescing {
  /**
   * Called after a datagram is handled: at least the first of each poll of
   * the event loop, the only one the loop can have waited for input before
   * (the socket thread calls it for that one alone: reading the loop's idle
   * time is a call into Node, and a poll reads up to READS_PER_POLL
   * datagrams, read-through.ts).
   */
  handled(): void;
}

/**
 * The thread's own: Node's loop idle time, and Atomics.wait on a cell no one
 * writes; with the time it slept so (decode-split.ts counts it as free).
 */
export function threadClock(): CoalescingClock & ThreadTime {
  const cell = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  let sleptMs = 0;
  return {
    idleMs: () => performance.nodeTiming.idleTime,
    sleep: (ms) => {
      const fromMs = performance.now();
      Atomics.wait(cell, 0, 0, ms);
      sleptMs += performance.now() - fromMs;
    },
    sleptMs: () => sleptMs,
    nowMs: () => performance.now(),
  };
}

/**
 * `onWake` is told of every datagram that found the thread idle (a wake-up),
 * whether or not it then sleeps (coalesceMs 0: never).
 */
export function readCoalescing(
  coalesceMs: number,
  onWake: () => void,
  clock: CoalescingClock,
): ReadCoalescing {
  let idleSeen = clock.idleMs();
  return {
    handled() {
      const idle = clock.idleMs();
      if (idle === idleSeen) return;
      idleSeen = idle;
      onWake();
      if (coalesceMs > 0) clock.sleep(coalesceMs);
    },
  };
}
