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
 * So the thread vouches for a time before which everything that reached the
 * socket has been read. It knows two such moments:
 * - a poll that ended because the socket was empty. libuv reads at most
 *   READS_PER_POLL datagrams from a socket per poll of its loop; a poll that
 *   read fewer stopped at a read that found nothing, after the last one:
 *   everything that arrived before that last read has been read.
 * - a timer turn with no datagram read since the turn before. A loop
 *   iteration polls between two turns, and that poll found nothing: all that
 *   arrived before the earlier turn has been read.
 * A poll that read its fill (a backlog, after a pause) vouches for nothing:
 * the backlog may go on, and judgement waits until it is read.
 *
 * A datagram read after a vouch arrived after that vouch (had it arrived
 * before, it would have been read before), so the vouch in force when it is
 * read is a lower bound of its arrival: the watermark uses it, not the read
 * time, which after a pause is late for the whole backlog.
 */

/** How often the timer turns. */
export const READ_THROUGH_PERIOD_MS = 10;

/**
 * What libuv's uv__udp_recvmsg reads per poll of a socket at most (32 more
 * after the first; Node reads one datagram per recvmsg). A poll that read
 * fewer ended on a read that found the socket empty.
 */
export const READS_PER_POLL = 32;

export interface ReadThrough {
  /**
   * A datagram read at `atMs`. Returns the time it arrived no earlier than.
   * The caller calls endOfPoll() once the loop's poll is over (setImmediate
   * runs right after it).
   */
  read(atMs: number): number;
  /** After a poll that read datagrams: the datagrams read in it tell whether it found the socket empty. */
  endOfPoll(): void;
  /** Every READ_THROUGH_PERIOD_MS, on a timer. */
  turn(): void;
}

/**
 * `publish` gets every new vouch, never an earlier one. The first is `now()`
 * at creation: create it before the socket is bound, so nothing can have
 * arrived before it.
 */
export function readThrough(publish: (ms: number) => void, now: () => number): ReadThrough {
  let vouchedMs = now();
  publish(vouchedMs);
  let readInPoll = 0;
  let lastReadMs = vouchedMs;
  let readSinceTurn = false;
  let previousTurnMs = vouchedMs;

  function vouch(ms: number): void {
    if (ms <= vouchedMs) return;
    vouchedMs = ms;
    publish(ms);
  }

  return {
    read(atMs) {
      readInPoll++;
      lastReadMs = atMs;
      readSinceTurn = true;
      return vouchedMs;
    },
    endOfPoll() {
      if (readInPoll > 0 && readInPoll < READS_PER_POLL) vouch(lastReadMs);
      readInPoll = 0;
    },
    turn() {
      const nowMs = now();
      if (!readSinceTurn) vouch(previousTurnMs);
      readSinceTurn = false;
      previousTurnMs = nowMs;
    },
  };
}
