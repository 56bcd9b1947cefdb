/**
 * Silences in force: which senders are under maintenance now. A silence
 * added, removed or ended re-marks every sender against every silence
 * (O(senders x silences)), a step of about a millisecond at a time on the
 * main thread's turns (shared/turns.ts), so that no operator's change holds
 * the datagram path: at 50,000 senders and 1,000 silences a pass is
 * 0.7-3.8 s of work (docs/PERFORMANCE.md). A pass marks each sender by the
 * silences as they are when it comes to it; a change during a pass is
 * followed by one more pass once it ends, so passes always end, however
 * often the silences change. A sender new to the monitor is checked on its
 * first change.
 *
 * The marks are what the status page, the API and the uptime show; whether
 * a sender notifies is asked of the silences themselves (covering()), so a
 * pass under way never lets a notification through.
 */
import { randomUUID } from 'node:crypto';
import { inTurns, mainTurns, type Turns } from '../../shared/turns.js';
import type { SilencesTable } from '../store/silences.js';
import type { WriteFailures } from '../store/write-failures.js';
import type { Sender } from '../tracking/sender.js';
import type { Tracker } from '../tracking/tracker.js';
import { activeSilence, type Silence } from './silences.js';

/**
 * Silences in force at most: a pass checks every sender against each.
 * One glob covers any number of senders.
 */
export const MAX_SILENCES = 1000;

/** How long a step of a pass may take, at most (and one sender more: the clock is looked at after each). */
const STEP_MS = 1;

export interface Maintenance {
  list(): readonly Silence[];
  add(input: { sources: string; untilMs: number; comment: string }, nowMs: number): Silence;
  remove(id: string): boolean;
  /** The silence covering the sender now, if any. */
  covering(source: string, nowMs: number): Silence | null;
  /** A sender the monitor did not know before: put it under maintenance if a silence covers it. */
  adopt(source: string, nowMs: number): void;
  /** Ends the silences whose time is up. */
  tick(nowMs: number): Silence[];
  /** Counts every change to the silences (added, removed, ended): who held back for one can look again when it moves. */
  readonly generation: number;
  /**
   * Resolves once every sender is marked by the silences as they are now: at
   * the end of the first pass that begins after this call (or of the one
   * under way, if the silences did not change since it began). Rejects if
   * that pass failed.
   */
  marked(): Promise<void>;
  /** Ends the pass under way, if any (the monitor stops). */
  stop(): void;
}

/** Where a pass takes its steps, and the clock that times them (tests give their own). */
export interface PassPace {
  turns: Turns;
  /** Milliseconds, monotonic. */
  clock(): number;
}

export function createMaintenance(
  table: SilencesTable,
  tracker: Tracker,
  now: () => number,
  /** Where the file's refusal to let an ended silence go is reported (a full disk). */
  failures: WriteFailures,
  pace: PassPace = { turns: mainTurns(), clock: () => performance.now() },
): Maintenance {
  let silences: Silence[] = table.list();
  let generation = 0;
  /** The pass under way (the silences' generation when it began), and whether another is to follow it. */
  let pass: { senders: Iterator<Sender>; generation: number } | null = null;
  let again = false;
  /** Who waits for the marks of a generation: settled when a pass begun at it or later ends. */
  let waiting: Array<{ generation: number; resolve(): void; reject(err: unknown): void }> = [];
  let stopped = false;

  /** Answers who waited for the marks of a generation up to `upTo`: the pass that ended, or failed (`err`). */
  function settle(upTo: number, err: unknown = null): void {
    const still: typeof waiting = [];
    for (const w of waiting) {
      if (w.generation > upTo) still.push(w);
      else if (err !== null) w.reject(err);
      else w.resolve();
    }
    waiting = still;
  }

  function step(): boolean {
    const current = pass as NonNullable<typeof pass>;
    if (stopped) return true;
    const atMs = now();
    const until = pace.clock() + STEP_MS;
    for (;;) {
      const next = current.senders.next();
      if (next.done === true) return true;
      const { source } = next.value;
      tracker.setMaintenance(source, activeSilence(silences, source, atMs) !== null, atMs);
      if (pace.clock() >= until) return false;
    }
  }

  function startPass(): void {
    const current = { senders: tracker.all(), generation };
    pass = current;
    again = false;
    inTurns(step, pace.turns).then(
      () => {
        pass = null;
        if (stopped) return settle(Number.POSITIVE_INFINITY);
        settle(current.generation);
        if (again) startPass();
      },
      (err: unknown) => {
        // A pass that failed leaves no pass under way: the next change starts one anew. A change made
        // during it still gets the pass that was to follow (and who waits for that one's marks, its answer).
        pass = null;
        settle(current.generation, err);
        if (again) startPass();
      },
    );
  }

  function remark(): void {
    generation++;
    if (pass !== null) again = true;
    else startPass();
  }
  table.expire(now());
  silences = table.list();
  remark();

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
      remark();
      return silence;
    },
    remove(id) {
      const existed = table.remove(id);
      if (existed) {
        silences = silences.filter((s) => s.id !== id);
        remark();
      }
      return existed;
    },
    covering: (source, atMs) => activeSilence(silences, source, atMs),
    adopt(source, atMs) {
      if (silences.length > 0)
        tracker.setMaintenance(source, activeSilence(silences, source, atMs) !== null, atMs);
    },
    tick(atMs) {
      const ended = silences.filter((s) => s.until <= atMs);
      if (ended.length === 0) return [];
      // Refused (a full disk): the rows stay behind, and the next start lets them go as ended.
      failures.tried(() => table.expire(atMs));
      silences = silences.filter((s) => s.until > atMs);
      remark();
      return ended;
    },
    get generation() {
      return generation;
    },
    marked() {
      if (pass === null || stopped) return Promise.resolve();
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      waiting.push({ generation, resolve, reject });
      return promise;
    },
    stop() {
      stopped = true;
    },
  };
}
