/**
 * The monitor's per-sender statistics and liveness. Pure: no I/O and no clock
 * of its own; every time is a millisecond number handed in (a datagram's
 * receive time, or `nowMs`). Times handed in should never decrease.
 *
 * Senders are keyed by `source`. Per sender: sequence accounting per boot
 * (sequence.ts), one-way delay and RFC 3550 jitter (jitter.ts), a liveness
 * state machine, a heartbeat bar (heartbeats.ts) and 1 h / 24 h uptime
 * (uptime.ts).
 *
 * Memory per sender, with the defaults (sequenceWindow 1024, heartbeatSlots
 * 50): the uptime buckets 1344 B, the sequence bitmap 128 B, the heartbeat
 * bar 50 B, the sender record and array headers ~700 B, the Map entry, and
 * the source and boot strings (at most 64 characters each; 4 boot ids kept).
 * Measured on Node 24 with ~30-character ids: about 3 KB per sender, so
 * 10,000 senders take about 30 MB. It grows by sequenceWindow/8 bytes and by
 * heartbeatSlots bytes.
 */
import {
  createHeartbeatBar,
  type HeartbeatBar,
  type HeartbeatMark,
  heartbeatList,
  pushMark,
  replaceNewestMark,
} from './heartbeats.js';
import { nextJitter } from './jitter.js';
import {
  acceptSeq,
  createSequenceWindow,
  MIN_SEQUENCE_WINDOW,
  type SequenceWindow,
  startSequence,
} from './sequence.js';
import {
  type Availability,
  createUptime,
  creditUptime,
  setAvailability,
  type Uptime,
  uptimePercent,
} from './uptime.js';

export type { HeartbeatMark } from './heartbeats.js';

import type { SenderState } from '../../shared/vocabulary.js';

export type { SenderState } from '../../shared/vocabulary.js';

export interface TrackerOptions {
  /** Senders tracked at most; beyond it the longest-silent sender is evicted. */
  maxSenders: number;
  /** Grace after the expected arrival; null: half the sender's declared interval, at least 1000 ms. */
  lateGraceMs: number | null;
  /** Missed intervals after which a sender is `down` (>= 1). */
  downAfterMisses: number;
  /** Recent sequence numbers remembered per sender boot (>= 64; rounded up to a multiple of 32). */
  sequenceWindow: number;
  /** Length of the heartbeat bar. */
  heartbeatSlots: number;
}

/** What the ingest path hands in: one datagram, already decoded and validated. */
export interface Beat {
  source: string;
  boot: string;
  seq: number;
  kind: 'beat' | 'bye';
  sentAtMs: number;
  intervalMs: number;
  receivedAtMs: number;
}

export interface StateChange {
  source: string;
  /** null when the sender is new. */
  from: SenderState | null;
  to: SenderState;
  reason: string;
  /** When the state changed: the arrival time, or for `late`/`down` the moment its threshold passed. */
  atMs: number;
}

/**
 * The result of observe(). One object per tracker, overwritten by the next
 * observe() call: read it before calling again. `changes` is a fresh array
 * when there are changes (safe to keep), a shared frozen empty one otherwise.
 */
export interface Observation {
  isNewSender: boolean;
  /** A new boot of a known sender. */
  restart: boolean;
  duplicate: boolean;
  /** A late arrival (below the highest seq) or a seq from before the monitor's first sight of the boot. */
  outOfOrder: boolean;
  /** Older than the sequence window, or from one of the sender's previous boots. */
  stale: boolean;
  /** Change in the lost count caused by this datagram (+gap, -1 for a late arrival). */
  lostDelta: number;
  /** receivedAtMs - sentAtMs. */
  delayMs: number;
  changes: readonly StateChange[];
  /** Source evicted to make room for this one, if any. */
  evicted: string | null;
}

