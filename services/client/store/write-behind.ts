/**
 * Write-behind of the tracker into the state file: never per datagram, and
 * never a long hold of the event loop that reads the socket.
 *
 * - A state change reaches the file within STATE_CHANGE_DELAY_MS (the log's
 *   own flush delay): its incident and its sender's row, in one transaction;
 *   a flood of state changes makes a few transactions a second. (But for a
 *   new sender's first beat: see one-shot senders below.)
 * - Every other change of a sender (its counters, rings, last arrival) is
 *   synced within about `syncMs` (STATE_SYNC_INTERVAL): once a second the
 *   oldest-changed senders are written, as many as keep every sender within
 *   that period (waiting senders x 1 s / syncMs), in slices of SLICE_ROWS
 *   rows. N senders beating every second cost N x 1 s / syncMs rows a
 *   second: the default 1 s writes each of them every second, 30 s at
 *   50,000 senders about 1,700 a second.
 * - The writing is done by the sink, the writer thread (state-writer.ts),
 *   one slice at a time: this thread only encodes a slice's rows (about
 *   1.5 ms for SLICE_ROWS) and hands them over; the next slice follows when
 *   the previous one is committed.
 * - A clean stop waits for the slice being written, closes the sink and
 *   writes everything left on the store's own connection.
 *
 * A sender heard from once, for less than ONE_SHOT_MS, and not declared is
 * not written yet: a flood of spoofed one-shot sources (evicted within
 * moments) costs no rows, while a real sender is written with its second
 * datagram or ONE_SHOT_MS after its first. Its first_beat incident waits as
 * long (or until its next incident, or a reader asks for its incidents),
 * then goes with the next write, and is dropped if the sender is evicted
 * first: such a flood costs no incident rows either, and the incidents
 * table grows with the senders tracked (INCIDENTS_PER_SENDER each at most,
 * and an evicted one's go with it), not with the rate of the flood. A failed write is logged and retried with the
 * next one: its senders go back in the queue (one entry per sender, so
 * bounded by MAX_SENDERS) and so do its incidents (bounded; beyond the
 * bound the oldest are dropped and counted).
 */
import { inTurns } from '../../shared/turns.js';
import type { Sender } from '../tracking/sender.js';
import type { StateChange, Tracker } from '../tracking/tracker.js';
import { toRow } from './sender-codec.js';
import type { IncidentRow, StateFile, StateWrite } from './state-file.js';
import type { WriteFailures } from './write-failures.js';

const MAX_PENDING_INCIDENTS = 100_000;
const STATE_CHANGE_DELAY_MS = 100;
const ONE_SHOT_MS = 5000;
/**
 * Rows per transaction at most: this thread encodes them in about 1.5 ms on
 * a small machine, on a timer of its own (100 rows, ~3 ms, showed in the
 * main thread's late windows at 50,000 senders: docs/PERFORMANCE.md).
 */
export const SLICE_ROWS = 50;
/** Incidents per transaction at most. */
export const SLICE_INCIDENTS = 2000;
/** Changed senders the sync takes from the tracker per step of its collection (~0.3 ms). */
const COLLECT_STEP = 1000;

export interface WriteBehindStats {
  writes: number;
  failures: number;
  incidentsDropped: number;
  /** How long the latest write took its writer. */
  lastWriteMs: number;
}

/** Where the writes go: the writer thread (state-writer.ts). */
export interface StateSink {
  /** Resolves with the write's duration once committed; rejects when the file refused it. */
  write(batch: StateWrite): Promise<number>;
  /** Waits for what was handed over, then lets go of the file. */
  close(): Promise<void>;
}

export interface WriteBehind {
  /** Records state changes (before they are logged): they reach the file with the next write, which comes at once. */
  changes(changes: readonly StateChange[]): void;
  /**
   * Resolves once the incidents on their way when called are in the file
   * (their senders follow within 100 ms); with `source`, its first_beat too
   * (for a reader of its incidents).
   */
  flush(source?: string): Promise<void>;
  readonly stats: WriteBehindStats;
  /**
   * The slice being written, then a last write of everything, then the file
   * is closed as a clean stop (but if that write failed: the run was last
   * alive at its last write that went through).
   */
  stop(): Promise<void>;
  /**
   * For a start that failed before it observed anything: the slice being
   * written, no more, and the file closed as if this run had never begun.
   */
  abandon(): Promise<void>;
}

