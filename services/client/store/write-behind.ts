/**
 * Write-behind of the tracker into the state file: never per datagram. What
 * changed is written at most once a second, and at once (on the next turn
 * of the event loop) after a state change, in one transaction. A failed
 * write is logged and retried with the next one: its rows are kept (one per
 * sender, so bounded by MAX_SENDERS) and so are its incidents (bounded;
 * beyond the bound the oldest are dropped and counted).
 */
import type { Logger } from 'pino';
import type { StateChange, Tracker } from '../tracking/tracker.js';
import { toRow } from './sender-codec.js';
import type { IncidentRow, StateFile, StoredSenderRow } from './state-file.js';

const MAX_PENDING_INCIDENTS = 100_000;

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
  let soon: NodeJS.Immediate | null = null;
  const stats: WriteBehindStats = { writes: 0, failures: 0, incidentsDropped: 0, lastWriteMs: 0 };

  function flush(): void {
    if (soon !== null) {
      clearImmediate(soon);
      soon = null;
    }
    const dirty = tracker.takeDirty();
    for (const sender of dirty.changed) {
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

  const timer = setInterval(flush, options.intervalMs);
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
      soon ??= setImmediate(flush);
    },
    flush,
    stats,
    stop() {
      clearInterval(timer);
      flush();
      file.close(options.now());
    },
  };
}
