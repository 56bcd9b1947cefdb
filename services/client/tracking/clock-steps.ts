/**
 * Steps of the wall clock the monitor judges by (Date.now(): the receive
 * stamps, the deadlines), found by comparing how far it moved between two
 * looks (before each batch of datagrams is handled, and at each liveness
 * tick) with how far the monotonic clock did: an NTP step, a clock set by
 * hand, a virtual machine's clock put right after a pause.
 * A slew (NTP's usual way) never comes near the threshold.
 *
 * A step forward would make every sender look silent for its length, and
 * send them all late or down at once (and notify) though none stopped: the
 * monitor takes that time as blind, as it takes its own drops (overrun.ts),
 * so no sender goes late or down before it + its interval + grace. A step
 * back makes a sender that stops then go late that much later (its
 * deadline stays on the clock as it was): logged, not corrected.
 */

/** A step smaller than this is no step: the ticks' own jitter and a slewing clock stay far below it. */
export const CLOCK_STEP_MS = 1000;

export interface ClockStepWatch {
  /**
   * The clocks at a tick: how far the wall clock stepped since the last look
   * (positive: forward), or 0 when it kept pace with the monotonic one.
   */
  look(wallMs: number, monotonicMs: number): number;
}

export function createClockStepWatch(thresholdMs = CLOCK_STEP_MS): ClockStepWatch {
  let last: { wallMs: number; monotonicMs: number } | null = null;
  return {
    look(wallMs, monotonicMs) {
      const previous = last;
      last = { wallMs, monotonicMs };
      if (previous === null) return 0;
      const step = wallMs - previous.wallMs - (monotonicMs - previous.monotonicMs);
      return Math.abs(step) >= thresholdMs ? step : 0;
    },
  };
}
