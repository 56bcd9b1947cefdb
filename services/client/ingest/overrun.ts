/**
 * The monitor's own losses: datagrams dropped at its socket threads' full
 * queue, or by the kernel at the socket's full receive buffer. Either way
 * the monitor did not observe what was sent, so whatever any sender sent
 * until the drop was seen is unknown, not missing (`blind`), and the monitor
 * says so once per check (`overrun`). Checked before every liveness
 * judgement: a drop counted by then is covered.
 */
export interface DropCounts {
  queueDrops: number;
  kernelDrops: number;
}

export interface OverrunWatch {
  /** Calls `overrun` (and returns true) when anything was dropped since the last check. */
  check(nowMs: number): boolean;
}

export function createOverrunWatch(
  counts: () => DropCounts,
  overrun: (nowMs: number, dropped: number, counts: DropCounts) => void,
): OverrunWatch {
  let seen = 0;
  return {
    check(nowMs) {
      const c = counts();
      const total = c.queueDrops + c.kernelDrops;
      if (total <= seen) return false;
      overrun(nowMs, total - seen, c);
      seen = total;
      return true;
    },
  };
}