export interface WriteBehindOptions {
  /** How often the sync runs (1 s). */
  intervalMs: number;
  /** Every changed sender is written within about this long (STATE_SYNC_INTERVAL). */
  syncMs: number;
  now: () => number;
  /**
   * A time before which the tracker knows everything the monitor heard:
   * every datagram that arrived before it handled, every drop counted as a
   * blind time and taken in (monitor.ts; 0 before it listens). The file's
   * watermark is never later (watermark()).
   */
  heardUntil: () => number;
  /**
   * The file's watermark when it was opened (StateFile.recordedUntilMs): the
   * rows restored from it know no further, and until they are written
   * again, neither does the file.
   */
  openedWatermarkMs: number;
  /** The sources the file has rows of when the write-behind starts (the store read them to restore them). */
  rowsAtStart?: Iterable<string>;
  /** Where a refused write is counted and logged, with every other writer's (write-failures.ts). */
  failures: WriteFailures;
}

/** What one write took off the queues: put back if the write fails. */
interface Slice {
  batch: Sender[];
  /** Per sender of the batch, since when it had a change not in the file (unwrittenSince). */
  since: number[];
  stateChanged: string[];
  removed: string[];
  incidents: IncidentRow[];
  /** Senders of the batch that were taken on sync credit. */
  synced: number;
}

