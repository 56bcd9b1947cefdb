import { describe, expect, it } from 'vitest';
import { TimingCounts } from '../../services/client/tracking/timing-counts.js';
import type { Tracker } from '../../services/client/tracking/tracker.js';
import { declaredSender, TRACKER_OPTIONS, trackedBeat } from '../support/builders.js';
import { pick } from '../support/prng.js';
import { walkTracker } from '../support/tracker-walk.js';

// The tracker keeps the delay and jitter histograms as timings change: they must always equal a count
// made afresh over every sender, whatever happened to the senders.

/** The histograms as a pass over every sender makes them (what a scrape did before). */
function recount(tracker: Tracker): TimingCounts {
  const counts = new TimingCounts();
  for (const s of tracker.all())
    if (s.kind === 'protocol' && s.firstSeenMs !== null) counts.add(s.delayLastMs, s.jitterMs);
  return counts;
}

function expectCountsOf(tracker: Tracker): void {
  const fresh = recount(tracker);
  for (const name of ['delay', 'jitter'] as const) {
    const kept = tracker.timings[name];
    expect([...kept.buckets], name).toEqual([...fresh[name].buckets]);
    expect(kept.count, name).toBe(fresh[name].count);
    expect(kept.sumMs, name).toBeCloseTo(fresh[name].sumMs, 6);
  }
}

describe('tracker: the timing histograms', () => {
  it('equal a fresh count after every step of beats, restarts, byes, plain text, evictions, declarations and a restore', () => {
    const { tracker, evictions } = walkTracker({
      seed: 12,
      steps: 3000,
      options: { ...TRACKER_OPTIONS, maxSenders: 12 },
      sources: 20,
      maxPauseMs: 50,
      shares: { beat: 0.7, text: 0.1, declare: 0.05, tick: 0.13 },
      // In order, a gap, or an old one; a new boot now and then; delays from negative (skew) to seconds.
      beat: (random, source, highestSeq, nowMs) => {
        const delayMs = pick(random, [-5, 0, 1, 2, 7, 30, 200, 4000]);
        return trackedBeat({
          source,
          seq: Math.max(0, highestSeq + pick(random, [1, 1, 1, 3, -2, 0])),
          boot: pick(random, ['b1', 'b1', 'b1', 'b2']),
          sentAtMs: nowMs - delayMs,
          receivedAtMs: nowMs,
          kind: random() < 0.05 ? 'bye' : 'beat',
        });
      },
      declare: (random, source) => (random() < 0.2 ? declaredSender(source) : null),
      check: expectCountsOf,
    });
    // The run went through what it is meant to: evictions (across restarts), and timings counted.
    expect(evictions).toBeGreaterThan(0);
    expect(tracker.timings.delay.count).toBeGreaterThan(0);
  });
});
