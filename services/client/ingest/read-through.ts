/**
 * How far a socket thread vouches for what it has read, so that silence is
 * never judged past what it has not looked at.
 *
 * The watermark holds judgement back for datagrams read and not yet handled.
 * A datagram still in the kernel's receive buffer is in neither: while the
 * socket thread gets no core (a busy machine, a long pause of its own), the
 * tracking thread would see its senders fall silent and mark them late, then
 * down, when every beat is there waiting to be read.
 *
 * So the thread vouches on a timer: every turn, it says that everything that
 * reached the socket before its previous turn has been read. Between two
 * turns of a timer the event loop has polled the socket (each timer run is a
 * loop iteration of its own, and each iteration polls), so that much is
 * true. A thread that gets no turn vouches for nothing newer, and judgement
 * waits for it. The cost is a judgement at most two periods behind the
 * clock, and a wake-up per period.
 */

/** How often the thread vouches: judgement lags the clock by at most twice this. */
export const READ_THROUGH_PERIOD_MS = 10;

export interface ReadThroughVouch {
  /** Called once per timer run: vouches for the previous run. */
  turn(): void;
}

/**
 * `set` publishes the time vouched for. The first is `now()` at creation:
 * call it before the socket is bound, so nothing can have arrived before it.
 */
export function readThroughVouch(set: (ms: number) => void, now: () => number): ReadThroughVouch {
  let previousTurnMs = now();
  set(previousTurnMs);
  return {
    turn() {
      const nowMs = now();
      set(previousTurnMs);
      previousTurnMs = nowMs;
    },
  };
}
