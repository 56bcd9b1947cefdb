import { describe, expect, it } from 'vitest';
import { createFlapDetector, type FlapVerdict } from '../../services/client/notify/flapping.js';

const S = 1000;
const MIN = 60 * S;
const T0 = 10 * 60 * MIN;

/** Threshold 5 in 10 min: the 6th change within 10 minutes is flapping. */
const detector = () => createFlapDetector({ threshold: 5, windowMs: 10 * MIN, maxSources: 1000 });

function recordAll(d: ReturnType<typeof detector>, source: string, times: number[]): FlapVerdict[] {
  return times.map((t) => d.record(source, t));
}

describe('flap detection', () => {
  it('never flaps at or below the threshold within the window', () => {
    const d = detector();
    const verdicts = recordAll(
      d,
      'a',
      [0, 1, 2, 3, 4].map((i) => T0 + i * MIN),
    );
    expect(verdicts).toEqual(['normal', 'normal', 'normal', 'normal', 'normal']);
    expect(d.isFlapping('a', T0 + 5 * MIN)).toBe(false);
    expect(d.tick(T0 + 60 * MIN)).toEqual([]);
  });

  it('starts exactly once at threshold + 1 changes in the window, then is ongoing', () => {
    const d = detector();
    const verdicts = recordAll(
      d,
      'a',
      [0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => T0 + i * S),
    );
    expect(verdicts).toEqual([
      'normal',
      'normal',
      'normal',
      'normal',
      'normal',
      'started',
      'ongoing',
      'ongoing',
      'ongoing',
    ]);
    expect(d.isFlapping('a', T0 + 9 * S)).toBe(true);
    expect(d.changesInWindow('a', T0 + 9 * S)).toBe(6);
    expect(d.flapping).toBe(1);
  });

  it('stays ongoing while changes keep coming less than windowMs apart, even slowly', () => {
    const d = detector();
    recordAll(
      d,
      'a',
      [0, 1, 2, 3, 4, 5].map((i) => T0 + i * S),
    );
    // One change every 9 minutes: never 6 in 10 minutes, but never quiet for 10 either.
    const later = recordAll(
      d,
      'a',
      [1, 2, 3].map((i) => T0 + 5 * S + i * 9 * MIN),
    );
    expect(later).toEqual(['ongoing', 'ongoing', 'ongoing']);
    expect(d.tick(T0 + 5 * S + 27 * MIN + 10 * MIN - 1)).toEqual([]);
  });

  it('is stable after windowMs without a change: tick names it once, then record is normal again', () => {
    const d = detector();
    const last = T0 + 5 * S;
    recordAll(
      d,
      'a',
      [0, 1, 2, 3, 4, 5].map((i) => T0 + i * S),
    );
    expect(d.tick(last + 10 * MIN - 1)).toEqual([]);
    expect(d.isFlapping('a', last + 10 * MIN - 1)).toBe(true);
    expect(d.isFlapping('a', last + 10 * MIN)).toBe(false);
    expect(d.tick(last + 10 * MIN)).toEqual(['a']);
    expect(d.tick(last + 11 * MIN)).toEqual([]);
    expect(d.flapping).toBe(0);
    expect(d.record('a', last + 12 * MIN)).toBe('normal');
    // A new burst starts a new episode.
    const burst = recordAll(
      d,
      'a',
      [1, 2, 3, 4, 5].map((i) => last + 12 * MIN + i * S),
    );
    expect(burst).toEqual(['normal', 'normal', 'normal', 'normal', 'started']);
  });

  it('ends flapping on a change after windowMs of quiet even without tick', () => {
    const d = detector();
    const last = T0 + 5 * S;
    recordAll(
      d,
      'a',
      [0, 1, 2, 3, 4, 5].map((i) => T0 + i * S),
    );
    expect(d.record('a', last + 10 * MIN)).toBe('normal');
    expect(d.tick(last + 20 * MIN)).toEqual([]);
  });

  it('resumes a sender flapping at a restart: its changes ongoing, named by tick once quiet for the window', () => {
    const d = detector();
    d.resume('a', T0);
    expect(d.isFlapping('a', T0)).toBe(true);
    expect(d.record('a', T0 + MIN)).toBe('ongoing');
    expect(d.tick(T0 + 10 * MIN)).toEqual([]);
    expect(d.tick(T0 + 11 * MIN)).toEqual(['a']);
    expect(d.isFlapping('a', T0 + 11 * MIN)).toBe(false);
    expect(d.record('a', T0 + 12 * MIN)).toBe('normal');
  });

  it('slides old changes out of the window', () => {
    const d = detector();
    // Five changes, then the sixth 10 min after the first: the first has left the window.
    const verdicts = recordAll(
      d,
      'a',
      [0, 1, 2, 3, 4].map((i) => T0 + i * MIN),
    );
    expect(verdicts.every((v) => v === 'normal')).toBe(true);
    expect(d.record('a', T0 + 10 * MIN)).toBe('normal');
    expect(d.changesInWindow('a', T0 + 10 * MIN)).toBe(5);
    // One second later the second change (at 1 min) is still inside: 6 in the window.
    expect(d.record('a', T0 + 10 * MIN + S)).toBe('started');
  });

  it('keeps senders apart and forgets them', () => {
    const d = detector();
    recordAll(
      d,
      'a',
      [0, 1, 2, 3, 4, 5].map((i) => T0 + i * S),
    );
    expect(d.record('b', T0 + 6 * S)).toBe('normal');
    expect(d.isFlapping('b', T0 + 6 * S)).toBe(false);
    d.forget('a');
    expect(d.isFlapping('a', T0 + 6 * S)).toBe(false);
    expect(d.tick(T0 + 60 * MIN)).toEqual([]);
    expect(d.size).toBe(1);
  });

  it('bounds memory: at most maxSources senders, the least recently changed evicted', () => {
    const d = createFlapDetector({ threshold: 2, windowMs: MIN, maxSources: 3 });
    for (const source of ['a', 'b', 'c']) d.record(source, T0);
    d.record('a', T0 + 1); // a is now the most recent
    d.record('d', T0 + 2); // evicts b
    expect(d.size).toBe(3);
    expect(d.changesInWindow('b', T0 + 2)).toBe(0);
    expect(d.changesInWindow('a', T0 + 2)).toBe(2);
    // Many changes keep threshold + 1 timestamps only.
    for (let i = 0; i < 1000; i++) d.record('a', T0 + 10 + i);
    expect(d.changesInWindow('a', T0 + 2000)).toBe(3);
  });

  it('refuses nonsense options', () => {
    expect(() => createFlapDetector({ threshold: 0, windowMs: MIN, maxSources: 10 })).toThrow(RangeError);
    expect(() => createFlapDetector({ threshold: 3, windowMs: 0, maxSources: 10 })).toThrow(RangeError);
    expect(() => createFlapDetector({ threshold: 3, windowMs: MIN, maxSources: 0 })).toThrow(RangeError);
  });
});
