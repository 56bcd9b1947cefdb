/**
 * Silences in force: which senders are under maintenance now. A silence
 * added, removed or ended re-marks every sender against every silence
 * (O(senders x silences)), a step of about a millisecond at a time on the
 * main thread's turns (shared/turns.ts), so that no operator's change holds
 * the datagram path: at 50,000 senders and 1,000 silences a pass is
 * 0.7-3.8 s of work (docs/PERFORMANCE.md). A change during a pass starts it
 * over. A sender new to the monitor is checked on its first change.
 *
 * The marks are what the status page, the API and the uptime show; whether
 * a sender notifies is asked of the silences themselves (covering()), so a
 * pass under way never lets a notification through.
 */
import { randomUUID } from 'node:crypto';
import { inTurns, mainTurns, type Turns } from '../../shared/turns.js';
import type { SilencesTable } from '../store/silences.js';
import type { Sender } from '../tracking/sender.js';
import type { Tracker } from '../tracking/tracker.js';
import { activeSilence, type Silence } from './silences.js';

/**
 * Silences in force at most: a pass checks every sender against each.
 * One glob covers any number of senders.
 */
export const MAX_SILENCES = 1000;

/** How long a step of a pass may take, at most (and one sender at least). */
const STEP_MS = 1;
/** Senders marked between two looks at the clock. */
const CLOCK_EVERY = 64;

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
  /** Resolves once every sender is marked by the silences as they are now (the pass under way, if any, is done). */
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
  pace: PassPace = { turns: mainTurns(), clock: () => performance.now() },
): Maintenance {
  let silences: Silence[] = table.list();
  let generation = 0;
  /** The pass under way: where it is, and whether a change since asks it to start over. */
  let pass: { senders: Iterator<Sender>; restart: boolean } | null = null;
  let done: Promise<void> = Promise.resolve();
  let stopped = false;

  function step(): boolean {
    const current = pass as NonNullable<typeof pass>;
    if (stopped) return true;
    if (current.restart) {
      current.restart = false;
      current.senders = tracker.all();
    }
    const atMs = now();
    const until = pace.clock() + STEP_MS;
    for (let n = 1; ; n++) {
      const next = current.senders.next();
      if (next.done === true) {
        pass = null;
        return true;
      }
      const { source } = next.value;
      tracker.setMaintenance(source, activeSilence(silences, source, atMs) !== null, atMs);
      if (n % CLOCK_EVERY === 0 && pace.clock() >= until) return false;
    }
  }

  function remark(): void {
    generation++;
    if (pass !== null) {
      pass.restart = true;
      return;
    }
    pass = { senders: tracker.all(), restart: false };
    done = inTurns(step, pace.turns);
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
      if (!silences.some((s) => s.until <= atMs)) return [];
      const ended = table.expire(atMs);
      silences = silences.filter((s) => s.until > atMs);
      remark();
      return ended;
    },
    get generation() {
      return generation;
    },
    marked: () => done,
    stop() {
      stopped = true;
    },
  };
}
