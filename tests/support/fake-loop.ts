import type { TurnClock } from '../../services/shared/turns.js';

/** A loop whose turns run only when the test says so, and whose clock moves only as handlings spend it. */
export function fakeLoop() {
  let nowMs = 0;
  const deferred: Array<() => void> = [];
  const clock: TurnClock = { now: () => nowMs, defer: (run) => deferred.push(run) };
  return {
    clock,
    spend: (ms: number) => {
      nowMs += ms;
    },
    /** Turns of the loop waiting to run. */
    get pending() {
      return deferred.length;
    },
    /** The loop goes round once: what was deferred before it runs. */
    turn() {
      for (const run of deferred.splice(0)) run();
    },
  };
}

export type FakeLoop = ReturnType<typeof fakeLoop>;
