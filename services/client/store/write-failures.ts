/**
 * Writes the state file refused (a full disk, a volume remounted read-only,
 * an I/O error), whichever part of the monitor wrote: the sync of the
 * senders (write-behind.ts), the notifications' records (notifier.ts), the
 * silences (maintenance.ts). Each is counted
 * (`udp_monitor_state_write_errors_total`) and logged as `store_error`, at
 * most a line a second, since a storm of state changes on a full disk would
 * otherwise make a line per change. The monitor keeps running: each writer
 * keeps what it could not write and tries again (docs/logs.md).
 */
import type { Logger } from 'pino';

/** The least time between two `store_error` lines. */
const LINE_EVERY_MS = 1000;

export interface WriteFailures {
  /** Refused writes so far, of every writer. */
  readonly count: number;
  /** A write was refused: counted, and logged unless a line went out less than a second ago. */
  failed(err: unknown): void;
  /**
   * Runs `write`: true once it went through. One the file refused
   * (isRefusedWrite()) is reported (failed()), and false returned for the
   * caller to keep what it wrote; anything else thrown is a bug, and goes on up.
   */
  tried(write: () => void): boolean;
}

export function createWriteFailures(logger: Logger, path: string, now: () => number): WriteFailures {
  let count = 0;
  let loggedAtMs = Number.NEGATIVE_INFINITY;
  function failed(err: unknown): void {
    count++;
    const nowMs = now();
    if (nowMs - loggedAtMs < LINE_EVERY_MS) return;
    loggedAtMs = nowMs;
    logger.error({ event: 'store_error', file: path, err }, 'state file write failed; retrying');
  }
  return {
    get count() {
      return count;
    },
    failed,
    tried(write) {
      try {
        write();
        return true;
      } catch (err) {
        if (!isRefusedWrite(err)) throw err;
        failed(err);
        return false;
      }
    },
  };
}

/**
 * SQLite's primary result codes of a write that its surroundings refused,
 * not its statement: SQLITE_PERM, BUSY, LOCKED, READONLY, IOERR, FULL,
 * CANTOPEN (https://sqlite.org/rescode.html).
 */
const REFUSALS = new Set([3, 5, 6, 8, 10, 13, 14]);

/**
 * Whether `err` is a write the file refused (a full disk, a read-only
 * volume, an I/O error, the lock held too long), which the writer survives
 * and tries again. Anything else thrown (a statement SQLite cannot run, a
 * TypeError) is a bug, and is not caught.
 */
export function isRefusedWrite(err: unknown): boolean {
  const e = err as { code?: unknown; errcode?: unknown } | null;
  return e?.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number' && REFUSALS.has(e.errcode & 0xff);
}
