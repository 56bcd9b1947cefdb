import { describe, expect, it } from 'vitest';
import { READS_PER_POLL, readThrough } from '../../services/client/ingest/read-through.js';
import { threadProgress } from '../../services/client/ingest/thread-progress.js';

/** A socket thread's reads on a fake clock: what it vouched for, as the tracking thread reads it. */
function setUp(startMs: number) {
  let now = startMs;
  const progress = threadProgress();
  const reads = readThrough(progress.setReadThrough, () => now);
  return {
    reads,
    at: (ms: number) => {
      now = ms;
    },
    /** The timer's turn at `ms`. */
    turnAt: (ms: number) => {
      now = ms;
      reads.turn();
    },
    /** n datagrams read in one poll, 1 ms apart from `fromMs`; each one's lower bound of arrival. */
    poll: (fromMs: number, n: number) => {
      const bounds: number[] = [];
      for (let i = 0; i < n; i++) {
        now = fromMs + i;
        bounds.push(reads.read(now));
      }
      reads.endOfPoll();
      return bounds;
    },
    vouched: () => progress.readThrough(),
  };
}

describe('read-through (a socket thread never lets silence be judged past what it has not read)', () => {
  it('vouches for its creation first: the socket is bound after it', () => {
    const t = setUp(1_000);
    expect(t.vouched()).toBe(1_000);
  });

  it('a timer turn with nothing read since the turn before vouches for that turn', () => {
    const t = setUp(1_000);
    t.turnAt(1_010);
    // The loop has polled since creation and found nothing; not necessarily since this turn.
    expect(t.vouched()).toBe(1_000);
    t.turnAt(1_020);
    expect(t.vouched()).toBe(1_010);
  });

  it('a poll that found the socket empty vouches for its last read', () => {
    const t = setUp(1_000);
    t.poll(1_005, 3);
    expect(t.vouched()).toBe(1_007);
  });

  it('a poll that read its fill vouches for nothing, and neither does a turn after it: the backlog may go on', () => {
    const t = setUp(1_000);
    t.turnAt(1_010);
    t.poll(3_000, READS_PER_POLL);
    t.turnAt(3_100);
    expect(t.vouched()).toBe(1_000);
    t.poll(3_200, READS_PER_POLL);
    t.turnAt(3_300);
    expect(t.vouched()).toBe(1_000);
    // The backlog's last poll reads fewer: everything before its last read has been read.
    t.poll(3_400, 5);
    expect(t.vouched()).toBe(3_404);
  });

  it('a thread that gets no turn vouches for nothing newer, however late the clock', () => {
    const t = setUp(5_000);
    t.turnAt(5_010);
    t.turnAt(5_020);
    expect(t.vouched()).toBe(5_010);
    // Held for 4 s: the clock moves, the vouch does not; the first turn after vouches for the one before.
    t.at(9_020);
    expect(t.vouched()).toBe(5_010);
    t.reads.turn();
    expect(t.vouched()).toBe(5_020);
  });

  it('each datagram is stamped with the vouch in force when it is read, not its read time', () => {
    const t = setUp(1_000);
    t.turnAt(1_010);
    t.turnAt(1_020);
    // After a pause, a backlog read at 4 s arrived no earlier than the last vouch (1 010), no later than 4 s.
    const first = t.poll(4_000, READS_PER_POLL);
    expect(new Set(first)).toEqual(new Set([1_010]));
    const last = t.poll(4_100, 2);
    expect(last).toEqual([1_010, 1_010]);
    // Once the poll found the socket empty, datagrams read later arrived after its last read.
    expect(t.poll(4_200, 1)).toEqual([4_101]);
  });

  it('after a poll that found the socket empty, quiet turns go on from there', () => {
    const t = setUp(1_000);
    t.poll(2_000, 1);
    expect(t.vouched()).toBe(2_000);
    // A turn after a silent stretch whose previous turn was before that poll.
    t.turnAt(2_005);
    t.turnAt(2_015);
    expect(t.vouched()).toBe(2_005);
    t.turnAt(2_025);
    expect(t.vouched()).toBe(2_015);
  });
});
