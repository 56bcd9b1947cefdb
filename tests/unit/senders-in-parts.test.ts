import { describe, expect, it } from 'vitest';
import { toApiListed } from '../../services/client/http/api.js';
import {
  FIRST_PART_SENDERS,
  jsonArrayInParts,
  MAX_PART_SENDERS,
  MIN_PART_SENDERS,
  PART_MS,
  PART_SCAN,
  type PartPace,
  pageInParts,
  pagePace,
  partPace,
  urgentSummariesInParts,
  urgentViewsInParts,
  VIEW_PACES,
} from '../../services/client/http/senders-in-parts.js';
import { CHUNK_CHARS } from '../../services/client/http/text-chunks.js';
import {
  createTracker,
  type SenderQuery,
  type SenderView,
  type Tracker,
} from '../../services/client/tracking/tracker.js';
import { mainTurns } from '../../services/shared/turns.js';
import { T0, TRACKER_OPTIONS, trackedBeat } from '../support/builders.js';
import { longestChunk } from '../support/chunks.js';

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

describe('a JSON array serialized a part at a time', () => {
  const values = [
    { source: 'a', name: 'Zürich – 東京', n: 1 },
    { source: 'b', name: null, n: -2.5 },
    { source: 'c"q\\', name: '\u{1F600}', n: 0 },
    ['nested', { x: [] }],
    'text',
    7,
  ];

  it('is, concatenated, what JSON.stringify makes of all the values, however they are split', () => {
    // Every split into parts, empty parts among them: a cut (or none) after each value, and an
    // empty add() at the start and after every cut.
    for (let cuts = 0; cuts < 2 ** (values.length - 1); cuts++) {
      const array = jsonArrayInParts();
      array.add([]);
      let part: unknown[] = [];
      let parts = 0;
      const partEnds: number[] = [];
      values.forEach((value, i) => {
        part.push(value);
        if (i === values.length - 1 || (cuts & (1 << i)) !== 0) {
          array.add(part);
          array.add([]);
          part = [];
          parts++;
          partEnds.push(i + 1);
        }
      });
      const chunks = array.close();
      expect(chunks.join('')).toBe(JSON.stringify(values));
      // A part ends a chunk (so it is sent as it is made): the text up to each part's end, the array
      // not yet closed, is where a chunk ends.
      const chunkEnds = new Set<number>();
      let length = 0;
      for (const chunk of chunks) {
        length += chunk.length;
        chunkEnds.add(length);
      }
      for (const end of partEnds)
        expect(chunkEnds.has(JSON.stringify(values.slice(0, end)).length - 1)).toBe(true);
      expect(partEnds).toHaveLength(parts);
    }
  });

  it('keeps each chunk under CHUNK_CHARS, so V8 never gives one a mapping of its own', () => {
    // ~1,100 characters each, two-byte text among them, in one part and then in parts of 7.
    const long = Array.from({ length: 300 }, (_, i) => ({
      i,
      text: (i % 2 === 0 ? 'x' : 'ü東').repeat(360),
    }));
    for (const partSize of [long.length, 7]) {
      const array = jsonArrayInParts();
      for (let at = 0; at < long.length; at += partSize) array.add(long.slice(at, at + partSize));
      const chunks = array.close();
      expect(chunks.join('')).toBe(JSON.stringify(long));
      expect(longestChunk(chunks)).toBeLessThanOrEqual(CHUNK_CHARS);
      // Not a chunk per value: the first teaches how many fit.
      expect(chunks.length).toBeLessThan(
        JSON.stringify(long).length / CHUNK_CHARS + long.length / partSize + 3,
      );
    }
  });

  it('is [] with nothing added', () => {
    const array = jsonArrayInParts();
    array.add([]);
    expect(array.close().join('')).toBe('[]');
  });
});

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

describe('a filtered page passes over PART_SCAN senders a part at most', () => {
  // 25,000 senders, none stopped: a filter none match.
  const tracker = createTracker({ ...TRACKER_OPTIONS, maxSenders: 25_000 });
  for (let i = 0; i < 25_000; i++) tracker.observe(trackedBeat({ source: `m${String(i).padStart(5, '0')}` }));
  const nowMs = T0 + 1500;

  it('page(): a scan that runs out says where it stopped, with what it found so far', () => {
    const first = tracker.page({ limit: 10, q: 'nothing', scan: 1000 }, nowMs);
    expect(first).toEqual({ views: [], next: 'm00999' });
    const on = tracker.page({ limit: 10, q: 'm0100', after: first.next as string, scan: 1000 }, nowMs);
    expect(on.views.map((v) => v.source)).toEqual([...Array(10).keys()].map((i) => `m0100${i}`));
    // Every sender matches: the scan never runs out before the limit.
    expect(tracker.page({ limit: 5, scan: 1000 }, nowMs).views).toHaveLength(5);
  });

  it.each<[string, SenderQuery]>([
    ['a q nobody matches', { limit: 100, q: 'nothing' }],
    ['a state nobody is in', { limit: 100, state: 'stopped' }],
  ])(
    '%s: several parts, none passing over more than PART_SCAN, and the end of the list',
    async (_, query) => {
      const scans: Array<number | undefined> = [];
      const counted: Pick<Tracker, 'page'> = {
        page: (q, at) => {
          scans.push(q.scan);
          return tracker.page(q, at);
        },
      };
      const page = await pageInParts(counted, query, () => nowMs, fixedPace);
      expect({ chunks: page.chunks, next: page.next }).toEqual({ chunks: ['[]'], next: null });
      expect(scans).toEqual(Array(Math.ceil(25_000 / PART_SCAN)).fill(PART_SCAN));
    },
  );
});

