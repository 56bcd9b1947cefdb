/**
 * Long work on an event loop, in slices (issue 12). Work that visits every
 * sender (a liveness pass, the state file's collection of changed senders)
 * or a thousand of them (a page of /api/senders) takes 10–30 ms at 50,000
 * senders: done in one go, it holds the loop as long, and a beat waiting
 * to be handled, a timer or a request waits that long. Done in slices of
 * about SLICE_MS, it lets the loop go round between them.
 *
 * Pure scheduling: the clock and the deferral are given, so tests fake both.
 */

export interface TurnClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Runs `run` after the current turn of the event loop (setImmediate). */
  defer(run: () => void): void;
}

export const loopClock: TurnClock = {
  now: () => performance.now(),
  defer: (run) => {
    setImmediate(run);
  },
};

/** How long a slice runs at most, in ms (and one step more). */
export const SLICE_MS = 2;

/**
 * Calls `step` until it returns true (done), in slices: the first one now,
 * each for about `sliceMs` (at least one step), and the next one after the
 * loop went round. `step` should be short (a few hundred senders): a slice
 * can overrun by one step. Resolves when done; rejects with what `step`
 * threw, and calls it no more.
 */
export function inSlices(
  step: () => boolean,
  sliceMs = SLICE_MS,
  clock: TurnClock = loopClock,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const slice = (): void => {
      const until = clock.now() + sliceMs;
      try {
        do {
          if (step()) {
            resolve();
            return;
          }
        } while (clock.now() < until);
      } catch (err) {
        reject(err);
        return;
      }
      clock.defer(slice);
    };
    slice();
  });
}
