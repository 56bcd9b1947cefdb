/**
 * The views of many senders, built a part at a time, a part a step of the
 * main thread's turns (shared/turns.ts): a page of GET /api/senders, and the
 * most urgent senders of a scrape, of the status page and of its live
 * snapshot. A part holds as many senders as its kind of view builds in
 * about PART_MS (partPace): the first of a process 100, then what the
 * parts before showed.
 *
 * At 50,000 senders a page of 1,000 took ~12 ms to build and serialize in
 * one go, and held the loop, the tracking of every beat included, as long:
 * a walk through every page was the largest share of the main thread's
 * long tasks (docs/PERFORMANCE.md).
 *
 * Each sender is as it was when its part was built; the page as a whole
 * spans a few milliseconds, as a walk spans its pages. A page's parts are
 * sent as they are (a stream, chunked), not joined into one string of 500
 * KiB first: joined, they are the array fastify would have made of the page
 * (JSON.stringify). The live snapshot sends its chunks as one event.
 */
import { inTurns } from '../../shared/turns.js';
import type { SenderQuery, SenderSummary, SenderView, Tracker, UrgentChoice } from '../tracking/tracker.js';
import { toApiListed } from './api.js';
import { CHUNK_CHARS } from './text-chunks.js';

/** How long a part should take to build (and serialize): a step of the main thread's turns. */
export const PART_MS = 1;
/** A part's senders before its kind's pace is known, and at least and at most. */
export const FIRST_PART_SENDERS = 100;
export const MIN_PART_SENDERS = 10;
/** Warm, a scrape's part of 1 ms held 180–230 senders; cold code (~20 µs a sender) makes this ~5 ms. */
export const MAX_PART_SENDERS = 250;

/**
 * How many senders a kind of view builds in PART_MS, learned from its parts.
 *
 * Each step is a round of the main thread's turns: the other jobs' steps
 * and the batches' handlings come between two of a view's parts. With
 * parts of a fixed 100 senders, a scrape of 1,000 took ten rounds; at
 * 50,000 senders that was ~22–24 ms of a slow scrape's ~27 ms, when the
 * parts' own work is some 5 ms warm (docs/PERFORMANCE.md). Sized to
 * PART_MS, a warm part of a scrape holds some 200 senders: a step lasts
 * what it was meant to, and a scrape takes about half the rounds.
 *
 * A part slower than the pace says shrinks the next one at once to what it
 * showed (code V8 let go of, a collection); a faster one grows it by half
 * the difference. Only full parts teach it: a view's last part, or a page
 * of a few senders, is mostly the part's fixed cost.
 */
export interface PartPace {
  /** Senders the next part should hold. */
  size(): number;
  /** A full part of `senders` (what size() asked for) took `ms` to build. */
  record(senders: number, ms: number): void;
}

export function partPace(): PartPace {
  const bound = (perMs: number) =>
    Math.min(MAX_PART_SENDERS / PART_MS, Math.max(MIN_PART_SENDERS / PART_MS, perMs));
  let perMs = FIRST_PART_SENDERS / PART_MS;
  return {
    size: () => Math.round(perMs * PART_MS),
    record(senders, ms) {
      if (senders === 0) return;
      const shown = senders / Math.max(ms, 0.001);
      perMs = bound(Math.min(shown, (perMs + shown) / 2));
    },
  };
}

/**
 * Each kind of view's pace: their senders cost differently. They are the
 * process's, not a monitor's: what they measure is how fast this process's
 * code (which V8 optimizes once for all) builds each kind.
 */
export const VIEW_PACES = {
  /** A page of GET /api/senders: summaries, serialized. */
  page: partPace(),
  /** The same with the heartbeat bars (`heartbeats=true`): twice the JSON. */
  pageWithBars: partPace(),
  /** A scrape's most urgent senders: summaries, written as metric series. */
  summaries: partPace(),
  /** The status page's senders: views with their bars, kept as objects for the HTML. */
  views: partPace(),
  /** The page's live snapshot: the same views, converted and serialized. */
  snapshot: partPace(),
};

/** A page's pace: with the bars, a sender is twice the JSON. */
export function pagePace(query: Pick<SenderQuery, 'heartbeats'>): PartPace {
  return query.heartbeats === true ? VIEW_PACES.pageWithBars : VIEW_PACES.page;
}

/** The clock a part is timed by. */
const stepClock = () => performance.now();

/** The values of an array's first chunk, which teaches how many fit in one. */
const FIRST_CHUNK_VALUES = 8;

/**
 * A JSON array serialized a part at a time: each part's items in chunks of
 * their own, each of as many values as fit in CHUNK_CHARS at the longest a
 * chunk's values were on average so far (so a chunk is longer only where
 * its values are longer than those before them); closed and joined, the
 * chunks are the array JSON.stringify would make of all the values. Not one
 * string of the whole part: see text-chunks.ts.
 */
export interface JsonArrayInParts {
  add(values: readonly unknown[]): void;
  /** Every chunk, the array closed (`]`, or `[]` when nothing was added). */
  close(): string[];
}

