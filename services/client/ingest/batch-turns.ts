/**
 * The batches the socket threads hand over, handled in turns of the event
 * loop (issue 12). A batch's message only queues its handling here; the
 * queue is handled right after the loop's poll phase (setImmediate), batch
 * after batch for at most `turnMs` (at least one batch a turn), and then the
 * loop goes round (timers, HTTP requests, the next messages) before the rest.
 *
 * Why: a MessagePort delivers every message already queued, and at least
 * 1,000, without returning to the event loop, and a socket thread hands
 * over its next batch as soon as one is handled. So while a backlog lasted,
 * the main thread handled batch after batch in one go: in a run of 120 s at
 * 50,000 senders, up to 108 ms at a time, and 270–385 ms while the first
 * beats of 50,000 senders came in, with no timer and no request served in
 * between (docs/PERFORMANCE.md).
 *
 * Pure scheduling: the clock and the deferral are given, so tests fake both.
 * (Other long work on this thread goes in slices: shared/slices.ts.)
 */
import { loopClock, type TurnClock } from '../../shared/slices.js';

export interface BatchTurns {
  /** Queues one batch's handling (or a socket error's); it runs in order, in a coming turn. */
  push(handle: () => void): void;
  /** Handles everything queued, now (a socket thread's last batches, before its stop resolves). */
  drain(): void;
  /** Handlings queued and not yet run. */
  readonly queued: number;
}

export function createBatchTurns(turnMs: number, clock: TurnClock = loopClock): BatchTurns {
  const queue: Array<() => void> = [];
  let scheduled = false;

  function schedule(): void {
    if (scheduled || queue.length === 0) return;
    scheduled = true;
    clock.defer(turn);
  }

  function turn(): void {
    scheduled = false;
    const until = clock.now() + turnMs;
    try {
      do {
        const handle = queue.shift();
        if (handle === undefined) return;
        handle();
      } while (clock.now() < until);
    } finally {
      // Also after a handling that threw: what is left still gets its turn.
      schedule();
    }
  }

  return {
    push(handle) {
      queue.push(handle);
      schedule();
    },
    drain() {
      while (queue.length > 0) (queue.shift() as () => void)();
    },
    get queued() {
      return queue.length;
    },
  };
}
