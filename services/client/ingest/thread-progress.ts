/**
 * What a socket thread and the tracking thread tell each other without a
 * message, so it is current the moment it changes: in shared memory, with
 * Atomics (a drop counted before the watermark moves past it is seen before
 * it, too).
 *   watermark: a time the oldest datagram not yet handled arrived no
 *              earlier than (NONE_WAITING when nothing waits);
 *   drops:     datagrams dropped because the queue was full, since start;
 *   wakeups:   datagrams that found the thread idle (read-coalescing.ts), since start;
 *   handled:   batches the tracking thread has handled, since start (written
 *              by it, the one cell that is): the socket thread's queue
 *              lets go of them and hands over the next ones, with no
 *              message to carry the news and wake it for it;
 *   readThrough: a time before which every datagram that reached the socket
 *              has been read (read-through.ts): a socket thread that gets no
 *              core, or pauses, holds silence back from being judged past
 *              what it has not looked at.
 */
const WATERMARK = 0;
const DROPS = 1;
const WAKEUPS = 2;
const HANDLED = 3;
const READ_THROUGH = 4;
const CELLS = 5;
/** No datagram waits: nothing held back from judging. */
const NONE_WAITING = 2n ** 62n;

export interface ThreadProgress {
  readonly buffer: SharedArrayBuffer;
  /** ms, or +Infinity when nothing waits. */
  watermark(): number;
  setWatermark(ms: number): void;
  drops(): number;
  addDrop(): void;
  wakeups(): number;
  addWakeup(): void;
  handled(): number;
  addHandled(): void;
  /** ms. */
  readThrough(): number;
  setReadThrough(ms: number): void;
}

export function threadProgress(
  buffer = new SharedArrayBuffer(CELLS * BigInt64Array.BYTES_PER_ELEMENT),
): ThreadProgress {
  const cells = new BigInt64Array(buffer);
  return {
    buffer,
    watermark() {
      const ms = Atomics.load(cells, WATERMARK);
      return ms === NONE_WAITING ? Number.POSITIVE_INFINITY : Number(ms);
    },
    setWatermark(ms) {
      Atomics.store(cells, WATERMARK, Number.isFinite(ms) ? BigInt(ms) : NONE_WAITING);
    },
    drops() {
      return Number(Atomics.load(cells, DROPS));
    },
    addDrop() {
      Atomics.add(cells, DROPS, 1n);
    },
    wakeups() {
      return Number(Atomics.load(cells, WAKEUPS));
    },
    addWakeup() {
      Atomics.add(cells, WAKEUPS, 1n);
    },
    handled() {
      return Number(Atomics.load(cells, HANDLED));
    },
    addHandled() {
      Atomics.add(cells, HANDLED, 1n);
    },
    readThrough() {
      return Number(Atomics.load(cells, READ_THROUGH));
    },
    setReadThrough(ms) {
      Atomics.store(cells, READ_THROUGH, BigInt(ms));
    },
  };
}