export function jsonArrayInParts(): JsonArrayInParts {
  const chunks: string[] = [];
  // The longest a chunk's values were on average: 0 until the first.
  let perValue = 0;
  return {
    add(values) {
      for (let at = 0; at < values.length; ) {
        const count = perValue === 0 ? FIRST_CHUNK_VALUES : Math.max(1, Math.floor(CHUNK_CHARS / perValue));
        const group = values.slice(at, at + count);
        const json = JSON.stringify(group);
        perValue = Math.max(perValue, json.length / group.length);
        at += group.length;
        const items = json.slice(1, -1);
        chunks.push(chunks.length === 0 ? `[${items}` : `,${items}`);
      }
    },
    close() {
      chunks.push(chunks.length === 0 ? '[]' : ']');
      return chunks;
    },
  };
}

export interface SendersPage {
  /** The page's senders, a JSON array in pieces: joined, the array. */
  chunks: string[];
  /** The cursor of the next page; null on the last one. */
  next: string | null;
}

/**
 * Senders a part of a page passes over at most, matching or not (0.75 ms
 * of a filter's checks, measured warm at 50,000 senders): a filter that few
 * or none match goes on in the next part instead of walking every sender
 * in one step. So does a step of the most urgent senders' choice
 * (chosenInParts()).
 */
export const PART_SCAN = 10_000;

export async function pageInParts(
  tracker: Pick<Tracker, 'page'>,
  query: SenderQuery,
  now: () => number,
  pace: PartPace = pagePace(query),
): Promise<SendersPage> {
  const array = jsonArrayInParts();
  let left = query.limit;
  let after = query.after;
  let next: string | null = null;
  const filtered = query.state !== undefined || (query.q !== undefined && query.q !== '');
  await inTurns(() => {
    const began = stepClock();
    const size = pace.size();
    const part = tracker.page(
      { ...query, limit: Math.min(size, left), scan: PART_SCAN, ...(after === undefined ? {} : { after }) },
      now(),
    );
    array.add(part.views.map(toApiListed));
    // A filtered page's part also passed over the senders that did not match: it would teach a pace
    // many times too slow.
    if (part.views.length === size && !filtered) pace.record(size, stepClock() - began);
    left -= part.views.length;
    next = part.next;
    if (next === null || left === 0) return true;
    after = next;
    return false;
  });
  return { chunks: array.close(), next };
}

/**
 * Which senders a view of the most urgent shows: the first step of the
 * choice at once, as the request comes, and the rest, if any, a step of the
 * turns at a time, each passing over PART_SCAN senders at most (a search few
 * senders match walks all of them; a state's set larger than that is sorted
 * whole, in a step of its own: Tracker.urgentChoice).
 */
async function chosenInParts(choice: UrgentChoice): Promise<readonly string[]> {
  if (!choice.step(PART_SCAN)) await inTurns(() => choice.step(PART_SCAN));
  return choice.sources;
}

/**
 * The most urgent senders (Tracker.urgentChoice), their summaries handed to
 * `take` a part at a time: the metrics' per-sender series. Which senders is
 * chosen first; each is as it was when its part was built, and one gone
 * by then is left out. A scrape of 1,000 senders at 50,000 took ~20 ms of the
 * loop in one go (docs/PERFORMANCE.md).
 */
export async function urgentSummariesInParts(
  tracker: Pick<Tracker, 'urgentChoice' | 'summary'>,
  limit: number,
  now: () => number,
  take: (part: SenderSummary[]) => void,
  pace: PartPace = VIEW_PACES.summaries,
): Promise<void> {
  await sourcesInParts(
    await chosenInParts(tracker.urgentChoice(limit)),
    now,
    (source, nowMs) => tracker.summary(source, nowMs),
    take,
    pace,
  );
}

/**
 * As urgentSummariesInParts, with the heartbeat bars, of the senders that
 * match `q`: the page and its live snapshot.
 */
export async function urgentViewsInParts(
  tracker: Pick<Tracker, 'urgentChoice' | 'view'>,
  limit: number,
  now: () => number,
  take: (part: SenderView[]) => void,
  q?: string,
  pace: PartPace = VIEW_PACES.views,
): Promise<void> {
  await sourcesInParts(
    await chosenInParts(tracker.urgentChoice(limit, q)),
    now,
    (source, nowMs) => tracker.view(source, nowMs),
    take,
    pace,
  );
}

async function sourcesInParts<T>(
  sources: readonly string[],
  now: () => number,
  build: (source: string, nowMs: number) => T | undefined,
  take: (part: T[]) => void,
  pace: PartPace,
): Promise<void> {
  let at = 0;
  if (sources.length === 0) return;
  await inTurns(() => {
    const began = stepClock();
    const part: T[] = [];
    const nowMs = now();
    const size = pace.size();
    const end = Math.min(sources.length, at + size);
    const full = end - at === size;
    for (; at < end; at++) {
      const built = build(sources[at] as string, nowMs);
      if (built !== undefined) part.push(built);
    }
    take(part);
    if (full) pace.record(size, stepClock() - began);
    return at >= sources.length;
  });
}