export function startWriteBehind(
  file: StateFile,
  sink: StateSink,
  tracker: Tracker,
  options: WriteBehindOptions,
): WriteBehind {
  // Senders changed since their last write, the longest-waiting first (a Map keeps insertion order).
  const waiting = new Map<string, Sender>();
  // Of those, the ones whose state changed: written with the next write, whatever their turn.
  const stateChanged = new Set<string>();
  const removed = new Set<string>();
  /**
   * The sources the file holds something of: a row (those the monitor
   * started with, and those written since) or incidents only (a one-shot's,
   * written before its row: for a reader of them, or with a state change
   * that came first). Only their removal is queued, so a flood of one-shot
   * sources evicted while the writes fail (a full disk) queues no removal at
   * all: `removed` is bounded by what the file holds, not by the flood.
   * Without the removal of those with incidents only, their incidents stayed
   * in the file, and the writer thread's count of them (state-writer.ts) in
   * its memory, for every such sender the flood brought.
   */
  const inFile = new Set<string>(options.rowsAtStart);
  /**
   * Per waiting source, a time its oldest change not in the file came after:
   * the collection before the one that took it (drainedAtMs then). In
   * ascending order (putBack() merges its slice back in order), for watermark().
   */
  let unwrittenSince = new Map<string, number>();
  /**
   * When a collection last took every changed sender from the tracker: every
   * change of a datagram that arrived before it is waiting, or written.
   */
  let drainedAtMs = Math.min(options.now(), options.openedWatermarkMs);
  /** The sources of the write in flight, which the file may hold something of once it commits. */
  let inFlight: ReadonlySet<string> = new Set();
  let incidents: IncidentRow[] = [];
  /** The first_beat incidents of senders new to the monitor, not written yet: one per tracked sender at most. */
  const firstBeats = new Map<string, IncidentRow>();
  let soon: NodeJS.Timeout | null = null;
  let continuing: NodeJS.Timeout | null = null;
  /** Settles when the write in flight does; null when none is. */
  let writing: Promise<void> | null = null;
  let stopped = false;
  /** Rows the sync may still write before the next interval. */
  let credit = 0;
  const stats: WriteBehindStats = { writes: 0, failures: 0, incidentsDropped: 0, lastWriteMs: 0 };

  /**
   * Takes the changed senders from the tracker (at most `limit` of them, a
   * forgotten sender's place counted too): true when none is left.
   */
  function collect(limit = Number.POSITIVE_INFINITY): boolean {
    // A change the tracker has is of a datagram that arrived before what it knows of: on its clock.
    const startedAtMs = Math.min(options.now(), options.heardUntil());
    const evicted = tracker.takeDirty(wait, limit);
    const drained = tracker.changedQueued === 0;
    if (drained) drainedAtMs = Math.max(drainedAtMs, startedAtMs);
    for (const source of evicted) {
      unwrittenSince.delete(source);
      waiting.delete(source);
      stateChanged.delete(source);
      firstBeats.delete(source);
      if (inFile.has(source) || inFlight.has(source)) removed.add(source);
    }
    // (Usually none queued: a one-shot's first beat waits in firstBeats.)
    if (evicted.length > 0 && incidents.length > 0) forgetIncidents(new Set(evicted));
    return drained;
  }

  /** Evicted senders' history goes with them: those of their incidents still queued too (the writer deletes those in the file). */
  function forgetIncidents(gone: ReadonlySet<string>): void {
    let kept = 0;
    for (const incident of incidents) if (!gone.has(incident.source)) incidents[kept++] = incident;
    incidents.length = kept;
  }

  /**
   * A sender changed: it waits for the sync, its place in the queue kept if
   * it waits already. A new record of a source (forgotten and heard from
   * again) takes the old one's place.
   */
  function wait(sender: Sender): void {
    const { source } = sender;
    // Every waiting source has its time in unwrittenSince: one already waiting (most, at every
    // collection between two of its writes) costs one lookup, not three.
    if (waiting.get(source) !== sender) {
      waiting.set(source, sender);
      if (!unwrittenSince.has(source)) unwrittenSince.set(source, drainedAtMs);
    }
    if (removed.size > 0) removed.delete(source);
    // Heard from twice (or declared): no one-shot, its first beat goes now.
    if (sender.received > 1 || sender.declaration !== null) queueFirstBeat(source);
  }

  const isOneShot = (sender: Sender, youngSince: number) =>
    sender.received === 1 && sender.declaration === null && sender.lastSeenMs > youngSince;

  /**
   * Takes one write's worth off the queues: at most SLICE_ROWS senders and
   * SLICE_INCIDENTS incidents: the pending incidents, each with its sender's
   * row (a state change and its sender's record go in one transaction, so a
   * crash never brings a sender back as it was before a change its incidents
   * record), as many as their rows fit; the evictions; the other senders
   * whose state changed; then (while sync credit lasts) the longest-waiting
   * others. `incidents`: the incidents and their senders only (for a reader
   * of incidents); `everything`: all of it (a clean stop).
   */
  function takeSlice(mode: 'slice' | 'incidents' | 'everything'): Slice {
    collect();
    const everything = mode === 'everything';
    const youngSince = options.now() - ONE_SHOT_MS;
    const rows = everything ? Number.POSITIVE_INFINITY : SLICE_ROWS;
    const slice: Slice = {
      batch: [],
      since: [],
      stateChanged: [],
      removed: [...removed],
      incidents: [],
      synced: 0,
    };
    const inSlice = new Set<string>();
    /** A sender whose state changed, off that queue: its row goes with this write (a one-shot's later). */
    const takeChanged = (source: string) => {
      inSlice.add(source);
      slice.stateChanged.push(source);
      const sender = waiting.get(source);
      if (sender !== undefined && (everything || !isOneShot(sender, youngSince))) slice.batch.push(sender);
    };
    const maxIncidents = everything ? Number.POSITIVE_INFINITY : SLICE_INCIDENTS;
    let taken = 0;
    for (; taken < Math.min(maxIncidents, incidents.length); taken++) {
      const { source } = incidents[taken] as IncidentRow;
      if (!stateChanged.has(source) || inSlice.has(source)) continue;
      if (slice.batch.length >= rows) break;
      takeChanged(source);
    }
    const queuedBefore = incidents.length;
    if (mode !== 'incidents') {
      for (const source of stateChanged) {
        if (slice.batch.length >= rows) break;
        if (!inSlice.has(source)) takeChanged(source);
      }
      for (const sender of waiting.values()) {
        if (slice.batch.length >= rows || (!everything && slice.synced >= credit)) break;
        if (stateChanged.has(sender.source)) continue; // in this batch already, or a one-shot
        if (!everything && isOneShot(sender, youngSince)) continue;
        slice.batch.push(sender);
        slice.synced++;
      }
    }
    // A sender's first_beat goes with its first row (no other incident of it is queued: one would have
    // taken it), or once it is no one-shot: ONE_SHOT_MS old (in the order they came), or heard again (wait()).
    if (everything) {
      for (const first of firstBeats.values()) incidents.push(first);
      firstBeats.clear();
    } else {
      for (const sender of slice.batch) queueFirstBeat(sender.source);
      for (const [source, first] of firstBeats) {
        if (first.atMs > youngSince) break;
        firstBeats.delete(source);
        incidents.push(first);
      }
    }
    // Every incident queued before went: the first beats queued just now go too.
    if (taken === queuedBefore) taken = Math.min(maxIncidents, incidents.length);
    slice.incidents = incidents.splice(0, taken);
    // Off the queues now: a sender that changes again while this is written is queued again, at the back.
    for (const sender of slice.batch) {
      waiting.delete(sender.source);
      slice.since.push(unwrittenSince.get(sender.source) ?? drainedAtMs);
      unwrittenSince.delete(sender.source);
    }
    for (const source of slice.stateChanged) stateChanged.delete(source);
    removed.clear();
    credit = Math.max(0, credit - slice.synced);
    return slice;
  }

  /**
   * The file's watermark once the slice taken last is in: every change of a
   * sender before it is in the file. Not past the last full collection
   * (changes since may still be in the tracker), the oldest change still
   * waiting, what the tracker knows of what the monitor heard, nor the
   * write's own time `atMs`.
   */
  function watermark(atMs: number): number {
    const oldestWaiting = unwrittenSince.values().next();
    return Math.min(
      drainedAtMs,
      oldestWaiting.done === true ? Number.POSITIVE_INFINITY : oldestWaiting.value,
      options.heardUntil(),
      atMs,
    );
  }

  function encode(slice: Slice): StateWrite {
    const atMs = options.now();
    // Even with nothing to write, the run's alive time moves on: a later start measures its gap from it.
    return {
      senders: slice.batch.map(toRow),
      removed: slice.removed,
      incidents: slice.incidents,
      atMs,
      recordedUntilMs: watermark(atMs),
    };
  }

  /** A write failed: what it took goes back, to be written with the next one. */
  function putBack(slice: Slice, err: unknown, ms: number): void {
    stats.failures++;
    stats.lastWriteMs = ms;
    options.failures.failed(err);
    // Back through the tracker, which takes a record only while it is still the source's own: one
    // forgotten meanwhile has its removal queued already, and must not be written after it.
    // Their changes are not in the file still, since when they were (those still tracked: a forgotten
    // one's removal is queued, and it would hold the watermark back for good).
    const back: Array<[string, number]> = [];
    slice.batch.forEach((sender, i) => {
      if (tracker.markDirty(sender)) back.push([sender.source, slice.since[i] as number]);
    });
    unwrittenSince = withPutBack(unwrittenSince, back);
    for (const source of slice.stateChanged) stateChanged.add(source);
    // Removed again since only if it did not come back meanwhile.
    for (const source of slice.removed) if (!waiting.has(source)) removed.add(source);
    // Back in front, in order. Not spread into one call: a clean stop's slice holds every incident queued
    // (up to MAX_PENDING_INCIDENTS) and every first beat held back, past the ~120,000 arguments a call takes.
    incidents = slice.incidents.concat(incidents);
    trimIncidents();
    credit += slice.synced;
  }

  /** The sender's first_beat incident, if it waits still, goes in the queue of incidents. */
  function queueFirstBeat(source: string): void {
    if (firstBeats.size === 0) return; // (the common case: every changed sender of a sync comes here)
    const first = firstBeats.get(source);
    if (first === undefined) return;
    firstBeats.delete(source);
    incidents.push(first);
  }

  /**
   * A write is in the file: its rows upserted and its incidents added (`written`: their sources), then its
   * removals deleted (state-writer.ts).
   */
  function committed(batch: StateWrite, written: ReadonlySet<string>): void {
    for (const source of written) inFile.add(source);
    for (const source of batch.removed) inFile.delete(source);
    inFlight = new Set();
  }

  function trimIncidents(): void {
    if (incidents.length <= MAX_PENDING_INCIDENTS) return;
    const excess = incidents.length - MAX_PENDING_INCIDENTS;
    incidents.splice(0, excess);
    stats.incidentsDropped += excess;
  }

  /**
   * Hands a slice to the sink, and returns how many incidents it carries.
   * Once it is written, `then` learns whether more is due and how long the
   * slice took to encode here (not after a failure: the next interval
   * retries).
   */
  function send(mode: 'slice' | 'incidents', then: (more: boolean, encodeMs: number) => void): number {
    const slice = takeSlice(mode);
    const full = slice.batch.length >= SLICE_ROWS;
    const started = performance.now();
    const batch = encode(slice);
    const encodeMs = performance.now() - started;
    const written = sourcesWritten(batch);
    inFlight = written;
    writing = sink.write(batch).then(
      (ms) => {
        writing = null;
        committed(batch, written);
        stats.writes++;
        stats.lastWriteMs = ms;
        if (mode === 'slice' && !full) credit = 0; // every sender the sync could take is written
        collect();
        then(stateChanged.size > 0 || incidents.length > 0 || (credit > 0 && full), encodeMs);
      },
      (err: unknown) => {
        writing = null;
        inFlight = new Set();
        putBack(slice, err, performance.now() - started);
      },
    );
    return slice.incidents.length;
  }

  /**
   * Writes what is due a slice at a time, each after the previous one is
   * committed and a pause as long as its encoding took: a storm of changes
   * (50,000 senders seen at once) takes at most half of this thread.
   */
  function pump(): void {
    continuing = null;
    if (soon !== null) {
      clearTimeout(soon);
      soon = null;
    }
    if (stopped || writing !== null) return;
    send('slice', (more, encodeMs) => {
      if (!stopped && more) continuing ??= setTimeout(pump, Math.ceil(encodeMs));
    });
  }

  // A second's changes of 50,000 senders take ~12 ms to collect: the sync collects them a step at a time.
  let collecting = false;
  const collectStep = () => stopped || collect(COLLECT_STEP);

  /** No more writes begin; the one in flight ends, and the thread that writes them. */
  async function halt(): Promise<void> {
    stopped = true;
    clearInterval(timer);
    if (soon !== null) clearTimeout(soon);
    if (continuing !== null) clearTimeout(continuing);
    await writing;
    await sink.close();
  }
  const timer = setInterval(() => {
    if (collecting) return;
    collecting = true;
    void inTurns(collectStep).then(() => {
      collecting = false;
      if (stopped) return;
      // As many as keep every waiting sender within syncMs, at least one.
      credit = Math.min(
        waiting.size,
        credit + Math.ceil((waiting.size * options.intervalMs) / options.syncMs),
      );
      if (continuing === null) pump();
    });
  }, options.intervalMs);
  timer.unref();

  return {
    changes(changes) {
      for (const c of changes) {
        const incident = { source: c.source, from: c.from, to: c.to, reason: c.reason, atMs: c.atMs };
        stateChanged.add(c.source);
        if (c.from === null) {
          firstBeats.set(c.source, incident);
          continue;
        }
        queueFirstBeat(c.source);
        incidents.push(incident);
      }
      trimIncidents();
      if (continuing === null) soon ??= setTimeout(pump, STATE_CHANGE_DELAY_MS);
    },
    async flush(source) {
      if (source !== undefined) queueFirstBeat(source);
      // The incidents pending now, and no more: a reader does not wait for a storm that goes on.
      let left = incidents.length;
      while (!stopped) {
        if (writing !== null) {
          await writing;
          continue;
        }
        if (left <= 0 || incidents.length === 0) return;
        const failuresBefore = stats.failures;
        left -= send('incidents', () => {});
        await writing;
        if (stats.failures !== failuresBefore) return; // the reader gets what the file has
      }
    },
    stats,
    async stop() {
      if (stopped) return;
      await halt();
      const slice = takeSlice('everything');
      try {
        file.write(encode(slice));
        stats.writes++;
      } catch (err) {
        putBack(slice, err, 0);
        file.close(null);
        return;
      }
      file.close(options.now());
    },
    async abandon() {
      if (stopped) return;
      await halt();
      file.abandon();
    },
  };
}

