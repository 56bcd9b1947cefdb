import { describe, expect, it } from 'vitest';
import { toApiListed } from '../../services/client/http/api.js';
import {
  FIRST_PART_SENDERS,
  MAX_PART_SENDERS,
  MIN_PART_SENDERS,
  PART_MS,
  type PartPace,
  pageInParts,
  partPace,
  urgentSummariesInParts,
  urgentViewsInParts,
} from '../../services/client/http/senders-in-parts.js';
import {
  createTracker,
  type SenderQuery,
  type SenderView,
  type Tracker,
} from '../../services/client/tracking/tracker.js';
import { mainTurns } from '../../services/shared/turns.js';
import { T0, TRACKER_OPTIONS, trackedBeat } from '../support/builders.js';

/** Parts of a fixed size, whatever they take: the tests below count parts. */
const PART_SENDERS = 100;
const fixedPace: PartPace = { size: () => PART_SENDERS, record: () => {} };

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
    const page = await pageInParts(counted, query, () => nowMs, fixedPace);
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

describe('the most urgent senders built in parts (the scrape, the page and its snapshot)', () => {
  const nowMs = T0 + 1500;

  it('hands over the senders urgentSources() chose, in its order, PART_SENDERS at a time, what was queued meanwhile handled between parts', async () => {
    const tracker = tracked();
    const want = tracker.urgentSources(250).map((source) => tracker.view(source, nowMs) as SenderView);
    const views: string[][] = [];
    const summaries: unknown[] = [];
    // Each part queues a handling on the main thread's turns, as a socket thread's batch would be: it is
    // handled before the next part is built.
    let batchHandled = true;
    const handledBeforePart: boolean[] = [];
    await urgentViewsInParts(
      tracker,
      250,
      () => nowMs,
      (part) => {
        handledBeforePart.push(batchHandled);
        batchHandled = false;
        mainTurns().push(() => {
          batchHandled = true;
        });
        views.push(part.map((v) => v.source));
      },
      undefined,
      fixedPace,
    );
    await urgentSummariesInParts(
      tracker,
      250,
      () => nowMs,
      (part) => summaries.push(...part),
      fixedPace,
    );
    expect(views.map((part) => part.length)).toEqual([PART_SENDERS, PART_SENDERS, 50]);
    expect(views.flat()).toEqual(want.map((v) => v.source));
    expect(handledBeforePart).toEqual([true, true, true]);
    expect(summaries).toEqual(want.map(({ heartbeats: _, ...summary }) => summary));
  });

  it('leaves out a sender forgotten before its part was built, and takes q', async () => {
    const tracker = tracked();
    const chosen = tracker.urgentSources(150);
    const late = chosen[120] as string;
    const got: string[] = [];
    await urgentViewsInParts(
      tracker,
      150,
      () => nowMs,
      (part) => {
        if (got.length === 0) tracker.forgetSender(late);
        got.push(...part.map((v) => v.source));
      },
      undefined,
      fixedPace,
    );
    expect(got).toEqual(chosen.filter((source) => source !== late));

    const matching: string[] = [];
    await urgentViewsInParts(
      tracker,
      1000,
      () => nowMs,
      (part) => matching.push(...part.map((v) => v.source)),
      '3',
      fixedPace,
    );
    expect(matching).toEqual(tracker.urgentSources(1000, '3'));
    expect(matching.length).toBeGreaterThan(PART_SENDERS);
  });

  it('hands over nothing when no sender is asked for (METRICS_SENDER_SERIES=0)', async () => {
    const parts: unknown[] = [];
    await urgentSummariesInParts(
      tracked(),
      0,
      () => nowMs,
      (part) => parts.push(part),
    );
    expect(parts).toEqual([]);
  });
});

describe("a kind of view's pace: parts sized to take PART_MS", () => {
  it('starts at FIRST_PART_SENDERS, then sizes parts from what the ones before took', () => {
    const pace = partPace();
    expect(pace.size()).toBe(FIRST_PART_SENDERS);
    // 100 senders in 0.25 ms: 400 a ms, half-weighted with the first guess (100 a ms).
    pace.record(100, 0.25);
    expect(pace.size()).toBe(Math.round(((100 + 400) / 2) * PART_MS));
    for (let i = 0; i < 20; i++) pace.record(300, 1);
    expect(pace.size()).toBe(300);
  });

  it('shrinks after a slow part, for a while only, and stays within its bounds', () => {
    const pace = partPace();
    for (let i = 0; i < 20; i++) pace.record(300, 1);
    pace.record(300, 30); // a collection in the middle of it
    expect(pace.size()).toBe(Math.round((300 + 10) / 2));
    pace.record(150, 0.5);
    expect(pace.size()).toBe(Math.floor((155 + 300) / 2)); // 227.5 less a hair: what is left of the first guess
    for (let i = 0; i < 20; i++) pace.record(1000, 0.1);
    expect(pace.size()).toBe(MAX_PART_SENDERS);
    for (let i = 0; i < 20; i++) pace.record(10, 100);
    expect(pace.size()).toBe(MIN_PART_SENDERS);
    pace.record(0, 0); // an empty part tells nothing
    expect(pace.size()).toBe(MIN_PART_SENDERS);
  });

  it('builds a view in the parts its pace asks for, and tells the pace what each took', async () => {
    const tracker = tracked();
    const sizes = [40, 200, 500];
    const recorded: number[] = [];
    const pace: PartPace = {
      size: () => sizes[recorded.length] ?? 1,
      record: (senders) => recorded.push(senders),
    };
    const parts: number[] = [];
    await urgentSummariesInParts(
      tracker,
      300,
      () => T0 + 1500,
      (part) => parts.push(part.length),
      pace,
    );
    expect(parts).toEqual([40, 200, 60]);
    expect(recorded).toEqual([40, 200, 60]);
  });
});
