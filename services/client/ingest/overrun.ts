/**
 * The monitor's own losses: datagrams dropped at its socket threads' full
 * queue, or by the kernel at the socket's full receive buffer (not those
 * the kernel discarded as corrupt: fullBufferDrops()). Either way
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
  /** The socket's drops (kernel-drops.ts): at its full receive buffer, and of datagrams it discarded (a bad checksum). */
  kernelDrops: number;
  /**
   * The network namespace's UDP drops at a full buffer (readCapacityDrops());
   * null or absent: unknown, and every kernel drop is taken for one.
   */
  capacityDrops?: number | null;
}

export interface OverrunWatch {
  /**
   * Calls `overrun` (and returns true) when anything was dropped since the
   * last check. `heardUntilMs`: a time before which every datagram that
   * arrived has been handled, read before the counts.
   */
  check(nowMs: number, heardUntilMs: number): boolean;
}

/**
 * The kernel's drops of the socket that were at a full buffer, of `kernelDrops`
 * since the start: as many as the namespace counted at a full buffer since
 * the start (`capacitySinceStart`), at most. The rest were discarded for
 * another reason (a bad checksum): not the monitor behind, and no blind
 * time, or a trickle of corrupt datagrams would keep every sender from ever
 * going late or down. A namespace shared with other programs (a host's
 * network) can only make more of them count as the monitor's.
 */
export function fullBufferDrops(kernelDrops: number, capacitySinceStart: number | null): number {
  return capacitySinceStart === null ? kernelDrops : Math.min(kernelDrops, capacitySinceStart);
}

export function createOverrunWatch(
  counts: () => DropCounts,
  overrun: (fromMs: number, nowMs: number, dropped: number, counts: DropCounts) => void,
  /** Datagrams the kernel discarded, found at this check, for another reason than a full buffer. */
  discarded: (count: number) => void = () => {},
  /**
   * The namespace's count before the socket was made (its own count begins
   * with it): read before the bind, or the drops of a start that fell behind
   * at once would be taken for discarded ones. Absent: at the first check.
   */
  capacityBeforeSocket?: number | null,
): OverrunWatch {
  let capacityAtStart = capacityBeforeSocket;
  let seen = 0;
  let seenDiscarded = 0;
  /** The socket's count at the check before (see below). */
  let kernelBefore = 0;
  // Before the first check: unknown, so from any time.
  let heardAtLastCheckMs = 0;
  return {
    check(nowMs, heardUntilMs) {
      const c = counts();
      const capacity = c.capacityDrops ?? null;
      if (capacityAtStart === undefined) capacityAtStart = capacity;
      const sinceStart = capacity === null || capacityAtStart === null ? null : capacity - capacityAtStart;
      const behind = fullBufferDrops(c.kernelDrops, sinceStart);
      // The kernel counts a full buffer in the socket's drops, then in the namespace's (kernel-drops.ts): a drop
      // the socket's count shows may not be in the namespace's read just after. So the discarded are told a
      // check late, of the socket's count then, which the namespace's has caught up with since.
      const otherwise = kernelBefore - fullBufferDrops(kernelBefore, sinceStart);
      kernelBefore = c.kernelDrops;
      if (otherwise > seenDiscarded) {
        discarded(otherwise - seenDiscarded);
        seenDiscarded = otherwise;
      }
      const total = c.queueDrops + behind;
      const fromMs = heardAtLastCheckMs;
      heardAtLastCheckMs = Math.min(nowMs, heardUntilMs);
      if (total <= seen) return false;
      overrun(fromMs, nowMs, total - seen, c);
      seen = total;
      return true;
    },
  };
}
