/**
 * The main thread's deferred work, handled in turns of its event loop
 * (issue 12): the batches the socket threads hand over, and the steps of
 * every long job (a liveness pass, the state file's collection of changed
 * senders, the views of many senders). Each only queues its handling here;
 * the queues are handled right after the loop's poll phase (setImmediate),
 * one handling after another for at most `turnMs` (at least one a turn),
 * and then the loop goes round (timers, HTTP requests, the next messages)
 * before the rest.
 *
 * Why one budget a turn:
 * - A MessagePort delivers every message already queued, and at least
 *   1,000, without returning to the event loop, and a socket thread hands
 *   over its next batch as soon as one is handled. So while a backlog
 *   lasted, the main thread handled batch after batch in one go: in a run
 *   of 120 s at 50,000 senders, up to 108 ms at a time, and 270–385 ms
 *   while the first beats of 50,000 senders came in.
 * - Jobs that visit every sender (~10 ms each at 50,000) or a thousand of
 *   them held the loop as long. Cut into slices of their own, each on its
 *   own setImmediate, they still ran back to back in the same turn of the
 *   loop as the batches: the loop went round no sooner (docs/PERFORMANCE.md).
 *
 * Why the jobs' steps take turns with the batches rather than queue behind
 * them: a step put back behind every batch queued meanwhile waited for all
 * of them, once per step. Whenever the main thread was behind, a view of
 * 1,000 senders (ten steps) waited out its backlog ten times: at 50,000
 * senders a scrape's ten steps of ~1 ms took 25–185 ms from the first to
 * the last. One of each in turn, the batches still get every other
 * handling of a busy thread at least, and the steps never wait for a
 * backlog.
 *
 * Pure scheduling: the clock and the deferral are given, so tests fake both.
 */

export interface TurnClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Runs `run` after the current turn of the event loop (setImmediate). */
  defer(run: () => void): void;
}

export interface Turns {
  /** Queues one handling (a batch, a socket error); the handlings run in order, in coming turns. */
  push(handle: () => void): void;
  /**
   * Queues a step of a long job (inTurns). The steps run in order too, and
   * take turns with the handlings: while both wait, one of each.
   */
  pushStep(step: () => void): void;
  /** Handles everything queued, now (a socket thread's last batches, before its stop resolves). */
  drain(): void;
  /** Handlings and steps queued and not yet run. */
  readonly queued: number;
}

export const loopClock: TurnClock = {
  now: () => performance.now(),
  defer: (run) => {
    setImmediate(run);
  },
};

/**
 * How long the main thread handles its queue before its event loop goes
 * round: a batch of 512 datagrams takes it 1–3 ms, so mostly one.
 */
export const TURN_MS = 2;

export function createTurns(turnMs: number, clock: TurnClock = loopClock): Turns {
  const handlings: Array<() => void> = [];
  const steps: Array<() => void> = [];
  /** Whether a step goes before a handling next, when both wait: they alternate, across turns too. */
  let stepFirst = true;
  let scheduled = false;

  function schedule(): void {
    if (scheduled || handlings.length + steps.length === 0) return;
    scheduled = true;
    clock.defer(turn);
  }

  function next(): (() => void) | undefined {
    const step = steps.length > 0 && (stepFirst || handlings.length === 0);
    stepFirst = !step;
    return step ? steps.shift() : handlings.shift();
  }

  function turn(): void {
    scheduled = false;
    const until = clock.now() + turnMs;
    try {
      do {
        const handle = next();
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
      handlings.push(handle);
      schedule();
    },
    pushStep(step) {
      steps.push(step);
      schedule();
    },
    drain() {
      for (let handle = next(); handle !== undefined; handle = next()) handle();
    },
    get queued() {
      return handlings.length + steps.length;
    },
  };
}

let threadTurns: Turns | null = null;

/** This thread's turns: its batches and its jobs' steps share them. */
export function mainTurns(): Turns {
  threadTurns ??= createTurns(TURN_MS);
  return threadTurns;
}

/**
 * A long job, a step at a time: calls `step` until it returns true (done),
 * each call a step of `turns`, taking turns with its handlings. A
 * step should be short, about a millisecond: the client's views size a
 * page's part to take about 1 ms (PART_MS); a step of the urgent choice,
 * capped at PART_SCAN senders rather than timed, took 2.2–2.7 ms
 * (medians under tsx at 50,000 senders; docs/PERFORMANCE.md).
 * Resolves when done; rejects with what `step` threw, and calls it no
 * more.
 */
export function inTurns(step: () => boolean, turns: Turns = mainTurns()): Promise<void> {
  return new Promise((resolve, reject) => {
    const next = (): void => {
      let done: boolean;
      try {
        done = step();
      } catch (err) {
        reject(err);
        return;
      }
      if (done) resolve();
      else turns.pushStep(next);
    };
    turns.pushStep(next);
  });
}
