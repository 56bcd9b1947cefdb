/**
 * The views of many senders, built a part of PART_SENDERS senders at a time,
 * a part a step of the main thread's turns (shared/turns.ts): a page of GET
 * /api/senders, and the most urgent senders of a scrape, of the status page
 * and of its live snapshot.
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
 * (JSON.stringify). The live snapshot joins its parts into one event.
 */
import { inTurns } from '../../shared/turns.js';
import type { SenderQuery, SenderSummary, SenderView, Tracker } from '../tracking/tracker.js';
import { toApiListed } from './api.js';

/** Senders built and serialized per part (~1 ms). */
export const PART_SENDERS = 100;

/**
 * A JSON array serialized a part at a time: each part's items in a chunk
 * of their own; closed and joined, the chunks are the array JSON.stringify
 * would make of all the values.
 */
export interface JsonArrayInParts {
  add(values: readonly unknown[]): void;
  /** Every chunk, the array closed (`]`, or `[]` when nothing was added). */
  close(): string[];
}

export function jsonArrayInParts(): JsonArrayInParts {
  const chunks: string[] = [];
  return {
    add(values) {
      if (values.length === 0) return;
      const items = JSON.stringify(values).slice(1, -1);
      chunks.push(chunks.length === 0 ? `[${items}` : `,${items}`);
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

export async function pageInParts(
  tracker: Pick<Tracker, 'page'>,
  query: SenderQuery,
  now: () => number,
): Promise<SendersPage> {
  const array = jsonArrayInParts();
  let left = query.limit;
  let after = query.after;
  let next: string | null = null;
  await inTurns(() => {
    const part = tracker.page(
      { ...query, limit: Math.min(PART_SENDERS, left), ...(after === undefined ? {} : { after }) },
      now(),
    );
    array.add(part.views.map(toApiListed));
    left -= part.views.length;
    next = part.next;
    if (next === null || left === 0) return true;
    after = next;
    return false;
  });
  return { chunks: array.close(), next };
}

/**
 * The most urgent senders (Tracker.urgentSources), their summaries handed to
 * `take` a part at a time: the metrics' per-sender series. Which senders is
 * chosen at once; each is as it was when its part was built, and one gone
 * by then is left out. A scrape of 1,000 senders at 50,000 took ~20 ms of the
 * loop in one go (docs/PERFORMANCE.md).
 */
export function urgentSummariesInParts(
  tracker: Pick<Tracker, 'urgentSources' | 'summary'>,
  limit: number,
  now: () => number,
  take: (part: SenderSummary[]) => void,
): Promise<void> {
  return sourcesInParts(
    tracker.urgentSources(limit),
    now,
    (source, nowMs) => tracker.summary(source, nowMs),
    take,
  );
}

/**
 * As urgentSummariesInParts, with the heartbeat bars, of the senders that
 * match `q`: the page and its live snapshot.
 */
export function urgentViewsInParts(
  tracker: Pick<Tracker, 'urgentSources' | 'view'>,
  limit: number,
  now: () => number,
  take: (part: SenderView[]) => void,
  q?: string,
): Promise<void> {
  return sourcesInParts(
    tracker.urgentSources(limit, q),
    now,
    (source, nowMs) => tracker.view(source, nowMs),
    take,
  );
}

async function sourcesInParts<T>(
  sources: readonly string[],
  now: () => number,
  build: (source: string, nowMs: number) => T | undefined,
  take: (part: T[]) => void,
): Promise<void> {
  let at = 0;
  if (sources.length === 0) return;
  await inTurns(() => {
    const part: T[] = [];
    const nowMs = now();
    for (const source of sources.slice(at, at + PART_SENDERS)) {
      const built = build(source, nowMs);
      if (built !== undefined) part.push(built);
    }
    take(part);
    at += PART_SENDERS;
    return at >= sources.length;
  });
}
