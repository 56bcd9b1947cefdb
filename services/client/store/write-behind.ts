/**
 * Write-behind of the tracker into the state file: never per datagram, and
 * never a long hold of the event loop that reads the socket.
 *
 * - A state change reaches the file within STATE_CHANGE_DELAY_MS (the log's
 *   own flush delay): its incident and its sender's row, in one transaction;
 *   a flood of state changes makes a few transactions a second.
 * - Every other change of a sender (its counters, rings, last arrival) is
 *   synced within about `syncMs` (STATE_SYNC_INTERVAL): once a second the
 *   oldest-changed senders are written, as many as keep every sender within
 *   that period (waiting senders x 1 s / syncMs), in slices of SLICE_ROWS
 *   rows with a pause as long as the slice in between (the socket is read
 *   meanwhile; a storm of changes takes at most half the thread). N
 *   senders beating every second cost N x 1 s / syncMs rows a second: the
 *   default 1 s writes each of them every second, 30 s at 50,000 senders
 *   about 1,700 a second.
 * - A clean stop writes everything.
 *
 * A sender heard from once, for less than ONE_SHOT_MS, and not declared is
 * not written yet: a flood of spoofed one-shot sources (evicted within
 * moments) costs no rows, while a real sender is written with its second
 * datagram or ONE_SHOT_MS after its first; its first_beat incident is
 * written at once either way. A failed write is logged and retried with the
 * next one: its senders stay queued (one entry per sender, so bounded by
 * MAX_SENDERS) and so do its incidents (bounded; beyond the bound the
 * oldest are dropped and counted).
 */
import type { Logger } from 'pino';
import type { Sender } from '../tracking/sender.js';
import type { StateChange, Tracker } from '../tracking/tracker.js';
import { toRow } from './sender-codec.js';
import type { IncidentRow, StateFile } from './state-file.js';

const MAX_PENDING_INCIDENTS = 100_000;
const STATE_CHANGE_DELAY_MS = 100;
const ONE_SHOT_MS = 5000;
/** Rows per transaction at most: about 10 ms of writing on a small machine. */
export const SLICE_ROWS = 250;
/** Incidents per transaction at most. */
export const SLICE_INCIDENTS = 2000;

export interface WriteBehindStats {
  writes: number;
  failures: number;
  incidentsDropped: number;
  lastWriteMs: number;
}

export interface WriteBehind {
  /** Records state changes (before they are logged): they reach the file with the next write, which comes at once. */
  changes(changes: readonly StateChange[]): void;
  /** Writes the incidents still on their way, now (their senders follow within 100 ms). */
  flush(): void;
  readonly stats: WriteBehindStats;
  /** A last write of everything, then the file is closed as a clean stop. */
  stop(): void;
}

export interface WriteBehindOptions {
  /** How often the sync runs (1 s). */
  intervalMs: number;
  /** Every changed sender is written within about this long (STATE_SYNC_INTERVAL). */
  syncMs: number;
  now: () => number;
}

