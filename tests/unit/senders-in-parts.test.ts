import { describe, expect, it } from 'vitest';
import { toApiListed } from '../../services/client/http/api.js';
import { PART_SENDERS, pageInParts } from '../../services/client/http/senders-in-parts.js';
import { createTracker, type SenderQuery, type Tracker } from '../../services/client/tracking/tracker.js';
import { T0, TRACKER_OPTIONS, trackedBeat } from '../support/builders.js';

/** 350 senders n000..n349, every seventh said bye; all heard once at T0. */
function tracked(): Tracker {
  const tracker = createTracker({ ...TRACKER_OPTIONS, maxSenders: 1000 });
  for (let i = 0; i < 350; i++) {
    const source = `n${String(i).padStart(3, '0')}`;
    tracker.observe(trackedBeat({ source }));
    if (i % 7 === 0) tracker.observe(trackedBeat({ source, seq: 1, kind: 'bye' }));
  }
  return tracker;
}

describe('a page of senders built in parts', () => {
  const tracker = tracked();
  const nowMs = T0 + 1500;
  /** What one call of tracker.page() makes of the query, as the API had it before it was built in parts. */
  const whole = (query: SenderQuery) => {
    const page = tracker.page(query, nowMs);
    return { senders: page.views.map(toApiListed), next: page.next };
  };
  const inParts = async (query: SenderQuery) => {
    let calls = 0;
    const counted: Pick<Tracker, 'page'> = {
      page: (q, at) => {
        calls++;
        return tracker.page(q, at);
      },
    };
    const page = await pageInParts(counted, query, () => nowMs);
    return { senders: JSON.parse(page.chunks.join('')) as unknown, next: page.next, calls };
  };

  it.each<[string, SenderQuery]>([
    ['a page of 1000 (the last one: 350 senders)', { limit: 1000 }],
    ['a page of exactly one part', { limit: PART_SENDERS }],
    ['a page of a part and a half, with a next page', { limit: 150 }],
    ['a page after a cursor', { limit: 120, after: 'n100' }],
    ['a page of stopped senders only', { limit: 30, state: 'stopped' }],
    ['a page of those matching q', { limit: 1000, q: 'n1' }],
    ['a page with the heartbeat bars', { limit: 250, heartbeats: true }],
    ['a page after the last sender', { limit: 10, after: 'n349' }],
  ])('%s: the same senders, JSON and cursor as one call would give', async (_, query) => {
    const { senders, next, calls } = await inParts(query);
    expect({ senders, next }).toEqual(whole(query));
    // At most one part more than the senders need: the last one learns there is no more.
    expect(calls).toBeLessThanOrEqual(Math.ceil(Math.min(query.limit, 350) / PART_SENDERS) + 1);
  });

  it('takes a page of 1000 in parts of PART_SENDERS', async () => {
    expect(tracker.size).toBe(350);
    const { calls } = await inParts({ limit: 1000 });
    expect(calls).toBe(Math.ceil(350 / PART_SENDERS));
  });
});
