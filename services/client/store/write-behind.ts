/**
 * Write-behind of the tracker into the state file: never per datagram. What
 * changed is written at most once a second, and soon (within
 * STATE_CHANGE_DELAY_MS, the log's own flush delay) after a state change,
 * in one transaction: a flood of state changes makes a few transactions a
 * second, not one per event-loop turn. A sender heard from once, for less
 * than ONE_SHOT_MS, and not declared is not written yet: a flood of spoofed
 * one-shot sources (evicted within moments) costs no rows, while a real
 * sender is written with its second datagram or ONE_SHOT_MS after its
 * first; its first_beat incident is written at once either way. A failed
 * write is logged and retried with the next one: its rows are kept (one per
 * sender, so bounded by MAX_SENDERS) and so are its incidents (bounded;
 * beyond the bound the oldest are dropped and counted).
 */
import type { Logger } from 'pino';
import type { StateChange, Tracker } from '../tracking/tracker.js';
import { toRow } from './sender-codec.js';
import type { IncidentRow, StateFile, StoredSenderRow } from './state-file.js';

const MAX_PENDING_INCIDENTS = 100_000;
const STATE_CHANGE_DELAY_MS = 100;
const ONE_SHOT_MS = 5000;

export interface WriteBehindStats {
  writes: number;
  failures: number;
  incidentsDropped: number;
  lastWriteMs: number;
}

export interface WriteBehind {
  /** Records state changes (before they are logged): they reach the file with the next write, which comes at once. */
  changes(changes: readonly StateChange[]): void;
  /** Writes what changed, now. */
  flush(): void;
  readonly stats: WriteBehindStats;
  /** A last write, then the file is closed as a clean stop. */
  stop(): void;
}

export function startWriteBehind(
  file: StateFile,
  tracker: Tracker,
  logger: Logger,
  options: { intervalMs: number; now: () => number },
): WriteBehind {
  const rows = new Map<string, StoredSenderRow>();
  const removed = new Set<string>();
  let incidents: IncidentRow[] = [];
  let soon: NodeJS.Timeout | null = null;
  const stats: WriteBehindStats = { writes: 0, failures: 0, incidentsDropped: 0, lastWriteMs: 0 };

  /** `everything`: also the senders heard from once (a clean stop writes them all). */
  function flush(everything = false): void {
    if (soon !== null) {
      clearTimeout(soon);
      soon = null;
    }
    const dirty = tracker.takeDirty();
    const youngSince = options.now() - ONE_SHOT_MS;
    for (const sender of dirty.changed) {
      const oneShot = sender.received === 1 && sender.declaration === null && sender.lastSeenMs > youngSince;
      if (!everything && oneShot) {
        tracker.markDirty(sender);
        continue;
      }
      rows.set(sender.source, toRow(sender));
      removed.delete(sender.source);
    }
    for (const source of dirty.removed) {
      rows.delete(source);
      removed.add(source);
    }
    const started = performance.now();
    try {
      file.write({ senders: [...rows.values()], removed: [...removed], incidents, atMs: options.now() });
      rows.clear();
      removed.clear();
      incidents = [];
      stats.writes++;
    } catch (err) {
      stats.failures++;
      logger.error({ event: 'store_error', file: file.path, err }, 'state file write failed; retrying');
    }
    stats.lastWriteMs = performance.now() - started;
  }

  const timer = setInterval(() => flush(), options.intervalMs);
  timer.unref();

  return {
    changes(changes) {
      for (const c of changes)
        incidents.push({ source: c.source, from: c.from, to: c.to, reason: c.reason, atMs: c.atMs });
      if (incidents.length > MAX_PENDING_INCIDENTS) {
        const excess = incidents.length - MAX_PENDING_INCIDENTS;
        incidents.splice(0, excess);
        stats.incidentsDropped += excess;
      }
      soon ??= setTimeout(() => flush(), STATE_CHANGE_DELAY_MS);
    },
    flush,
    stats,
    stop() {
      clearInterval(timer);
      flush(true);
      file.close(options.now());
    },
  };
}
