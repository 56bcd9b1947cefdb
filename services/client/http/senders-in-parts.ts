/**
 * A page of GET /api/senders, built and serialized in parts of PART_SENDERS
 * senders, a part a step of the main thread's turns (shared/turns.ts).
 * At 50,000 senders a page of 1,000 took ~12 ms to build and serialize in
 * one go, and held the loop, the tracking of every beat included, as long:
 * a walk through every page was the largest share of the main thread's
 * long tasks (docs/PERFORMANCE.md).
 *
 * Each sender is as it was when its part was built; the page as a whole
 * spans a few milliseconds, as a walk spans its pages. The parts are sent
 * as they are (a stream, chunked), not joined into one string of 500 KiB
 * first: joined, they are the array fastify would have made of the page
 * (JSON.stringify).
 */
import { inTurns } from '../../shared/turns.js';
import type { SenderQuery, Tracker } from '../tracking/tracker.js';
import { toApiListed } from './api.js';

/** Senders built and serialized per part (~1 ms). */
export const PART_SENDERS = 100;

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
  const chunks: string[] = [];
  let left = query.limit;
  let after = query.after;
  let next: string | null = null;
  await inTurns(() => {
    const part = tracker.page(
      { ...query, limit: Math.min(PART_SENDERS, left), ...(after === undefined ? {} : { after }) },
      now(),
    );
    if (part.views.length > 0) {
      const items = JSON.stringify(part.views.map(toApiListed)).slice(1, -1);
      chunks.push(chunks.length === 0 ? `[${items}` : `,${items}`);
    }
    left -= part.views.length;
    next = part.next;
    if (next === null || left === 0) return true;
    after = next;
    return false;
  });
  chunks.push(chunks.length === 0 ? '[]' : ']');
  return { chunks, next };
}
