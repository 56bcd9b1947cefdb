/**
 * A seeded random walk over a tracker, for the model tests that check what
 * the tracker keeps as senders change (its histograms, its states' sets,
 * its sources' order) against the same thing worked out afresh.
 *
 * Each step pauses for less than `maxPauseMs`, then one sender beats or
 * speaks plain text, or a set of senders is declared, or the clock ticks
 * (silence), or the monitor restarts on its state file; the plan says how
 * often each happens, what its beats and declarations look like, and what
 * must hold after every step.
 */
import { fromRow, toRow } from '../../services/client/store/sender-codec.js';
import {
  type Beat,
  createTracker,
  type Tracker,
  type TrackerOptions,
} from '../../services/client/tracking/tracker.js';
import type { SenderState } from '../../services/shared/vocabulary.js';
import { type declaredSender, T0 } from './builders.js';
import { pick, prng, type Random } from './prng.js';

type DeclaredSender = ReturnType<typeof declaredSender>;

export interface WalkPlan {
  seed: number;
  steps: number;
  options: TrackerOptions;
  /** Distinct sources, named s0, s1, ... (more than maxSenders: evictions). */
  sources: number;
  maxPauseMs: number;
  /** Each kind of step's share (together at most 1); the rest are restarts. */
  shares: { beat: number; text: number; declare: number; tick: number };
  /** The beat `source` sends at `nowMs`; `highestSeq` is the highest it sent so far (0 before the first). */
  beat(random: Random, source: string, highestSeq: number, nowMs: number): Beat;
  /** In a declaration step: whether `source` is declared, and how (declaredSender()). */
  declare(random: Random, source: string): DeclaredSender | null;
  /** What must hold after every step. */
  check(tracker: Tracker, nowMs: number): void;
}

export interface WalkResult {
  tracker: Tracker;
  /** Senders evicted over the walk, across restarts. */
  evictions: number;
  /** Every state a sender was in after some step. */
  states: Set<SenderState>;
}

export function walkTracker(plan: WalkPlan): WalkResult {
  const random = prng(plan.seed);
  const { shares } = plan;
  const sources = Array.from({ length: plan.sources }, (_, i) => `s${i}`);
  const shape = { sequenceWindow: plan.options.sequenceWindow, heartbeatSlots: plan.options.heartbeatSlots };
  const highestSeqs = new Map<string, number>();
  const states = new Set<SenderState>();
  let tracker = createTracker(plan.options);
  let evictedBefore = 0;
  let nowMs = T0;
  for (let step = 0; step < plan.steps; step++) {
    nowMs += Math.floor(random() * plan.maxPauseMs);
    const source = pick(random, sources);
    const roll = random();
    if (roll < shares.beat) {
      const beat = plan.beat(random, source, highestSeqs.get(source) ?? 0, nowMs);
      highestSeqs.set(source, Math.max(beat.seq, highestSeqs.get(source) ?? 0));
      tracker.observe(beat);
    } else if (roll < shares.beat + shares.text) {
      // The same key speaks plain text (a protocol sender turned text, or one that only ever was).
      tracker.observeText(source, nowMs);
    } else if (roll < shares.beat + shares.text + shares.declare) {
      const declared: DeclaredSender[] = [];
      for (const s of sources) {
        const declaration = plan.declare(random, s);
        if (declaration !== null) declared.push(declaration);
      }
      tracker.declare(declared, nowMs);
    } else if (roll < shares.beat + shares.text + shares.declare + shares.tick) {
      tracker.tick(nowMs);
    } else {
      const stored = [...tracker.all()].map((s) => fromRow(toRow(s), shape));
      evictedBefore += tracker.evictions;
      tracker = createTracker(plan.options);
      tracker.restore(stored, { monitorStartMs: nowMs, lastAliveMs: nowMs });
    }
    for (const v of tracker.views(nowMs)) states.add(v.state);
    plan.check(tracker, nowMs);
  }
  return { tracker, evictions: evictedBefore + tracker.evictions, states };
}
