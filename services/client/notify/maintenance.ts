/**
 * Silences in force: which senders are under maintenance now. A silence
 * added, removed or ended re-marks every sender (rare, O(senders ×
 * silences)); a sender new to the monitor is checked on its first change.
 */
import { randomUUID } from 'node:crypto';
import type { SilencesTable } from '../store/silences.js';
import type { Tracker } from '../tracking/tracker.js';
import { activeSilence, type Silence } from './silences.js';

/**
 * Silences in force at most: each change re-marks every sender against
 * every silence on the thread that tracks (1,000 at 50,000 senders: tens of
 * milliseconds). One glob covers any number of senders.
 */
export const MAX_SILENCES = 1000;

export interface Maintenance {
  list(): readonly Silence[];
  add(input: { sources: string; untilMs: number; comment: string }, nowMs: number): Silence;
  remove(id: string, nowMs: number): boolean;
  /** The silence covering the sender now, if any. */
  covering(source: string, nowMs: number): Silence | null;
  /** A sender the monitor did not know before: put it under maintenance if a silence covers it. */
  adopt(source: string, nowMs: number): void;
  /** Ends the silences whose time is up. */
  tick(nowMs: number): Silence[];
  /** Counts every change to the silences (added, removed, ended): who held back for one can look again when it moves. */
  readonly generation: number;
}

export function createMaintenance(table: SilencesTable, tracker: Tracker, nowMs: number): Maintenance {
  let silences: Silence[] = table.list();
  let generation = 0;

  function remark(atMs: number): void {
    generation++;
    for (const sender of tracker.all()) {
      tracker.setMaintenance(sender.source, activeSilence(silences, sender.source, atMs) !== null, atMs);
    }
  }
  table.expire(nowMs);
  silences = table.list();
  remark(nowMs);

  return {
    list: () => silences,
    add(input, atMs) {
      const silence: Silence = {
        id: randomUUID(),
        sources: input.sources,
        until: input.untilMs,
        comment: input.comment,
        createdAtMs: atMs,
      };
      table.insert(silence);
      silences = [...silences, silence];
      remark(atMs);
      return silence;
    },
    remove(id, atMs) {
      const existed = table.remove(id);
      if (existed) {
        silences = silences.filter((s) => s.id !== id);
        remark(atMs);
      }
      return existed;
    },
    covering: (source, atMs) => activeSilence(silences, source, atMs),
    adopt(source, atMs) {
      if (silences.length > 0)
        tracker.setMaintenance(source, activeSilence(silences, source, atMs) !== null, atMs);
    },
    tick(atMs) {
      if (!silences.some((s) => s.until <= atMs)) return [];
      const ended = table.expire(atMs);
      silences = silences.filter((s) => s.until > atMs);
      remark(atMs);
      return ended;
    },
    get generation() {
      return generation;
    },
  };
}