export function startWriteBehind(
  file: StateFile,
  tracker: Tracker,
  logger: Logger,
  options: WriteBehindOptions,
): WriteBehind {
  // Senders changed since their last write, the longest-waiting first (a Map keeps insertion order).
  const waiting = new Map<string, Sender>();
  // Of those, the ones whose state changed: written with the next write, whatever their turn.
  const stateChanged = new Set<string>();
  const removed = new Set<string>();
  const incidents: IncidentRow[] = [];
  let soon: NodeJS.Timeout | null = null;
  let continuing: NodeJS.Timeout | null = null;
  /** Rows the sync may still write before the next interval. */
  let credit = 0;
  const stats: WriteBehindStats = { writes: 0, failures: 0, incidentsDropped: 0, lastWriteMs: 0 };

  function collect(): void {
    const dirty = tracker.takeDirty();
    for (const sender of dirty.changed) {
      if (!waiting.has(sender.source)) waiting.set(sender.source, sender);
      removed.delete(sender.source);
    }
    for (const source of dirty.removed) {
      waiting.delete(source);
      stateChanged.delete(source);
      removed.add(source);
    }
  }

  const isOneShot = (sender: Sender, youngSince: number) =>
    sender.received === 1 && sender.declaration === null && sender.lastSeenMs > youngSince;

  /**
   * One transaction of at most SLICE_ROWS senders and SLICE_INCIDENTS
   * incidents: the pending incidents and evictions, the senders whose state
   * changed, then (while sync credit lasts) the longest-waiting others.
   * `incidents`: no senders (for a reader of incidents); `everything`: all
   * of it in one transaction (a clean stop). True while more is due.
   */
  function writeSlice(mode: 'slice' | 'incidents' | 'everything'): boolean {
    collect();
    const everything = mode === 'everything';
    const youngSince = options.now() - ONE_SHOT_MS;
    const rows = everything ? Number.POSITIVE_INFINITY : mode === 'incidents' ? 0 : SLICE_ROWS;
    const batch: Sender[] = [];
    const taken: string[] = [];
    for (const source of stateChanged) {
      if (batch.length >= rows) break;
      taken.push(source);
      const sender = waiting.get(source);
      if (sender !== undefined && (everything || !isOneShot(sender, youngSince))) batch.push(sender);
    }
    let synced = 0;
    for (const sender of waiting.values()) {
      if (batch.length >= rows || (!everything && synced >= credit)) break;
      if (stateChanged.has(sender.source)) continue; // in this batch already, or a one-shot
      if (!everything && isOneShot(sender, youngSince)) continue;
      batch.push(sender);
      synced++;
    }
    const incidentCount = everything ? incidents.length : Math.min(incidents.length, SLICE_INCIDENTS);
    const started = performance.now();
    try {
      // Even with nothing to write, the run's alive time moves on: a later start measures its gap from it.
      file.write({
        senders: batch.map(toRow),
        removed: [...removed],
        incidents: incidents.slice(0, incidentCount),
        atMs: options.now(),
      });
    } catch (err) {
      stats.failures++;
      stats.lastWriteMs = performance.now() - started;
      logger.error({ event: 'store_error', file: file.path, err }, 'state file write failed; retrying');
      return false;
    }
    stats.lastWriteMs = performance.now() - started;
    stats.writes++;
    // Written: off the queue. A sender that changes again is queued again, at the back.
    for (const sender of batch) waiting.delete(sender.source);
    for (const source of taken) stateChanged.delete(source);
    incidents.splice(0, incidentCount);
    removed.clear();
    credit = Math.max(0, credit - synced);
    if (mode === 'incidents') return incidents.length > 0;
    const full = batch.length >= rows;
    if (!full) credit = 0; // every sender the sync could take is written
    return stateChanged.size > 0 || incidents.length > 0 || (credit > 0 && full);
  }

  /**
   * Writes what is due a slice at a time. Between slices it pauses as long
   * as the slice took: the socket is read meanwhile, and a storm of state
   * changes (50,000 senders seen at once) takes at most half the thread.
   */
  function pump(): void {
    continuing = null;
    if (soon !== null) {
      clearTimeout(soon);
      soon = null;
    }
    if (writeSlice('slice')) continuing = setTimeout(pump, Math.max(1, Math.ceil(stats.lastWriteMs)));
  }

  const timer = setInterval(() => {
    collect();
    // As many as keep every waiting sender within syncMs, at least one.
    credit = Math.min(waiting.size, credit + Math.ceil((waiting.size * options.intervalMs) / options.syncMs));
    if (continuing === null) pump();
  }, options.intervalMs);
  timer.unref();

  /** For a reader of incidents: every incident on its way, written now (their senders follow in slices). */
  function flush(): void {
    while (writeSlice('incidents')) {}
  }

  return {
    changes(changes) {
      for (const c of changes) {
        incidents.push({ source: c.source, from: c.from, to: c.to, reason: c.reason, atMs: c.atMs });
        stateChanged.add(c.source);
      }
      if (incidents.length > MAX_PENDING_INCIDENTS) {
        const excess = incidents.length - MAX_PENDING_INCIDENTS;
        incidents.splice(0, excess);
        stats.incidentsDropped += excess;
      }
      if (continuing === null) soon ??= setTimeout(pump, STATE_CHANGE_DELAY_MS);
    },
    flush,
    stats,
    stop() {
      clearInterval(timer);
      if (soon !== null) clearTimeout(soon);
      if (continuing !== null) clearTimeout(continuing);
      writeSlice('everything');
      file.close(options.now());
    },
  };
}
