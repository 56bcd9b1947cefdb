import { describe, expect, it } from 'vitest';
import { fromRow, toRow } from '../../services/client/store/sender-codec.js';
import { TimingCounts } from '../../services/client/tracking/timing-counts.js';
import { createTracker, type Tracker } from '../../services/client/tracking/tracker.js';
import { declaredSender, T0, TRACKER_OPTIONS, trackedBeat } from '../support/builders.js';

// The tracker keeps the delay and jitter histograms as timings change: they must always equal a count
// made afresh over every sender, whatever happened to the senders.

const OPTIONS = { ...TRACKER_OPTIONS, maxSenders: 12 };
const SHAPE = { sequenceWindow: OPTIONS.sequenceWindow, heartbeatSlots: OPTIONS.heartbeatSlots };

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

/** A small deterministic generator (mulberry32): the same run every time. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('tracker: the timing histograms', () => {
  it('equal a fresh count after every step of beats, restarts, byes, plain text, evictions, declarations and a restore', () => {
    const next = random(12);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)] as T;
    let tracker = createTracker(OPTIONS);
    const sources = Array.from({ length: 20 }, (_, i) => `s${i}`);
    const seqs = new Map<string, number>();
    let nowMs = T0;
    for (let step = 0; step < 3000; step++) {
      nowMs += Math.floor(next() * 50);
      const source = pick(sources);
      const roll = next();
      if (roll < 0.7) {
        // A beat: in order, a gap, or an old one; delays from negative (skew) to seconds.
        const seq = Math.max(0, (seqs.get(source) ?? 0) + pick([1, 1, 1, 3, -2, 0]));
        seqs.set(source, Math.max(seq, seqs.get(source) ?? 0));
        const delayMs = pick([-5, 0, 1, 2, 7, 30, 200, 4000]);
        tracker.observe(
          trackedBeat({
            source,
            seq,
            boot: pick(['b1', 'b1', 'b1', 'b2']),
            sentAtMs: nowMs - delayMs,
            receivedAtMs: nowMs,
            kind: next() < 0.05 ? 'bye' : 'beat',
          }),
        );
      } else if (roll < 0.8) {
        // The same key speaks plain text (a protocol sender turned text, or one that only ever was).
        tracker.observeText(source, nowMs);
      } else if (roll < 0.85) {
        tracker.declare(
          sources.filter(() => next() < 0.2).map((s) => declaredSender(s)),
          nowMs,
        );
      } else if (roll < 0.98) {
        tracker.tick(nowMs);
      } else {
        // The monitor restarts on its state file.
        const stored = [...tracker.all()].map((s) => fromRow(toRow(s), SHAPE));
        tracker = createTracker(OPTIONS);
        tracker.restore(stored, { monitorStartMs: nowMs, lastAliveMs: nowMs });
      }
      expectCountsOf(tracker);
    }
    // The run went through what it is meant to: evictions, and senders in several buckets.
    expect(tracker.evictions + tracker.size).toBeGreaterThan(0);
    expect(tracker.timings.delay.count).toBeGreaterThan(0);
  });
});