/** A plain JSON-serialisable snapshot of one sender. */
export interface SenderView {
  source: string;
  boot: string;
  state: SenderState;
  stateSinceMs: number;
  reason: string;
  firstSeenMs: number;
  lastSeenMs: number;
  lastSeq: number;
  intervalMs: number;
  expectedAtMs: number;
  received: number;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  stale: number;
  restarts: number;
  delay: { lastMs: number; minMs: number; meanMs: number; maxMs: number };
  jitterMs: number;
  /** Percent 0..100, null when nothing was observed in the window. */
  uptime: { h1: number | null; h24: number | null };
  /** Oldest first, at most heartbeatSlots. */
  heartbeats: HeartbeatMark[];
}

export interface Tracker {
  /** Accounts one datagram. O(1); allocates only on the first sight of a sender or a state change. */
  observe(beat: Beat): Observation;
  /** Liveness evaluation of every sender at `nowMs`, and uptime crediting. O(senders). */
  tick(nowMs: number): StateChange[];
  /**
   * A snapshot; never changes state (call tick(nowMs) first for current
   * states). nowMs should not be earlier than the latest time handed in.
   */
  view(source: string, nowMs: number): SenderView | undefined;
  /** Snapshots of all senders, sorted by source. */
  views(nowMs: number): SenderView[];
  /** Senders per state. O(1): maintained incrementally. */
  stateCounts(): Record<SenderState, number>;
  readonly size: number;
  readonly evictions: number;
}

/** Boot ids remembered per sender besides the current one, so a late datagram of an old boot is not a restart. */
const PREVIOUS_BOOTS = 3;
const MIN_DEFAULT_GRACE_MS = 1000;
const NO_CHANGES: readonly StateChange[] = Object.freeze([]);

/** Uptime class of each state: `stopped` is planned downtime, left out of the percentages. */
const AVAILABILITY: Readonly<Record<SenderState, Availability>> = {
  up: 'available',
  late: 'available',
  down: 'unavailable',
  stopped: 'planned',
};

interface Sender {
  readonly source: string;
  boot: string;
  /** Newest first, at most PREVIOUS_BOOTS. */
  readonly previousBoots: string[];
  state: SenderState;
  stateSinceMs: number;
  reason: string;
  firstSeenMs: number;
  /** Receive time of the latest datagram of the current boot. */
  lastSeenMs: number;
  /** Send time and declared interval of the datagram with the highest seq of the current boot. */
  lastSentMs: number;
  intervalMs: number;
  /** Minimum one-way delay of the current boot. */
  baseDelayMs: number;
  /** 'missed' marks pushed since the datagram with the highest seq. */
  missedMarks: number;
  received: number;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  stale: number;
  restarts: number;
  delayLastMs: number;
  delayMinMs: number;
  delayMaxMs: number;
  delayMeanMs: number;
  delaySamples: number;
  jitterMs: number;
  /** Transit time (one-way delay) of the previous jitter sample of the current boot. */
  lastTransitMs: number;
  readonly sequence: SequenceWindow;
  readonly heartbeats: HeartbeatBar;
  readonly uptime: Uptime;
}

