/**
 * The monitor's memory across its own restarts: opens the state file, puts
 * the stored senders back into the tracker (with the restart rules of
 * tracker.restore), and keeps the file up to date behind the tracker.
 */
import type { Logger } from 'pino';
import { PRINTABLE_ID, SOURCE_ID } from '../../shared/protocol.js';
import type { Sender, SenderShape } from '../tracking/sender.js';
import type { Tracker } from '../tracking/tracker.js';
import { atomically } from './atomically.js';
import { openNotifiedTable } from './notified.js';
import { fromRow } from './sender-codec.js';
import { type IncidentRow, openStateFile, type StateFile, StateFileError, startError } from './state-file.js';
import { startWriterThread } from './state-writer.js';
import { startWriteBehind, type WriteBehind } from './write-behind.js';
import { createWriteFailures, type WriteFailures } from './write-failures.js';

export interface MonitorGap {
  /** The previous run's last sign of life. */
  fromMs: number;
  /** The next run's start. */
  toMs: number;
}

export interface Store {
  readonly path: string;
  /** The open state file, for the other tables that live in it (outbox, silences, notified). */
  readonly db: StateFile['db'];
  readonly writeBehind: WriteBehind;
  /** The writes the file refused, of every writer (the sync, the notifications' records, the silences). */
  readonly writeFailures: WriteFailures;
  /** The previous run's last sign of life (its last write, or its clean stop); null on a new file. */
  readonly previousRunAliveMs: number | null;
  /** Newest first, the state changes still on their way to the file included. */
  incidents(source: string, limit: number): Promise<IncidentRow[]>;
  /** The monitor's own downtime between its runs, newest first. */
  monitorGaps(limit: number): MonitorGap[];
  /** The last writes, then the file is closed as a clean stop. */
  stop(): Promise<void>;
  /** A start that failed before it observed anything: the file is closed as if this run had never begun. */
  abandon(): Promise<void>;
}

export function openStore(
  dataDir: string,
  tracker: Tracker,
  shape: SenderShape,
  logger: Logger,
  now: () => number,
  /** STATE_SYNC_INTERVAL: every changed sender reaches the file within about this long. */
  syncMs: number,
  /** A time before which the tracker knows everything the monitor heard (WriteBehindOptions.heardUntil). */
  heardUntil: () => number,
): Store {
  const startedAtMs = now();
  const file: StateFile = openStateFile(dataDir);
  const stored: Sender[] = [];
  const recordedUntilMs = new Map<string, number>();
  try {
    // Every record is read and checked before anything is written to the file.
    const invalid: string[] = [];
    for (const row of file.eachSender()) {
      if (SOURCE_ID.test(row.source)) {
        stored.push(fromRow(row, shape));
        // The row knew everything until the watermark of the write that wrote it (updated_at), and until
        // the file's: a change after that write and before the file's watermark would have written it again.
        recordedUntilMs.set(row.source, Math.max(row.recordedUntilMs, file.recordedUntilMs));
      } else if (PRINTABLE_ID.test(row.source)) {
        // Valid once (`.`, `..`): the sender leaves the file.
        invalid.push(row.source);
      }
      // No release ever wrote it (ids were always 1 to 64 printable ASCII characters): a damaged row.
      else
        throw new StateFileError(
          file.path,
          `holds a sender whose id is not one a monitor writes (${JSON.stringify(row.source.slice(0, 80))})`,
        );
    }
    dropInvalidIds(file, invalid, logger);
    file.beginRun(startedAtMs);
    const lastAliveMs = file.previousRun?.aliveAtMs ?? startedAtMs;
    tracker.restore(stored, { monitorStartMs: startedAtMs, lastAliveMs, recordedUntilMs });
    logger.info(
      {
        event: 'state_file',
        file: file.path,
        senders: stored.length,
        monitorDownMs: file.previousRun === null ? null : Math.max(0, startedAtMs - lastAliveMs),
        cleanStop: file.previousRun === null ? null : file.previousRun.stoppedAtMs !== null,
        recordedUntil: file.recordedUntilMs > 0 ? new Date(file.recordedUntilMs).toISOString() : null,
      },
      `state file ${file.path}: ${stored.length} senders restored`,
    );
  } catch (err) {
    file.close(null);
    throw startError(file.path, err, (text) => `holds a record this monitor cannot read (${text})`);
  }
  // The sync writes on a thread of its own, with its own connection to the file.
  const writer = startWriterThread(file.path, file.runId);
  const writeFailures = createWriteFailures(logger, file.path, now);
  const writeBehind = startWriteBehind(file, writer, tracker, {
    intervalMs: 1000,
    syncMs,
    now,
    heardUntil,
    openedWatermarkMs: file.recordedUntilMs,
    rowsAtStart: stored.map((s) => s.source),
    failures: writeFailures,
  });
  return {
    path: file.path,
    db: file.db,
    writeBehind,
    writeFailures,
    previousRunAliveMs: file.previousRun?.aliveAtMs ?? null,
    async incidents(source, limit) {
      // State changes of the last 100 ms may still be on their way to the file: a reader sees them too.
      await writeBehind.flush(source);
      return file.incidents(source, limit);
    },
    monitorGaps(limit) {
      const runs = file.runs(limit + 1);
      const gaps: MonitorGap[] = [];
      for (let i = 0; i + 1 < runs.length; i++) {
        const later = runs[i];
        const earlier = runs[i + 1];
        if (later !== undefined && earlier !== undefined)
          gaps.push({ fromMs: earlier.aliveAtMs, toMs: later.startedAtMs });
      }
      return gaps;
    },
    stop: () => writeBehind.stop(),
    abandon: () => writeBehind.abandon(),
  };
}

/**
 * Senders stored under an id no longer valid (`.` and `..`, which a URL's
 * path cannot name, so their page could not be reached nor they be
 * forgotten): they could never beat again, as no datagram may carry such an
 * id. They leave the file, each with an `evict` line.
 */
function dropInvalidIds(file: StateFile, sources: readonly string[], logger: Logger): void {
  if (sources.length === 0) return;
  const senders = file.db.prepare('DELETE FROM senders WHERE source = ?');
  const notified = openNotifiedTable(file.db);
  atomically(file.db, () => {
    for (const source of sources) {
      senders.run(source);
      notified.delete(source);
    }
  });
  for (const source of sources)
    logger.warn(
      { event: 'evict', source, reason: 'invalid_id' },
      `sender ${JSON.stringify(source)} dropped from the state file: its id is no longer valid`,
    );
}