describe('the most urgent senders of a search few match: chosen PART_SCAN senders a step at most', () => {
  // 25,000 senders, all up; ten of them, the last ten, match.
  const tracker = createTracker({ ...TRACKER_OPTIONS, maxSenders: 25_000 });
  for (let i = 0; i < 25_000; i++) tracker.observe(trackedBeat({ source: `m${String(i).padStart(5, '0')}` }));
  const nowMs = T0 + 1500;

  it('the page: every step passes over PART_SCAN senders at most, to the end of the list, and finds what one go finds', async () => {
    const scans: number[] = [];
    const counted: Pick<Tracker, 'urgentChoice' | 'view'> = {
      urgentChoice: (limit, q) => {
        const choice = tracker.urgentChoice(limit, q);
        return {
          get sources() {
            return choice.sources;
          },
          step: (scan) => {
            scans.push(scan);
            return choice.step(scan);
          },
        };
      },
      view: (source, at) => tracker.view(source, at),
    };
    const got: string[] = [];
    await urgentViewsInParts(
      counted,
      100,
      () => nowMs,
      (part) => got.push(...part.map((v) => v.source)),
      'm2499',
      fixedPace,
    );
    expect(got).toEqual([...Array(10).keys()].map((i) => `m2499${i}`));
    expect(got).toEqual(tracker.urgentSources(100, 'm2499'));
    expect(scans).toEqual(Array(Math.ceil(25_000 / PART_SCAN)).fill(PART_SCAN));
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
  it('starts at FIRST_PART_SENDERS, grows by half what a faster part showed, and shrinks at once', () => {
    const pace = partPace();
    expect(pace.size()).toBe(FIRST_PART_SENDERS);
    // 100 senders in 0.5 ms: 200 a ms, faster than the pace said: half-way from 100.
    pace.record(100, 0.5);
    expect(pace.size()).toBe(((100 + 200) / 2) * PART_MS);
    // 150 in 1.5 ms: 100 a ms, slower: that at once.
    pace.record(150, 1.5);
    expect(pace.size()).toBe(100);
    // A part slowed by a collection: the next one is as small as that showed.
    pace.record(100, 4);
    expect(pace.size()).toBe(25);
    pace.record(25, 0.2);
    expect(pace.size()).toBe((25 + 125) / 2);
  });

  it('stays within MIN_PART_SENDERS and MAX_PART_SENDERS, and learns nothing from an empty part', () => {
    const pace = partPace();
    for (let i = 0; i < 5; i++) pace.record(1000, 0.1);
    expect(pace.size()).toBe(MAX_PART_SENDERS);
    // A slower part: its pace, at once.
    pace.record(MAX_PART_SENDERS, 2 * PART_MS);
    expect(pace.size()).toBe(MAX_PART_SENDERS / 2);
    pace.record(10, 100);
    expect(pace.size()).toBe(MIN_PART_SENDERS);
    // Bounded inside at the floor too: half-way from 10 a ms, not from the 0.1 the part showed.
    pace.record(10, 0.1);
    expect(pace.size()).toBe((MIN_PART_SENDERS + 100) / 2);
    pace.record(10, 100);
    pace.record(0, 0);
    expect(pace.size()).toBe(MIN_PART_SENDERS);
  });

  it('builds a view in the parts its pace asks for, and teaches it only with full parts', async () => {
    const tracker = tracked();
    const sizes = [40, 200, 500];
    let asked = 0;
    const recorded: number[] = [];
    const pace: PartPace = {
      size: () => sizes[asked++] ?? 1,
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
    // The last part, 60 of the 500 asked for, is mostly its fixed cost: not recorded.
    expect(recorded).toEqual([40, 200]);

    asked = 0;
    recorded.length = 0;
    const page = await pageInParts(tracker, { limit: 100 }, () => T0 + 1500, pace);
    expect(JSON.parse(page.chunks.join('')) as unknown[]).toHaveLength(100);
    // 40, then 60 (all that was left of the 100 asked for, not the 200 the pace said).
    expect(recorded).toEqual([40]);

    // A page cut short because the senders ran out: 40, 200, then 110 of the 500 asked for.
    asked = 0;
    recorded.length = 0;
    const all = await pageInParts(tracker, { limit: 1000 }, () => T0 + 1500, pace);
    expect(JSON.parse(all.chunks.join('')) as unknown[]).toHaveLength(350);
    expect(recorded).toEqual([40, 200]);

    // A filtered page teaches nothing: its parts pass over the senders that do not match.
    asked = 0;
    recorded.length = 0;
    await pageInParts(tracker, { limit: 1000, state: 'stopped' }, () => T0 + 1500, pace);
    await pageInParts(tracker, { limit: 1000, q: 'n1' }, () => T0 + 1500, pace);
    expect(asked).toBeGreaterThan(0);
    expect(recorded).toEqual([]);
  });

  it('gives a page with heartbeat bars a pace of its own', () => {
    expect(pagePace({ heartbeats: true })).toBe(VIEW_PACES.pageWithBars);
    expect(pagePace({})).toBe(VIEW_PACES.page);
    expect(new Set(Object.values(VIEW_PACES)).size).toBe(Object.keys(VIEW_PACES).length);
  });
});