export function createTracker(options: TrackerOptions): Tracker {
  checkOptions(options);
  const { maxSenders, lateGraceMs, downAfterMisses, sequenceWindow, heartbeatSlots } = options;
  const downReason = `missed_${downAfterMisses}`;

  /**
   * Insertion order is silence order: every datagram of a sender's current
   * boot moves it to the end, so the first key is the longest-silent sender
   * (the smallest lastSeenMs, as receive times never decrease).
   */
  const senders = new Map<string, Sender>();
  /** The last key of `senders`: a sender beating alone is not moved at all. */
  let newest: string | null = null;
  const counts: Record<SenderState, number> = { up: 0, late: 0, down: 0, stopped: 0 };
  let evictions = 0;

  const observation: Observation = {
    isNewSender: false,
    restart: false,
    duplicate: false,
    outOfOrder: false,
    stale: false,
    lostDelta: 0,
    delayMs: 0,
    changes: NO_CHANGES,
    evicted: null,
  };

  function graceMs(intervalMs: number): number {
    return lateGraceMs ?? Math.max(MIN_DEFAULT_GRACE_MS, intervalMs / 2);
  }

  /**
   * Expected arrival of the next beat: the send time of the latest beat plus
   * the minimum one-way delay of the boot plus the declared interval. The
   * minimum delay absorbs a constant clock offset between sender and monitor
   * (with synchronised clocks on a LAN it is ~0: sentAt + intervalMs).
   */
  function expectedAtMs(sender: Sender): number {
    return sender.lastSentMs + sender.baseDelayMs + sender.intervalMs;
  }

  function transition(sender: Sender, to: SenderState, reason: string, atMs: number): StateChange {
    const at = Math.max(atMs, sender.stateSinceMs);
    const change: StateChange = { source: sender.source, from: sender.state, to, reason, atMs: at };
    setAvailability(sender.uptime, AVAILABILITY[to], at);
    counts[sender.state]--;
    counts[to]++;
    sender.state = to;
    sender.stateSinceMs = at;
    sender.reason = reason;
    return change;
  }

  /**
   * Liveness at `nowMs`, with grace = lateGraceMs ?? max(1000, interval/2):
   * - `up` -> `late` once nowMs >= expectedAt + grace (reason `no_beat`);
   * - `up`/`late` -> `down` once nowMs >= expectedAt + grace + (downAfterMisses - 1) * interval,
   *   i.e. downAfterMisses beats missed (reason `missed_<n>`); a jump past
   *   both thresholds is one change up -> down;
   * - `down` stays down and `stopped` never goes late or down.
   * The change is dated at the threshold, not at nowMs.
   *
   * Heartbeat bar: the k-th expected beat after the latest one is overdue at
   * expectedAt + grace + (k - 1) * interval; each overdue beat is pushed as
   * 'missed' once (also while down).
   */
  function evaluate(sender: Sender, nowMs: number): StateChange | null {
    if (sender.state === 'stopped') return null;
    const interval = sender.intervalMs;
    const lateAt = expectedAtMs(sender) + graceMs(interval);
    if (nowMs < lateAt) return null;
    const overdue = Math.floor((nowMs - lateAt) / interval) + 1;
    if (overdue > sender.missedMarks) {
      pushMark(sender.heartbeats, 'missed', overdue - sender.missedMarks);
      sender.missedMarks = overdue;
    }
    if (sender.state === 'down') return null;
    const downAt = lateAt + (downAfterMisses - 1) * interval;
    if (nowMs >= downAt) return transition(sender, 'down', downReason, downAt);
    if (sender.state === 'up') return transition(sender, 'late', 'no_beat', lateAt);
    return null;
  }

  /**
   * A datagram that advances the sequence (or starts a boot) decides the
   * state: a beat -> `up` from any state (reason `beat`, or `restart` for a
   * new boot), a bye -> `stopped` (reason `bye`). Duplicates, late arrivals
   * and stale datagrams never change the state.
   */
  function arrive(
    sender: Sender,
    beat: Beat,
    beatReason: string,
    changes: StateChange[] | null,
  ): StateChange[] | null {
    const to: SenderState = beat.kind === 'bye' ? 'stopped' : 'up';
    if (sender.state === to) return changes;
    const change = transition(sender, to, beat.kind === 'bye' ? 'bye' : beatReason, beat.receivedAtMs);
    if (changes === null) return [change];
    changes.push(change);
    return changes;
  }

  /**
   * Heartbeat bar on a datagram that advances the sequence by gap + 1. The
   * `missedMarks` overdue beats were already pushed as 'missed' (by tick() or
   * by evaluate() on this arrival). If they cover the gap, this beat is one
   * of them, arriving after its expected time + grace: the newest 'missed'
   * becomes 'late'. Otherwise the gap beats not yet pushed are pushed as
   * 'missed', then this beat as 'received'. A bye is not an expected beat:
   * it fills the gap but takes no slot.
   */
  function markArrival(sender: Sender, gap: number, kind: Beat['kind']): void {
    const bar = sender.heartbeats;
    if (sender.missedMarks > gap) {
      if (kind === 'beat') replaceNewestMark(bar, 'late');
    } else {
      pushMark(bar, 'missed', gap - sender.missedMarks);
      if (kind === 'beat') pushMark(bar, 'received');
    }
    sender.missedMarks = 0;
  }

  /** One-way delay: last, min, max and running mean over the sender's life. */
  function recordDelay(sender: Sender, delayMs: number): void {
    sender.delaySamples++;
    sender.delayLastMs = delayMs;
    if (delayMs < sender.delayMinMs) sender.delayMinMs = delayMs;
    if (delayMs > sender.delayMaxMs) sender.delayMaxMs = delayMs;
    sender.delayMeanMs += (delayMs - sender.delayMeanMs) / sender.delaySamples;
  }

  /**
   * A timing sample: a datagram of the current boot seen for the first time
   * (next, late or before-base; duplicates and stale datagrams are not
   * samples). Jitter takes consecutive samples in arrival order (RFC 3550).
   */
  function sampleTiming(sender: Sender, delayMs: number): void {
    recordDelay(sender, delayMs);
    sender.jitterMs = nextJitter(sender.jitterMs, sender.lastTransitMs, delayMs);
    sender.lastTransitMs = delayMs;
    if (delayMs < sender.baseDelayMs) sender.baseDelayMs = delayMs;
  }

  /** Starts the timing of a boot at its first datagram: no jitter sample yet. */
  function startTiming(sender: Sender, beat: Beat, delayMs: number): void {
    recordDelay(sender, delayMs);
    sender.jitterMs = 0;
    sender.lastTransitMs = delayMs;
    sender.baseDelayMs = delayMs;
    sender.lastSentMs = beat.sentAtMs;
    sender.intervalMs = beat.intervalMs;
    sender.missedMarks = 0;
  }

  /** Moves the sender to the end of the silence order. */
  function touch(sender: Sender, nowMs: number): void {
    sender.lastSeenMs = nowMs;
    if (newest !== sender.source) {
      senders.delete(sender.source);
      senders.set(sender.source, sender);
      newest = sender.source;
    }
  }

  /** Drops the longest-silent sender (the first key): O(1). */
  function evictLongestSilent(): string | null {
    const first = senders.entries().next();
    if (first.done) return null;
    const [source, sender] = first.value;
    senders.delete(source);
    counts[sender.state]--;
    evictions++;
    if (newest === source) newest = null;
    return source;
  }

  /**
   * The first datagram of a sender: `up` (from null, reason `first_beat`),
   * or `stopped` for a bye. Its seq is the base of the boot: no loss is
   * charged for seqs before it (the monitor may start mid-stream).
   */
  function addSender(beat: Beat, delayMs: number): Sender {
    const state: SenderState = beat.kind === 'bye' ? 'stopped' : 'up';
    const sender: Sender = {
      source: beat.source,
      boot: beat.boot,
      previousBoots: [],
      state,
      stateSinceMs: beat.receivedAtMs,
      reason: state === 'up' ? 'first_beat' : 'bye',
      firstSeenMs: beat.receivedAtMs,
      lastSeenMs: beat.receivedAtMs,
      lastSentMs: beat.sentAtMs,
      intervalMs: beat.intervalMs,
      baseDelayMs: delayMs,
      missedMarks: 0,
      received: 1,
      lost: 0,
      duplicates: 0,
      outOfOrder: 0,
      stale: 0,
      restarts: 0,
      delayLastMs: delayMs,
      delayMinMs: delayMs,
      delayMaxMs: delayMs,
      delayMeanMs: 0,
      delaySamples: 0,
      jitterMs: 0,
      lastTransitMs: delayMs,
      sequence: createSequenceWindow(sequenceWindow),
      heartbeats: createHeartbeatBar(heartbeatSlots),
      uptime: createUptime(beat.receivedAtMs, AVAILABILITY[state]),
    };
    startSequence(sender.sequence, beat.seq);
    startTiming(sender, beat, delayMs);
    if (beat.kind === 'beat') pushMark(sender.heartbeats, 'received');
    senders.set(sender.source, sender);
    newest = sender.source;
    counts[state]++;
    return sender;
  }

  /**
   * A new boot of a known sender is a restart: restarts + 1, a 'restart'
   * mark, and sequence accounting and jitter start afresh with this datagram
   * as the base. No loss is charged for the new boot's earlier seqs nor for
   * whatever the old boot sent and we never saw. The old boot id is
   * remembered (with PREVIOUS_BOOTS - 1 before it).
   */
  function restart(sender: Sender, beat: Beat, delayMs: number): void {
    sender.restarts++;
    sender.previousBoots.unshift(sender.boot);
    if (sender.previousBoots.length > PREVIOUS_BOOTS) sender.previousBoots.pop();
    sender.boot = beat.boot;
    startSequence(sender.sequence, beat.seq);
    startTiming(sender, beat, delayMs);
    pushMark(sender.heartbeats, 'restart');
  }

  function resetObservation(delayMs: number): Observation {
    const o = observation;
    o.isNewSender = false;
    o.restart = false;
    o.duplicate = false;
    o.outOfOrder = false;
    o.stale = false;
    o.lostDelta = 0;
    o.delayMs = delayMs;
    o.changes = NO_CHANGES;
    o.evicted = null;
    return o;
  }

  /**
   * Sequence accounting within a boot:
   * - seq > highest: lost += seq - highest - 1;
   * - seq == highest, or already seen within the window: duplicates + 1, lost unchanged;
   * - unseen, within the window, below the highest: a late arrival, outOfOrder + 1 and
   *   lost - 1 (a second copy of it is then a duplicate);
   * - unseen, below the boot's first seen seq: outOfOrder + 1, lost unchanged;
   * - older than the window: stale + 1 (a duplicate cannot be told from a late arrival).
   * `received` counts every datagram from the sender, duplicates and stale ones included.
   * A datagram of one of the sender's previous boots is `stale` and changes
   * nothing else (not even lastSeenMs): it is not a restart back.
   */
  function observe(beat: Beat): Observation {
    const nowMs = beat.receivedAtMs;
    const delayMs = nowMs - beat.sentAtMs;
    const o = resetObservation(delayMs);
    let sender = senders.get(beat.source);
    if (sender === undefined) {
      if (senders.size >= maxSenders) o.evicted = evictLongestSilent();
      sender = addSender(beat, delayMs);
      o.isNewSender = true;
      o.changes = [
        { source: sender.source, from: null, to: sender.state, reason: sender.reason, atMs: nowMs },
      ];
      return o;
    }
    sender.received++;

    if (beat.boot !== sender.boot) {
      if (sender.previousBoots.includes(beat.boot)) {
        sender.stale++;
        o.stale = true;
        return o;
      }
      touch(sender, nowMs);
      const overdue = evaluate(sender, nowMs);
      restart(sender, beat, delayMs);
      o.restart = true;
      o.changes = arrive(sender, beat, 'restart', overdue === null ? null : [overdue]) ?? NO_CHANGES;
      return o;
    }

    touch(sender, nowMs);
    switch (acceptSeq(sender.sequence, beat.seq)) {
      case 'next': {
        const gap = sender.sequence.gap;
        sender.lost += gap;
        o.lostDelta = gap;
        // Liveness up to this beat first, against the previous expectation,
        // judged at when the beat would have arrived with the boot's best
        // delay: a burst of beats that were sent on time but held up on the
        // way (a cut network coming back) must not flap down -> up -> down.
        // What tick() already saw overdue stays as it was.
        const overdue = evaluate(sender, Math.min(nowMs, beat.sentAtMs + sender.baseDelayMs));
        markArrival(sender, gap, beat.kind);
        sampleTiming(sender, delayMs);
        sender.lastSentMs = beat.sentAtMs;
        sender.intervalMs = beat.intervalMs;
        o.changes = arrive(sender, beat, 'beat', overdue === null ? null : [overdue]) ?? NO_CHANGES;
        return o;
      }
      case 'duplicate':
        sender.duplicates++;
        o.duplicate = true;
        return o;
      case 'late':
        sender.outOfOrder++;
        sender.lost--;
        o.lostDelta = -1;
        o.outOfOrder = true;
        sampleTiming(sender, delayMs);
        return o;
      case 'before_base':
        sender.outOfOrder++;
        o.outOfOrder = true;
        sampleTiming(sender, delayMs);
        return o;
      case 'stale':
        sender.stale++;
        o.stale = true;
        return o;
    }
  }

  function tick(nowMs: number): StateChange[] {
    const changes: StateChange[] = [];
    for (const sender of senders.values()) {
      const change = evaluate(sender, nowMs);
      if (change !== null) changes.push(change);
      creditUptime(sender.uptime, nowMs);
    }
    return changes;
  }

  function toView(sender: Sender, nowMs: number): SenderView {
    return {
      source: sender.source,
      boot: sender.boot,
      state: sender.state,
      stateSinceMs: sender.stateSinceMs,
      reason: sender.reason,
      firstSeenMs: sender.firstSeenMs,
      lastSeenMs: sender.lastSeenMs,
      lastSeq: sender.sequence.highest,
      intervalMs: sender.intervalMs,
      expectedAtMs: expectedAtMs(sender),
      received: sender.received,
      lost: sender.lost,
      duplicates: sender.duplicates,
      outOfOrder: sender.outOfOrder,
      stale: sender.stale,
      restarts: sender.restarts,
      delay: {
        lastMs: sender.delayLastMs,
        minMs: sender.delayMinMs,
        meanMs: sender.delayMeanMs,
        maxMs: sender.delayMaxMs,
      },
      jitterMs: sender.jitterMs,
      uptime: {
        h1: uptimePercent(sender.uptime, 'h1', nowMs),
        h24: uptimePercent(sender.uptime, 'h24', nowMs),
      },
      heartbeats: heartbeatList(sender.heartbeats),
    };
  }

  return {
    observe,
    tick,
    view(source, nowMs) {
      const sender = senders.get(source);
      return sender === undefined ? undefined : toView(sender, nowMs);
    },
    views(nowMs) {
      const out: SenderView[] = [];
      for (const sender of senders.values()) out.push(toView(sender, nowMs));
      return out.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
    },
    stateCounts() {
      return { up: counts.up, late: counts.late, down: counts.down, stopped: counts.stopped };
    },
    get size() {
      return senders.size;
    },
    get evictions() {
      return evictions;
    },
  };
}

function checkOptions(options: TrackerOptions): void {
  const { maxSenders, lateGraceMs, downAfterMisses, sequenceWindow, heartbeatSlots } = options;
  const positiveInteger = (n: number) => Number.isInteger(n) && n >= 1;
  if (!positiveInteger(maxSenders)) {
    throw new RangeError(`maxSenders must be a positive integer, got ${maxSenders}`);
  }
  if (lateGraceMs !== null && !(Number.isFinite(lateGraceMs) && lateGraceMs >= 0)) {
    throw new RangeError(`lateGraceMs must be null or a finite number >= 0, got ${lateGraceMs}`);
  }
  if (!positiveInteger(downAfterMisses)) {
    throw new RangeError(`downAfterMisses must be a positive integer, got ${downAfterMisses}`);
  }
  if (!(Number.isInteger(sequenceWindow) && sequenceWindow >= MIN_SEQUENCE_WINDOW)) {
    throw new RangeError(
      `sequenceWindow must be an integer >= ${MIN_SEQUENCE_WINDOW}, got ${sequenceWindow}`,
    );
  }
  if (!positiveInteger(heartbeatSlots)) {
    throw new RangeError(`heartbeatSlots must be a positive integer, got ${heartbeatSlots}`);
  }
}