/** The sources a write gives the file something of: a row, or an incident. */
function sourcesWritten(batch: StateWrite): Set<string> {
  const sources = new Set<string>();
  for (const row of batch.senders) sources.add(row.source);
  for (const incident of batch.incidents) sources.add(incident.source);
  return sources;
}

/**
 * `waiting` (in ascending order of time) with the entries of `back` among
 * them, still in ascending order: a source in both keeps the earlier time.
 * Sorts `back` (one write's slice) and merges, instead of sorting them all.
 */
export function withPutBack(
  waiting: ReadonlyMap<string, number>,
  back: Array<[string, number]>,
): Map<string, number> {
  for (const entry of back) entry[1] = Math.min(entry[1], waiting.get(entry[0]) ?? entry[1]);
  back.sort((a, b) => a[1] - b[1]);
  const comingBack = new Set(back.map(([source]) => source));
  const merged = new Map<string, number>();
  let next = 0;
  for (const [source, at] of waiting) {
    if (comingBack.has(source)) continue;
    for (; next < back.length && (back[next] as [string, number])[1] < at; next++) {
      const [b, bAt] = back[next] as [string, number];
      merged.set(b, bAt);
    }
    merged.set(source, at);
  }
  for (; next < back.length; next++) {
    const [b, bAt] = back[next] as [string, number];
    merged.set(b, bAt);
  }
  return merged;
}
