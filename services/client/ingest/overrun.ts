/**
 * The monitor's own losses: datagrams dropped at its socket threads' full
 * queue, or by the kernel at the socket's full receive buffer. Either way
 * the monitor did not observe what was sent, so whatever any sender sent
 * that arrived in that time is unknown, not missing (`blind`), and the
 * monitor says so once per check (`overrun`). Checked before every
 * liveness judgement: a drop counted by then is covered.
 *
 * The time it was blind from: what a check is told was read and handled
 * (the receiver's heardUntil, read before the counts). A datagram that
 * arrived before then was handled, or its drop was counted before then
 * (thread-progress.ts; the kernel counts a drop as the datagram arrives),
 * so a drop first counted at the next check arrived after it.
 */
export interface DropCounts {
  queueDrops: number;
  kernelDrops: number;
}

export interface OverrunWatch {
  /**
   * Calls `overrun` (and returns true) when anything was dropped since the
   * last check. `heardUntilMs`: a time before which every datagram that
   * arrived has been handled, read before the counts.
   */
  check(nowMs: number, heardUntilMs: number): boolean;
}

export function createOverrunWatch(
  counts: () => DropCounts,
  overrun: (fromMs: number, nowMs: number, dropped: number, counts: DropCounts) => void,
): OverrunWatch {
  let seen = 0;
  // Before the first check: unknown, so from any time.
  let heardAtLastCheckMs = 0;
  return {
    check(nowMs, heardUntilMs) {
      const c = counts();
      const total = c.queueDrops + c.kernelDrops;
      const fromMs = heardAtLastCheckMs;
      heardAtLastCheckMs = Math.min(nowMs, heardUntilMs);
      if (total <= seen) return false;
      overrun(fromMs, nowMs, total - seen, c);
      seen = total;
      return true;
    },
  };
}
