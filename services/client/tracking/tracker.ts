/**
 * The monitor's per-sender statistics and liveness. Pure: no I/O and no clock
 * of its own; every time is a millisecond number handed in (a datagram's
 * receive time, or `nowMs`). Times handed in should never decrease.
 *
 * Protocol senders are keyed by `source`, plain-text senders by their
 * address. Per sender: sequence accounting per boot (sequence.ts), one-way
 * delay and RFC 3550 jitter (jitter.ts), a liveness state machine with its
 * deadlines (liveness.ts), a heartbeat bar (heartbeats.ts) and 1 h / 24 h
 * uptime (uptime.ts). Declared senders are listed `pending` before their
 * first datagram and are never evicted. Senders whose record changed are
 * remembered as dirty until the state file takes them (takeDirty).
 *
 * Memory per sender, with the defaults (sequenceWindow 1024, heartbeatSlots
 * 50): one buffer (sender.ts) of the record's 18 figures 144 B, the uptime
 * buckets 672 B, the sequence bitmap 128 B and the heartbeat bar 50 B; the
 * sender record, its four views on that buffer and array headers ~700 B;
 * the Map entry, and the source and boot strings (at most 64 characters
 * each; 4 boot ids kept). Measured on Node 24 with 30-character ids (heap
 * and typed arrays' memory, 50,000 senders): about 2.4 KB per sender (3.0 KB
 * while the uptime buckets were 64-bit), so 10,000 senders take about 24 MB;
 * that was before the one buffer, which took 15 objects a sender out of the
 * heap (docs/PERFORMANCE.md). It grows by sequenceWindow/8 bytes and by
 * heartbeatSlots bytes.
 */
import {
  type EvictReason,
  SENDER_STATES,
  type SenderKind,
  type SenderState,
  STATE_URGENCY,
} from '../../shared/vocabulary.js';
import { type HeartbeatMark, heartbeatList, pushMark, replaceNewestMark } from './heartbeats.js';
import { nextJitter } from './jitter.js';
import {
  beatsDueBetween,
  downAtMs,
  inferInterval,
  lateAtMs,
  missedIntervals,
  overdueBeats,
  TEXT_BURST_MS,
  TEXT_GAPS_KEPT,
} from './liveness.js';
import {
  AVAILABILITY,
  blankSender,
  countersOf,
  type Declaration,
  type Sender,
  type SenderCounters,
} from './sender.js';
import { acceptSeq, MIN_SEQUENCE_WINDOW, startSequence } from './sequence.js';
import { SilenceOrder } from './silence-order.js';
import { compareKeys, firstAfter, SortedKeys } from './sorted-keys.js';
import { TimingCounts, type TimingHistograms } from './timing-counts.js';
import { creditUptime, setAvailability, uptimePercent } from './uptime.js';

export type { SenderState } from '../../shared/vocabulary.js';
export type { HeartbeatMark } from './heartbeats.js';
export type { Declaration } from './sender.js';

/** How often tick() fills the uptime buckets of every sender (a state change credits its sender at once). */
const UPTIME_CREDIT_EVERY_MS = 5000;

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
  /**
   * How long a sender that said bye may stay away before it is `down`
   * (reason `not_back`); 0 or absent: never (a bye is a planned stop).
   */
  stoppedTimeoutMs?: number;
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

/** One liveness pass over the senders (Tracker.pass), taken a step at a time. */
export interface LivenessPass {
  /** Judges (and credits the uptime of) up to `limit` more senders: their state changes. */
  step(limit: number): StateChange[];
  /** Every sender was judged. */
  readonly done: boolean;
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

/** A plain JSON-serialisable snapshot of one sender, without its heartbeat bar (what a page of senders lists). */
export interface SenderSummary extends SenderCounters {
  source: string;
  kind: SenderKind;
  /** The operator's name for it, if declared with one. */
  displayName: string | null;
  declared: boolean;
  /** Under a silence (maintenance): planned downtime, no notifications. */
  maintenance: boolean;
  /** null for plain text and before the first datagram. */
  boot: string | null;
  state: SenderState;
  stateSinceMs: number;
  reason: string;
  /** null: not heard from yet. */
  firstSeenMs: number | null;
  lastSeenMs: number | null;
  /** null for plain text and before the first datagram. */
  lastSeq: number | null;
  /** The interval liveness is judged by (declared, announced or inferred); null while unknown. */
  intervalMs: number | null;
  /** When the next datagram is due (null while the interval is unknown or for a stopped sender). */
  expectedAtMs: number | null;
  delay: { lastMs: number; minMs: number; meanMs: number; maxMs: number };
  jitterMs: number;
  /** Percent 0..100, null when nothing was observed in the window. */
  uptime: { h1: number | null; h24: number | null };
}

/** A sender's summary with its heartbeat bar. */
export interface SenderView extends SenderSummary {
  /** Oldest first, at most heartbeatSlots. */
  heartbeats: HeartbeatMark[];
}

export interface SenderQuery {
  after?: string;
  limit: number;
  state?: SenderState;
  q?: string;
  /** Each sender with its heartbeat bar (a view); otherwise a summary, half the size. */
  heartbeats?: boolean;
  /**
   * Senders passed over at most, matching or not: a filter few match would
   * otherwise walk every sender in one call. When it runs out, `next` is
   * the last one passed over, and fewer than `limit` may have been found.
   */
  scan?: number;
}

/**
 * urgentSources()'s choice, made a step at a time: a search that few
 * senders match passes over every sender (~20 ms at 50,000 on a slow
 * machine, in one go). Between two steps senders may come, go and change
 * state, as between two pages of a walk: one is chosen once at most, and
 * one that moved behind the walk meanwhile may be left out.
 */
export interface UrgentChoice {
  /**
   * Goes on, passing over `scan` senders at most (a state's set sorted counts
   * as its size, and is sorted whole: in a step of its own if larger); true
   * once the choice is made.
   */
  step(scan: number): boolean;
  /** The sources chosen so far, the most urgent first: all of them once step() said true. */
  readonly sources: readonly string[];
}

/** What a restart hands back: a stored sender, as the snapshot codec made it. */
export interface RestoreOptions {
  /** When this monitor started. */
  monitorStartMs: number;
  /** Until when the previous run was alive (its uptime crediting ends there; the gap is unknown). */
  lastAliveMs: number;
  /**
   * Per source, until when its record knew everything the previous run had
   * heard (store.ts: the later of the state file's watermark and the row's
   * own write). Beats due before it and not in the record were missed
   * while the monitor watched; those due after it were hidden by its
   * absence (awayFrom(), absent()). A source not in it: 0, all of them hidden.
   */
  recordedUntilMs?: ReadonlyMap<string, number>;
}

export interface Tracker {
  /** Accounts one protocol datagram. O(1); allocates only on the first sight of a sender or a state change. */
  observe(beat: Beat): Observation;
  /** Accounts one plain-text datagram from `address` (its sender key). O(1). */
  observeText(address: string, receivedAtMs: number): Observation;
  /**
   * Declares senders that must be there: a new one is listed `pending` from
   * `nowMs`, and is `down` (never_seen) at nowMs + interval + grace without
   * a datagram. A known one takes the declared interval, grace and name.
   * Returns the senders it let go: declared ones taken off the list before
   * they were heard from (`unlisted`), and undeclared ones evicted to keep
   * within MAX_SENDERS (one lowered since the state file was written).
   */
  declare(
    declared: ReadonlyArray<{ source: string; kind: SenderKind } & Declaration>,
    nowMs: number,
  ): Array<{ source: string; reason: EvictReason }>;
  isDeclared(source: string): boolean;
  /** Forgets a sender and its row in the state file, declared or not; false if there is none. */
  forgetSender(source: string): boolean;
  /** Puts a sender under maintenance (a silence) or takes it out: its time counts as planned meanwhile. */
  setMaintenance(source: string, on: boolean, atMs: number): void;
  /** Puts back senders a previous run stored; call before any datagram. */
  restore(senders: readonly Sender[], options: RestoreOptions): void;
  /**
   * The socket is bound: a restored sender takes in the monitor's absence
   * (what it may have hidden moves its deadlines), a declared one new to
   * the file is down at now + interval + grace at the earliest. O(senders), once.
   */
  listening(nowMs: number): void;
  /**
   * When a sender this run has not heard yet will have shown itself if it
   * lives: the socket's bind (or the end of a blind time since, if later) +
   * its interval + grace (+Infinity before the bind). null once it has been
   * heard since the bind, and for a sender not tracked. What a restored record says (down, say) may be out of date
   * until then: the sender may have come back while the monitor was away.
   */
  showsByMs(source: string): number | null;
  /**
   * The monitor itself lost datagrams (its queue or the kernel's receive
   * buffer was full) that arrived from `fromMs` (0: any time) until
   * `untilMs`: whatever any sender sent that arrived then is unknown, not
   * lost, and every deadline is at least untilMs + interval + grace.
   * O(1) amortized: each sender takes it in before it is next judged,
   * beats, is declared, or is read through the tracker (see `blindTimes`).
   */
  blind(fromMs: number, untilMs: number): void;
  /**
   * The earliest start of a blind time some sender may not have taken in
   * yet (+Infinity: none): a record encoded now may not know of it.
   */
  blindSinceMs(): number;
  /**
   * For the state file: visits each record changed since the last call,
   * once, and returns the sources forgotten since and not tracked again (a
   * new record of a source is changed from its start). The changed are visited,
   * not listed: at 50,000 senders a list of them, grown anew between two
   * calls, was the tracking thread's largest source of old-generation
   * garbage (docs/PERFORMANCE.md). With `limit`, only that many of the
   * longest-changed are visited; the rest wait for the next call.
   */
  takeDirty(visit: (sender: Sender) => void, limit?: number): string[];
  /** Hands a record back to the next takeDirty() (the state file did not take it yet); false if it is not tracked any more. */
  markDirty(sender: Sender): boolean;
  /** Every record, for a full write of the state file. */
  all(): IterableIterator<Sender>;
  /** Every protocol sender heard from, by its latest one-way delay and by its jitter: kept as they change, read in O(1). */
  readonly timings: TimingHistograms;
  /** Liveness evaluation of every sender at `nowMs`, and uptime crediting. O(senders): one whole pass(). */
  tick(nowMs: number): StateChange[];
  /**
   * tick(), a step at a time, so the main thread can judge 50,000 senders
   * between its other work (monitor.ts queues a step per turn). Every
   * sender is judged as of `nowMs`, also one that a later beat reached
   * before its step: judged as of a time before that beat, it cannot be
   * found late by it.
   */
  pass(nowMs: number): LivenessPass;
  /**
   * A snapshot; never changes state, though the sender takes in the blind
   * times it had not yet (call tick(nowMs) first for current
   * states). nowMs should not be earlier than the latest time handed in.
   */
  view(source: string, nowMs: number): SenderView | undefined;
  /** Snapshots of all senders, sorted by source. O(senders): for small sets and tests; views use page() and urgentChoice(). */
  views(nowMs: number): SenderView[];
  /**
   * One page of senders sorted by source, after the cursor `after`, filtered
   * by state and by `q` (a substring of the source or the display name).
   * Only the page's senders are built: summaries, or views if `heartbeats`.
   * `next` is the cursor of the next page.
   */
  page(query: SenderQuery, nowMs: number): { views: Array<SenderSummary | SenderView>; next: string | null };
  /**
   * The sources of the `limit` most urgent senders (down, late, pending,
   * stopped, up; then by source), optionally those matching `q`: the choice
   * alone, so a view of many of them is built a part at a time (view(),
   * summary(); http/senders-in-parts.ts). urgentChoice() in one go.
   */
  urgentSources(limit: number, q?: string): string[];
  /** The same choice, made a step at a time (UrgentChoice). */
  urgentChoice(limit: number, q?: string): UrgentChoice;
  /** As view(), without the heartbeat bar. */
  summary(source: string, nowMs: number): SenderSummary | undefined;
  /** Senders per state. O(1): maintained incrementally. */
  stateCounts(): Record<SenderState, number>;
  readonly size: number;
  readonly evictions: number;
  /** Entries of the changed list waiting for the next takeDirty(): at most 2 × MAX_SENDERS + 1,024, whatever arrives meanwhile. */
  readonly changedQueued: number;
}

/** Boot ids remembered per sender besides the current one, so a late datagram of an old boot is not a restart. */
const PREVIOUS_BOOTS = 3;
const MIN_DEFAULT_GRACE_MS = 1000;
/**
 * Blind times kept for the senders to take in at most: 4 a second come
 * while drops go on, and a pass, which lets them go, ends within a second
 * or so. Reaching it (8 s with no pass ended) costs one visit of every
 * sender, taking in up to this many each.
 */
const MAX_BLIND_TIMES = 32;
/** Entries of forgotten senders the changed list holds beyond twice the senders before it drops them (compactDirty()). */
const DIRTY_SLACK = 1024;
/** Slow beats in a row that are a clock step rather than a beat held up (rebaseAfterStep). */
const STEP_BEATS = 2;
const NO_CHANGES: readonly StateChange[] = Object.freeze([]);
const URGENCY_ORDER: readonly SenderState[] = [...SENDER_STATES].sort(
  (a, b) => STATE_URGENCY[a] - STATE_URGENCY[b],
);
/** By source, in the sources' order (sorted-keys.ts). */
const bySource = (a: { source: string }, b: { source: string }): number => compareKeys(a.source, b.source);

export function createTracker(options: TrackerOptions): Tracker {
  checkOptions(options);
  const { maxSenders, lateGraceMs, downAfterMisses, sequenceWindow, heartbeatSlots } = options;
  const stoppedTimeoutMs = options.stoppedTimeoutMs ?? 0;
  const downReason = `missed_${downAfterMisses}`;

  const senders = new Map<string, Sender>();
  /**
   * Every datagram of a sender's current boot moves it to the end, so the
   * first is the longest-silent sender (the smallest lastSeenMs, as receive
   * times never decrease). Two orders: undeclared senders heard from once at
   * most (a flood of spoofed one-shot sources is all there), and the others.
   * MAX_SENDERS makes room from the first while it has any: such a flood
   * evicts its own sources, never a sender that beat twice.
   */
  const silence = new SilenceOrder<Sender>();
  const heardOnce = new SilenceOrder<Sender>();
  /** Where MAX_SENDERS makes room, in turn (made once: an eviction can come with every datagram of a flood). */
  const evictionOrders = [heardOnce, silence];
  /**
   * Every sender in the set of its state: the counts per state, and the most
   * urgent senders without a walk over all of them (urgentChoice()). Kept where
   * a sender comes (insert, restore), changes state (transition) and goes
   * (forget).
   */
  const inState = Object.fromEntries(SENDER_STATES.map((state) => [state, new Set<Sender>()])) as Record<
    SenderState,
    Set<Sender>
  >;
  let evictions = 0;
  /**
   * The monitor's blind times (blind()) that some sender may not have taken
   * in yet. Taking one in visits the sender (unobserved()); at 50,000
   * senders a visit of every one took ~17 ms of the main thread, at each
   * liveness tick while drops went on (docs/PERFORMANCE.md). So each sender
   * takes in those after its own `blindSeen` when it is next touched
   * (caughtUp(): judged, beaten, declared, read or written), in the order
   * they came, with everything as it was when they came, since nothing of it
   * changes before. Every liveness pass touches every sender, so the times
   * that came before a pass began are let go when it ends; beyond
   * MAX_BLIND_TIMES (passes held up) every sender takes them in at once.
   * A record the state file took earlier (takeDirty) and encodes later may
   * miss a blind time that came in between: the file's watermark stops at
   * the start of one not every sender has taken in (blindSinceMs()), so a
   * restart takes the beats due since as hidden by its absence.
   */
  const blindTimes: Array<{ fromMs: number; untilMs: number }> = [];
  /** Blind times let go so far: blindTimes[0] is the one after them. */
  let blindLetGo = 0;
  /** The senders restore() put back, each with since when its absence may have hidden a beat (awayFrom()), until listening(). */
  const restoredRecords = new Map<Sender, number | null>();
  /**
   * The senders changed since the last takeDirty(), each once (its `dirty`
   * flag), in dirty[dirtyHead, dirtyCount); a forgotten one is skipped. The
   * array is reused: it keeps the length it grew to. A forgotten sender's
   * entry stays until it is taken or the entries outgrow twice the senders
   * (compactDirty()): so a flood of one-shot sources that MAX_SENDERS evicts
   * keeps it within 2 × MAX_SENDERS, however long no one takes them.
   */
  const dirty: Array<Sender | null> = [];
  let dirtyHead = 0;
  let dirtyCount = 0;
  /** In takeDirty(), whose visits may change senders again: entries do not move meanwhile. */
  let taking = false;
  let creditedAtMs = Number.NEGATIVE_INFINITY;
  /** The sources in order, kept as senders come and go (views page through it). */
  const sorted = new SortedKeys();
  const removed: string[] = [];
  const shape = { sequenceWindow, heartbeatSlots };
  /** Holds exactly the senders inTimings() says, each with its current delay and jitter: every change of either goes through it. */
  const timings = new TimingCounts();

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

  /** The interval liveness is judged by: the declared one, else the announced (or inferred) one; 0 while unknown. */
  function intervalOf(sender: Sender): number {
    return sender.declaration?.intervalMs ?? sender.intervalMs;
  }

  function graceOf(sender: Sender): number {
    return (
      sender.declaration?.graceMs ?? lateGraceMs ?? Math.max(MIN_DEFAULT_GRACE_MS, intervalOf(sender) / 2)
    );
  }

  /**
   * Expected arrival of the next beat: the send time of the latest beat plus
   * the minimum one-way delay of the boot plus the interval. The minimum
   * delay absorbs a constant clock offset between sender and monitor (with
   * synchronised clocks on a LAN it is ~0: sentAt + intervalMs). For plain
   * text: the latest arrival plus the interval.
   */
  function expectedAtMs(sender: Sender): number {
    return lastArrivalOf(sender) + intervalOf(sender);
  }

  /**
   * When the sender is late: its next beat's expected arrival + grace,
   * after the beats monitor restarts hid (hiddenMs), and not before its
   * floor (notBeforeMs).
   */
  function lateAtOf(sender: Sender): number {
    return lateAtMs(expectedAtMs(sender) + sender.hiddenMs, graceOf(sender), sender.notBeforeMs);
  }

  function transition(sender: Sender, to: SenderState, reason: string, atMs: number): StateChange {
    const at = Math.max(atMs, sender.stateSinceMs);
    const change: StateChange = { source: sender.source, from: sender.state, to, reason, atMs: at };
    setAvailability(sender.uptime, sender.maintenance ? 'planned' : AVAILABILITY[to], at);
    inState[sender.state].delete(sender);
    inState[to].add(sender);
    sender.state = to;
    sender.stateSinceMs = at;
    sender.reason = reason;
    changed(sender);
    return change;
  }

  /**
   * Liveness at `nowMs`, with grace = lateGraceMs ?? max(1000, interval/2):
   * - `up` -> `late` once nowMs >= expectedAt + grace (reason `no_beat`);
   * - `up`/`late` -> `down` once nowMs >= expectedAt + grace + (downAfterMisses - 1) * interval,
   *   i.e. downAfterMisses beats missed (reason `missed_<n>`); a jump past
   *   both thresholds is one change up -> down;
   * - `down` stays down; `stopped` never goes late, and goes `down` (reason
   *   `not_back`) only with a stoppedTimeoutMs, once that long has passed
   *   since its bye (and not before the floor a monitor restart or a blind
   *   time sets: a sender back meanwhile must have the time to show).
   * The change is dated at the threshold, not at nowMs.
   *
   * Heartbeat bar: the k-th expected beat after the latest one is overdue at
   * expectedAt + grace + (k - 1) * interval; each overdue beat is pushed as
   * 'missed' once (also while down).
   */
  function evaluate(sender: Sender, nowMs: number): StateChange | null {
    if (sender.state === 'stopped' || sender.state === 'pending') {
      // Stopped: down once not back by STOPPED_TIMEOUT; never heard from: by its declaration + interval + grace.
      const ownDeadline = ownDeadlineOf(sender);
      if (ownDeadline === null) return null;
      const downAt = Math.max(ownDeadline, sender.listenFloorMs);
      if (nowMs < downAt) return null;
      if (sender.state === 'pending') return transition(sender, 'down', 'never_seen', downAt);
      // The beats it did not send while stopped were not expected: missed are only those due from now on.
      const lateAt = lateAtOf(sender);
      sender.missedMarks = Math.max(sender.missedMarks, overdueBeats(downAt, lateAt, intervalOf(sender)));
      return transition(sender, 'down', 'not_back', downAt);
    }
    const interval = intervalOf(sender);
    if (interval <= 0) return null;
    const ownLateAt = lateAtOf(sender);
    const lateAt = Math.max(ownLateAt, sender.listenFloorMs);
    if (nowMs < lateAt) return null;
    const overdue = overdueBeats(nowMs, lateAt, interval);
    if (overdue > sender.missedMarks) {
      pushMark(sender.heartbeats, 'missed', overdue - sender.missedMarks);
      sender.missedMarks = overdue;
      changed(sender);
    }
    if (sender.state === 'down') return null;
    const downAt = Math.max(downAtMs(ownLateAt, interval, downAfterMisses), sender.listenFloorMs);
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
    kind: Beat['kind'],
    beatReason: string,
    atMs: number,
    changes: StateChange[] | null,
  ): StateChange[] | null {
    const to: SenderState = kind === 'bye' ? 'stopped' : 'up';
    if (sender.state === to) return changes;
    const change = transition(sender, to, kind === 'bye' ? 'bye' : beatReason, atMs);
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
    const { delayLastMs, jitterMs } = sender;
    recordDelay(sender, delayMs);
    sender.jitterMs = nextJitter(jitterMs, sender.lastTransitMs, delayMs);
    sender.lastTransitMs = delayMs;
    if (delayMs < sender.baseDelayMs) sender.baseDelayMs = delayMs;
    timings.move(delayLastMs, jitterMs, sender.delayLastMs, sender.jitterMs);
  }

  /**
   * Beats in sequence that took longer than the grace beyond the boot's best
   * delay, STEP_BEATS in a row: a clock stepped (the sender's back, or the
   * monitor's forward), which lengthens every delay from then on, and would
   * leave the expected time of every beat in the past for good (a live
   * sender judged down on every tick). The base becomes this beat's delay.
   * One beat held up on the way is not a step, and changes nothing; a burst
   * of held-up beats may move the base up, and a later beat with the usual
   * delay brings it back down (sampleTiming keeps the minimum).
   */
  function rebaseAfterStep(sender: Sender, delayMs: number): void {
    if (delayMs - sender.baseDelayMs <= graceOf(sender)) {
      sender.slowBeats = 0;
    } else if (++sender.slowBeats >= STEP_BEATS) {
      sender.baseDelayMs = delayMs;
      sender.slowBeats = 0;
    }
  }

  /** The send time of the sender's latest beat (text: its arrival): the beats a restart hid were before it, and it has shown. */
  function lastBeat(sender: Sender, sentAtMs: number): void {
    sender.lastSentMs = sentAtMs;
    sender.hiddenMs = 0;
    sender.listenFloorMs = 0;
  }

  /** Starts the timing of a boot at its first datagram: no jitter sample yet. */
  function startTiming(sender: Sender, beat: Beat, delayMs: number): void {
    recordDelay(sender, delayMs);
    sender.jitterMs = 0;
    sender.lastTransitMs = delayMs;
    sender.baseDelayMs = delayMs;
    sender.slowBeats = 0;
    lastBeat(sender, beat.sentAtMs);
    sender.intervalMs = beat.intervalMs;
    sender.missedMarks = 0;
  }

  /**
   * Of `gap` beats missing before this datagram, those that may have arrived
   * while the monitor itself was away (before its restart) or blind (its
   * queue or the kernel dropped datagrams): they are unknown, not lost.
   * Those of the latest such time, and those counted for earlier ones
   * (excusedEarlier). A window the last beat came after excuses nothing, so
   * it needs no resetting.
   */
  function excusedBeats(sender: Sender, gap: number): number {
    if (!unobservedSinceLastBeat(sender)) return 0;
    return Math.min(
      gap,
      sender.excusedEarlier + beatsDueIn(sender, sender.unobservedFromMs, sender.unobservedUntilMs),
    );
  }

  /** Whether the latest unobserved time ended after the sender's last beat arrived (with the boot's best delay). */
  function unobservedSinceLastBeat(sender: Sender): boolean {
    return sender.unobservedUntilMs > lastArrivalOf(sender);
  }

  /**
   * How many of the beats after the sender's last one may have arrived from
   * `fromMs` until `untilMs`. Beat k is due at the last beat's arrival + k x
   * interval, with the boot's best delay, on the monitor's clock (a sender
   * whose clock is ahead would otherwise excuse too few); it counts when it
   * was due by untilMs, and no more than the grace before fromMs: one due
   * earlier would have arrived while the monitor was reading all.
   */
  function beatsDueIn(sender: Sender, fromMs: number, untilMs: number): number {
    return beatsDueBetween(
      lastArrivalOf(sender),
      intervalOf(sender),
      fromMs - graceOf(sender),
      untilMs,
      'at',
    );
  }

  /** When the sender's latest beat arrived, with the boot's best delay (text: when it arrived). */
  function lastArrivalOf(sender: Sender): number {
    return sender.lastSentMs + sender.baseDelayMs;
  }

  /** A protocol sender heard from: in the timing histograms (its delay and jitter are samples). */
  function inTimings(sender: Sender): boolean {
    return sender.kind === 'protocol' && sender.firstSeenMs !== null;
  }

  /** Moves the sender to the end of its silence order; its second datagram, to the other order. */
  function touch(sender: Sender, nowMs: number): void {
    sender.lastSeenMs = nowMs;
    changed(sender);
    if (!sender.heardOnce) silence.moveToEnd(sender);
    else if (sender.received < 2) heardOnce.moveToEnd(sender);
    else {
      heardOnce.remove(sender);
      sender.heardOnce = false;
      silence.append(sender);
    }
  }

  /** The silence order a sender entering the tracker goes to. */
  function orderIn(sender: Sender): void {
    sender.heardOnce = sender.received < 2 && sender.declaration === null;
    (sender.heardOnce ? heardOnce : silence).append(sender);
  }

  function changed(sender: Sender): void {
    if (sender.dirty) return;
    sender.dirty = true;
    dirty[dirtyCount++] = sender;
    if (!taking && dirtyCount - dirtyHead > 2 * senders.size + DIRTY_SLACK) compactDirty();
  }

  /** Drops the entries of forgotten senders, in place and in order: afterwards no more entries than senders. */
  function compactDirty(): void {
    let kept = dirtyHead;
    for (let i = dirtyHead; i < dirtyCount; i++) {
      const sender = dirty[i] as Sender;
      if (sender.dirty) dirty[kept++] = sender;
    }
    dirty.fill(null, kept, dirtyCount);
    dirtyCount = kept;
  }

  /**
   * Drops the longest-silent undeclared sender heard from once at most, or
   * if there is none the longest-silent undeclared one: O(1) but for
   * declared ones before it.
   */
  function evictLongestSilent(): string | null {
    for (const order of evictionOrders) {
      for (const sender of order.fromLongestSilent()) {
        if (sender.declaration !== null) continue;
        forget(sender);
        evictions++;
        return sender.source;
      }
    }
    return null;
  }

  function forget(sender: Sender): void {
    if (inTimings(sender)) timings.remove(sender.delayLastMs, sender.jitterMs);
    sorted.remove(sender.source);
    senders.delete(sender.source);
    (sender.heardOnce ? heardOnce : silence).remove(sender);
    inState[sender.state].delete(sender);
    sender.dirty = false;
    removed.push(sender.source);
  }

  /** A record into every index forget() takes it out of (but the timings): by source, in order, by silence, by state. */
  function enter(sender: Sender): void {
    // Blind times before it came were not its own (restore() takes in the monitor's absence itself).
    sender.blindSeen = blindLetGo + blindTimes.length;
    senders.set(sender.source, sender);
    sorted.add(sender.source);
    orderIn(sender);
    inState[sender.state].add(sender);
  }

  /** A new record at the end of the silence order, making room first. */
  function insert(sender: Sender, o: Observation): void {
    if (senders.size >= maxSenders) o.evicted = evictLongestSilent();
    enter(sender);
    changed(sender);
  }

  /**
   * The first protocol datagram of a sender: `up` (reason `first_beat`), or
   * `stopped` for a bye. Its seq is the base of the boot: no loss is charged
   * for seqs before it (the monitor may start mid-stream). A declared sender
   * was `pending` (or `down`, never_seen) until now. A key heard from as
   * plain text until now (a protocol `source` equal to a text sender's
   * address) goes on as the same sender: its counts stay, and it changes
   * state only if it was not in this one already (reason `beat`), so text
   * and protocol datagrams under one key invent no change.
   */
  function firstDatagram(sender: Sender, beat: Beat, delayMs: number): StateChange | null {
    const to: SenderState = beat.kind === 'bye' ? 'stopped' : 'up';
    const heard = sender.firstSeenMs !== null;
    sender.boot = beat.boot;
    if (!heard) sender.firstSeenMs = beat.receivedAtMs;
    sender.received = heard ? sender.received + 1 : 1;
    sender.delayMinMs = delayMs;
    sender.delayMaxMs = delayMs;
    sender.notBeforeMs = 0;
    startSequence(sender.sequence, beat.seq);
    startTiming(sender, beat, delayMs);
    if (beat.kind === 'beat') pushMark(sender.heartbeats, 'received');
    const from = sender.state;
    if (heard && from === to) return null;
    transition(sender, to, to === 'stopped' ? 'bye' : heard ? 'beat' : 'first_beat', beat.receivedAtMs);
    // A brand-new record reports `from: null`: the sender is new to the monitor.
    return {
      source: sender.source,
      from: sender.declaration === null && from === 'pending' ? null : from,
      to,
      reason: sender.reason,
      atMs: beat.receivedAtMs,
    };
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
    sender.notBeforeMs = 0;
    sender.unobservedFromMs = 0;
    sender.unobservedUntilMs = 0;
    sender.excusedEarlier = 0;
    startSequence(sender.sequence, beat.seq);
    const { delayLastMs, jitterMs } = sender;
    startTiming(sender, beat, delayMs);
    timings.move(delayLastMs, jitterMs, sender.delayLastMs, sender.jitterMs);
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
    if (sender !== undefined) caughtUp(sender);
    else {
      sender = blankSender(beat.source, 'protocol', 'pending', 'new', nowMs, shape);
      insert(sender, o);
      o.isNewSender = true;
    }
    if (!inTimings(sender)) {
      sender.kind = 'protocol';
      sender.textGapsMs = null;
      touch(sender, nowMs);
      const change = firstDatagram(sender, beat, delayMs);
      o.changes = change === null ? NO_CHANGES : [change];
      timings.add(sender.delayLastMs, sender.jitterMs);
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
      o.changes =
        arrive(sender, beat.kind, 'restart', nowMs, overdue === null ? null : [overdue]) ?? NO_CHANGES;
      return o;
    }

    touch(sender, nowMs);
    switch (acceptSeq(sender.sequence, beat.seq)) {
      case 'next': {
        const gap = sender.sequence.gap - excusedBeats(sender, sender.sequence.gap);
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
        rebaseAfterStep(sender, delayMs);
        lastBeat(sender, beat.sentAtMs);
        sender.intervalMs = beat.intervalMs;
        // A floor (a blind time's) stays: a beat that waited in the monitor's queue must not lift it.
        o.changes =
          arrive(sender, beat.kind, 'beat', nowMs, overdue === null ? null : [overdue]) ?? NO_CHANGES;
        return o;
      }
      case 'duplicate':
        sender.duplicates++;
        o.duplicate = true;
        return o;
      case 'late':
        sender.outOfOrder++;
        // Charged as lost when its gap was passed, it is not lost after all. Unless it was one of
        // the gap's excused beats (the monitor away or blind), which were never charged: which
        // ones were is not kept, so the count only never goes below zero.
        if (sender.lost > 0) {
          sender.lost--;
          o.lostDelta = -1;
        }
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

  /**
   * A plain-text datagram (no boot, no seq): the sender is keyed by its
   * address. Its interval is the declared one, else the median of its
   * latest gaps once TEXT_GAPS_NEEDED have arrived; until then it has no
   * deadline. Loss is the intervals a gap covers beyond the one that came.
   */
  function observeText(address: string, receivedAtMs: number): Observation {
    const o = resetObservation(0);
    let sender = senders.get(address);
    if (sender !== undefined) caughtUp(sender);
    else {
      sender = blankSender(address, 'text', 'pending', 'new', receivedAtMs, shape);
      insert(sender, o);
      o.isNewSender = true;
    }
    if (sender.textGapsMs === null) sender.textGapsMs = [];
    if (inTimings(sender)) {
      // Heard through the protocol until now: its beats' times were the sender's clock; text is timed on ours.
      // Its last beat is the same one (not lastBeat(): what a restart hid and its floor stay until this
      // datagram is judged against them, below).
      timings.remove(sender.delayLastMs, sender.jitterMs);
      sender.lastSentMs = sender.lastSeenMs;
      sender.baseDelayMs = 0;
    }
    sender.kind = 'text';
    sender.received++;
    if (sender.firstSeenMs === null) {
      const from = sender.state;
      sender.firstSeenMs = receivedAtMs;
      sender.notBeforeMs = 0;
      touch(sender, receivedAtMs);
      lastBeat(sender, receivedAtMs);
      pushMark(sender.heartbeats, 'received');
      transition(sender, 'up', 'first_beat', receivedAtMs);
      o.changes = [
        {
          source: address,
          from: sender.declaration === null && from === 'pending' ? null : from,
          to: 'up',
          reason: 'first_beat',
          atMs: receivedAtMs,
        },
      ];
      return o;
    }
    // The gap from the last beat's arrival (lastSentMs, for text); a datagram within TEXT_BURST_MS
    // of it is part of that beat (a message sent as several datagrams, lines written at once):
    // counted and heard, but no beat of its own, so the gaps keep the sender's period.
    const gapMs = receivedAtMs - sender.lastSentMs;
    if (gapMs < TEXT_BURST_MS) {
      touch(sender, receivedAtMs);
      return o;
    }
    const overdue = evaluate(sender, receivedAtMs);
    const interval = intervalOf(sender);
    const missedAll = interval > 0 ? missedIntervals(gapMs, interval) : 0;
    const missed = missedAll - excusedBeats(sender, missedAll);
    sender.lost += missed;
    o.lostDelta = missed;
    markArrival(sender, missed, 'beat');
    const gaps = sender.textGapsMs;
    gaps.push(gapMs);
    if (gaps.length > TEXT_GAPS_KEPT) gaps.shift();
    sender.intervalMs = inferInterval(gaps) ?? 0;
    lastBeat(sender, receivedAtMs);
    touch(sender, receivedAtMs);
    const changes = overdue === null ? null : [overdue];
    o.changes = arrive(sender, 'beat', 'beat', receivedAtMs, changes) ?? NO_CHANGES;
    return o;
  }

  function declare(
    declared: ReadonlyArray<{ source: string; kind: SenderKind } & Declaration>,
    nowMs: number,
  ): Array<{ source: string; reason: EvictReason }> {
    const letGo: Array<{ source: string; reason: EvictReason }> = [];
    // What is no longer declared is an ordinary sender again; one never heard from is forgotten.
    const now = new Set(declared.map((d) => d.source));
    for (const sender of [...senders.values()]) {
      if (sender.declaration === null || now.has(sender.source)) continue;
      caughtUp(sender).declaration = null;
      changed(sender);
      if (sender.firstSeenMs === null) {
        forget(sender);
        letGo.push({ source: sender.source, reason: 'unlisted' });
      }
    }
    const declarationOf = (d: Declaration): Declaration => ({
      intervalMs: d.intervalMs,
      graceMs: d.graceMs,
      displayName: d.displayName,
    });
    // The senders known already first: declared before a new one makes room, none of them is evicted for it.
    const fresh: Array<(typeof declared)[number]> = [];
    for (const d of declared) {
      const sender = senders.get(d.source);
      if (sender === undefined) {
        fresh.push(d);
        continue;
      }
      caughtUp(sender).declaration = declarationOf(d);
      // Never heard from: down at its declaration + interval + grace, by the declaration as it is now. Not
      // from now: a start must not put it off (listening() gives it what the monitor's absence took).
      if (sender.state === 'pending')
        sender.notBeforeMs = sender.stateSinceMs + d.intervalMs + graceOf(sender);
      changed(sender);
    }
    for (const d of fresh) {
      const sender = blankSender(d.source, d.kind, 'pending', 'declared', nowMs, shape);
      sender.declaration = declarationOf(d);
      sender.notBeforeMs = nowMs + d.intervalMs + graceOf(sender);
      // A full tracker makes room with the longest-silent undeclared sender: let go as any eviction.
      const o = resetObservation(0);
      insert(sender, o);
      if (o.evicted !== null) letGo.push({ source: o.evicted, reason: 'max_senders' });
    }
    // Declared senders are kept whatever MAX_SENDERS says; undeclared ones make room (a MAX_SENDERS
    // lowered since the file was written too).
    while (senders.size > maxSenders) {
      const source = evictLongestSilent();
      if (source === null) break;
      letGo.push({ source, reason: 'max_senders' });
    }
    return letGo;
  }

  /**
   * A restart: every stored sender comes back with its state and its
   * deadlines. Its uptime is credited as it was up to when the previous run
   * was last alive; the gap until the socket is bound (listening()) is
   * unknown, the time this start takes to load included, and nothing it
   * sent then is charged as lost.
   */
  function restore(
    stored: readonly Sender[],
    { monitorStartMs, lastAliveMs, recordedUntilMs }: RestoreOptions,
  ): void {
    const ordered = [...stored].sort((a, b) => a.lastSeenMs - b.lastSeenMs);
    for (const sender of ordered) {
      if (senders.has(sender.source)) continue;
      creditUptime(sender.uptime, Math.min(lastAliveMs, monitorStartMs));
      // Unobserved until listening(), from when it is as its state says (and silences).
      setAvailability(sender.uptime, 'unknown', Math.min(lastAliveMs, monitorStartMs));
      // Since its last beat: the previous run may have heard beats it had not written yet.
      unobserved(sender, 0, monitorStartMs, false);
      restoredRecords.set(sender, awayFrom(sender, recordedUntilMs?.get(sender.source) ?? 0));
      enter(sender);
      if (inTimings(sender)) timings.add(sender.delayLastMs, sender.jitterMs);
    }
  }

  /** When the socket was bound (listening()); null before. */
  let listeningAtMs: number | null = null;
  /** The end of the latest blind time (blind()): what arrived before it may be lost. */
  let blindUntilMs = Number.NEGATIVE_INFINITY;

  /**
   * The socket is bound: the monitor observes from now on. A restored
   * sender takes in the monitor's absence (absent()), by its declaration as
   * it is now; a declared one new to the file (pending) is down at now +
   * interval + grace at the earliest (reading a large file takes a while).
   * A restored sender's uptime counts from now, as its state says.
   */
  function listening(nowMs: number): void {
    listeningAtMs = nowMs;
    for (const sender of senders.values()) {
      const awayFromMs = restoredRecords.get(sender);
      if (awayFromMs !== undefined) {
        unobserved(caughtUp(sender), sender.unobservedFromMs, nowMs, false);
        if (awayFromMs !== null) absent(sender, awayFromMs, nowMs);
        setAvailability(sender.uptime, sender.maintenance ? 'planned' : AVAILABILITY[sender.state], nowMs);
      } else if (sender.state === 'pending') {
        sender.notBeforeMs = Math.max(sender.notBeforeMs, nowMs + intervalOf(sender) + graceOf(sender));
        changed(sender);
      }
    }
    restoredRecords.clear();
  }

  /**
   * When a sender is down if nothing comes, by its own record: null for
   * never (down already, stopped with no timeout, no interval known). Not
   * the floor a restart sets (listenFloorMs): evaluate() takes the later.
   */
  function ownDeadlineOf(sender: Sender): number | null {
    const interval = intervalOf(sender);
    switch (sender.state) {
      case 'down':
        return null;
      case 'stopped':
        return stoppedTimeoutMs === 0
          ? null
          : Math.max(sender.stateSinceMs + stoppedTimeoutMs, sender.notBeforeMs);
      case 'pending':
        return interval > 0 ? sender.notBeforeMs : null;
      default:
        return interval > 0 ? downAtMs(lateAtOf(sender), interval, downAfterMisses) : null;
    }
  }

  /**
   * A restored sender, by its record and the configuration it was written
   * with (before declare() brings the one of this start): since when the
   * monitor's absence may have hidden what decides its deadlines, or null
   * where it hid nothing (restore() keeps it until listening()).
   * - The record knew everything the previous run had heard until
   *   `recordedUntilMs` (the state file's watermark). A sender that was due
   *   down before then, floor included, was due while the monitor watched:
   *   null, and the first tick marks it, dated at its deadline. So a monitor
   *   restarted more often than a sender beats (an hourly deploy, a crash
   *   loop) still finds it dead.
   * - A restart's floor (listenFloorMs) stands at the next start while no
   *   run has watched through it: a sender that started, came back or
   *   restarted (on a new schedule) while the monitor was away may not have
   *   shown yet, its beats in the absences since. So a monitor whose runs
   *   never last an interval + grace cannot tell a dead sender from such a
   *   one, and finds neither down; one run that long is enough.
   */
  function awayFrom(sender: Sender, recordedUntilMs: number): number | null {
    const deadline = ownDeadlineOf(sender);
    // The floor is kept (a write before listening() must not lose it): one watched through is past anyway.
    const dueAt = deadline === null ? null : Math.max(deadline, sender.listenFloorMs);
    return dueAt === null || dueAt < recordedUntilMs ? null : recordedUntilMs;
  }

  /**
   * The monitor was away from `awayFromMs` until `listenMs`, and may have
   * hidden a beat that would have decided the sender's deadlines:
   * - each beat due in the absence (and the grace before it: one due then
   *   may have come after the record ended), counted from where the
   *   previous restart's count ended (hiddenUntilMs) at the earliest, is not
   *   counted as missed: late and down come one interval later for each
   *   (hiddenMs, stored) until the sender beats again;
   * - and its late and down (never_seen, not_back) are no earlier than
   *   listening + interval + grace (listenFloorMs, stored: awayFrom()): a
   *   sender that started, restarted or came back while the monitor was
   *   away beats by then on a schedule of its own.
   */
  function absent(sender: Sender, awayFromMs: number, listenMs: number): void {
    const interval = intervalOf(sender);
    if (sender.state === 'up' || sender.state === 'late') {
      // From where the previous restart's count ended, not again.
      const counted = sender.hiddenUntilMs >= awayFromMs - graceOf(sender);
      const hidden = counted
        ? beatsDueBetween(lastArrivalOf(sender), interval, sender.hiddenUntilMs, listenMs, 'after')
        : beatsDueIn(sender, awayFromMs, listenMs);
      sender.hiddenMs += hidden * interval;
      sender.hiddenUntilMs = listenMs;
    }
    sender.listenFloorMs = listenMs + interval + graceOf(sender);
    changed(sender);
  }

  /**
   * Nothing the sender sent that arrived from `fromMs` (0: since its last
   * beat) until `untilMs` was observed: not charged as lost, and (`floor`:
   * a blind time) no deadline before untilMs + interval + grace. One that overlaps the latest such
   * time since the sender's last beat (overruns seen at consecutive checks)
   * extends it; one after it, with the monitor reading all in between,
   * starts anew, and the beats of the one before are counted now: the
   * beats due in between are charged.
   */
  function unobserved(sender: Sender, fromMs: number, untilMs: number, floor = true): void {
    if (!unobservedSinceLastBeat(sender)) {
      sender.excusedEarlier = 0;
      sender.unobservedFromMs = fromMs;
    } else if (fromMs <= sender.unobservedUntilMs) {
      sender.unobservedFromMs = Math.min(sender.unobservedFromMs, fromMs);
    } else {
      sender.excusedEarlier += beatsDueIn(sender, sender.unobservedFromMs, sender.unobservedUntilMs);
      sender.unobservedFromMs = fromMs;
    }
    sender.unobservedUntilMs = Math.max(sender.unobservedUntilMs, untilMs);
    const interval = intervalOf(sender);
    if (floor && sender.state !== 'down' && interval > 0) {
      const notBeforeMs = Math.max(sender.notBeforeMs, untilMs + interval + graceOf(sender));
      // Written, silent sender or not: the file's watermark passes the blind time once every sender took it in.
      if (notBeforeMs !== sender.notBeforeMs) changed(sender);
      sender.notBeforeMs = notBeforeMs;
    }
  }

  /** The sender, having taken in the blind times it has not yet (blindTimes). */
  function caughtUp(sender: Sender): Sender {
    const seen = blindLetGo + blindTimes.length;
    for (let i = sender.blindSeen - blindLetGo; i < blindTimes.length; i++) {
      const time = blindTimes[i] as { fromMs: number; untilMs: number };
      unobserved(sender, time.fromMs, time.untilMs);
    }
    sender.blindSeen = seen;
    return sender;
  }

  function blind(fromMs: number, untilMs: number): void {
    blindUntilMs = Math.max(blindUntilMs, untilMs);
    blindTimes.push({ fromMs, untilMs });
    if (blindTimes.length > MAX_BLIND_TIMES) {
      for (const sender of senders.values()) caughtUp(sender);
      letGoBlindTimes(blindLetGo + blindTimes.length);
    }
  }

  function blindSinceMs(): number {
    let since = Number.POSITIVE_INFINITY;
    for (const time of blindTimes) since = Math.min(since, time.fromMs);
    return since;
  }

  /** Every sender has taken in the blind times before `seen`. */
  function letGoBlindTimes(seen: number): void {
    if (seen <= blindLetGo) return;
    blindTimes.splice(0, seen - blindLetGo);
    blindLetGo = seen;
  }

  function pass(nowMs: number): LivenessPass {
    // Reads count the time not yet credited (uptimePercent), so the buckets are filled every few seconds only.
    const credit = nowMs - creditedAtMs >= UPTIME_CREDIT_EVERY_MS;
    if (credit) creditedAtMs = nowMs;
    // A Map's iterator skips what was deleted and reaches what was added: it outlives the steps.
    const left = senders.values();
    // Every sender it reaches takes in these blind times (those that came later, too): any sender there
    // is at its end was there at its start, or came since (enter()).
    const blindSeenAtStart = blindLetGo + blindTimes.length;
    let done = false;
    return {
      step(limit) {
        const changes: StateChange[] = [];
        for (let i = 0; i < limit; i++) {
          const next = left.next();
          if (next.done === true) {
            if (!done) letGoBlindTimes(blindSeenAtStart);
            done = true;
            break;
          }
          const sender = caughtUp(next.value);
          const change = evaluate(sender, nowMs);
          if (change !== null) changes.push(change);
          if (credit) creditUptime(sender.uptime, nowMs);
        }
        return changes;
      },
      get done() {
        return done;
      },
    };
  }

  function tick(nowMs: number): StateChange[] {
    return pass(nowMs).step(Number.POSITIVE_INFINITY);
  }

  function toView(sender: Sender, nowMs: number): SenderView {
    const view = toSummary(sender, nowMs) as SenderView;
    view.heartbeats = heartbeatList(sender.heartbeats);
    return view;
  }

  function toSummary(sender: Sender, nowMs: number): SenderSummary {
    caughtUp(sender);
    const seen = sender.firstSeenMs !== null;
    const interval = intervalOf(sender);
    return {
      source: sender.source,
      kind: sender.kind,
      displayName: sender.declaration?.displayName ?? null,
      declared: sender.declaration !== null,
      maintenance: sender.maintenance,
      boot: seen && sender.kind === 'protocol' ? sender.boot : null,
      state: sender.state,
      stateSinceMs: sender.stateSinceMs,
      reason: sender.reason,
      firstSeenMs: sender.firstSeenMs,
      lastSeenMs: seen ? sender.lastSeenMs : null,
      lastSeq: seen && sender.kind === 'protocol' ? sender.sequence.highest : null,
      intervalMs: interval > 0 ? interval : null,
      // When it is late, less the grace: its next beat's expected arrival after those hidden, or a floor.
      expectedAtMs:
        interval <= 0 || sender.state === 'stopped'
          ? null
          : Math.max(seen ? lateAtOf(sender) : sender.notBeforeMs, sender.listenFloorMs) - graceOf(sender),
      ...countersOf(sender),
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
    };
  }

  function matches(sender: Sender, q: string | undefined): boolean {
    if (q === undefined || q === '') return true;
    return sender.source.includes(q) || (sender.declaration?.displayName?.includes(q) ?? false);
  }

  /**
   * The one walk through the senders in the sources' order, of a page and of
   * the urgent choice: from after `after` (from the first: undefined), those
   * in `state` (any: undefined) that match `q` handed to `take` until it
   * says to stop (false), `scan` senders passed over at most. Returns how
   * many it passed over, the last of them (null: none), and whether the
   * list ran out.
   */
  function walkSorted(
    after: string | undefined,
    scan: number,
    state: SenderState | undefined,
    q: string | undefined,
    take: (sender: Sender) => boolean,
  ): { passed: number; last: string | null; atEnd: boolean } {
    const list = sorted.list();
    const from = after === undefined ? 0 : firstAfter(list, after);
    const end = Math.min(list.length, from + scan);
    let i = from;
    while (i < end) {
      const sender = senders.get(list[i++] as string) as Sender;
      if ((state !== undefined && sender.state !== state) || !matches(sender, q)) continue;
      if (!take(sender)) break;
    }
    return { passed: i - from, last: list[i - 1] ?? null, atEnd: i >= list.length };
  }

  function page(
    query: SenderQuery,
    nowMs: number,
  ): { views: Array<SenderSummary | SenderView>; next: string | null } {
    const build = query.heartbeats === true ? toView : toSummary;
    const views: Array<SenderSummary | SenderView> = [];
    // One more sender that matches tells that there is a next page.
    let more = false;
    const walked = walkSorted(
      query.after,
      query.scan ?? Number.POSITIVE_INFINITY,
      query.state,
      query.q,
      (sender) => {
        more = views.length === query.limit;
        if (!more) views.push(build(sender, nowMs));
        return !more;
      },
    );
    if (more) return { views, next: views.at(-1)?.source ?? null };
    // A scan that ran out: the next part goes on after the last one passed over.
    return { views, next: walked.atEnd ? null : walked.last };
  }

  /**
   * The choice of the `limit` most urgent senders matching `q`: state by
   * state in urgency order, the first of each by source, found the cheaper
   * way: the state's own set sorted, or the sorted sources walked until
   * enough are found. The walk visits about need * senders / (senders in the
   * state) sources, all of them at most; sorting the set compares size *
   * log2(size) times, and counts as passing over the set. At 50,000 senders
   * with a hundred stopped, the walk alone passed all 50,000 to find the
   * hundred (6.5 ms for the metrics' 1,000 senders, 0.75 ms with none
   * stopped), and again for every other state with a sender in it; with
   * nearly all up, the first thousand up are among the first thousand or so
   * sources. A walk that runs out of its step's scan goes on in the next
   * step from the last source it passed (a page's cursor).
   */
  function urgentChoice(limit: number, q: string | undefined): UrgentChoice {
    const sources: string[] = [];
    const chosen = new Set<string>();
    const choose = (sender: Sender): void => {
      // Chosen in a state it has left since: not again in the one it is in now.
      if (chosen.has(sender.source)) return;
      chosen.add(sender.source);
      sources.push(sender.source);
    };
    /** Whether sorting a state's set costs less than the walk for the `need` senders still wanted would. */
    const sortsCheaper = (members: number, need: number): boolean =>
      members * Math.log2(members + 1) <= Math.min(senders.size, (need * senders.size) / members);
    const sortSet = (members: ReadonlySet<Sender>): void => {
      const found = [...members].filter((sender) => matches(sender, q)).sort(bySource);
      for (const sender of found) {
        if (sources.length === limit) break;
        choose(sender);
      }
    };
    let stateIndex = 0;
    /** The walk of the state at stateIndex, under way: where it goes on (after `walkedTo`; from the start: undefined). */
    let walking = false;
    let walkedTo: string | undefined;
    /** The walk for `state`, on from where it stopped, over `budget` sources at most: how many it passed, and whether it is done. */
    const walkOn = (state: SenderState, budget: number): { passed: number; done: boolean } => {
      const walked = walkSorted(walkedTo, budget, state, q, (sender) => {
        choose(sender);
        return sources.length < limit;
      });
      const done = walked.atEnd || sources.length >= limit;
      if (!done) walkedTo = walked.last ?? walkedTo;
      return { passed: walked.passed, done };
    };
    return {
      sources,
      step(scan) {
        // Each step must get on: a step of no senders would be taken again for ever.
        if (!(scan >= 1))
          throw new RangeError(`a step of the urgent choice passes over at least one sender, not ${scan}`);
        let budget = scan;
        while (sources.length < limit && stateIndex < URGENCY_ORDER.length) {
          if (budget <= 0) return false;
          const state = URGENCY_ORDER[stateIndex] as SenderState;
          const members = inState[state];
          if (!walking) {
            if (members.size === 0) {
              stateIndex++;
              continue;
            }
            if (sortsCheaper(members.size, limit - sources.length)) {
              // A set larger than what the step has left waits for the next step, unless the step is fresh.
              if (members.size > budget && budget < scan) return false;
              sortSet(members);
              budget -= members.size;
              stateIndex++;
              continue;
            }
            walking = true;
            walkedTo = undefined;
          }
          const { passed, done } = walkOn(state, budget);
          // Not done: the budget is spent, and the walk goes on in the next step.
          budget -= passed;
          if (done) {
            walking = false;
            stateIndex++;
          }
        }
        return true;
      },
    };
  }

  return {
    page,
    urgentSources(limit, q) {
      const choice = urgentChoice(limit, q);
      choice.step(Number.POSITIVE_INFINITY);
      return [...choice.sources];
    },
    urgentChoice,
    observe,
    observeText,
    declare,
    isDeclared(source) {
      return senders.get(source)?.declaration != null;
    },
    forgetSender(source) {
      const sender = senders.get(source);
      if (sender === undefined) return false;
      forget(sender);
      return true;
    },
    setMaintenance(source, on, atMs) {
      const sender = senders.get(source);
      if (sender === undefined || sender.maintenance === on) return;
      sender.maintenance = on;
      setAvailability(sender.uptime, on ? 'planned' : AVAILABILITY[sender.state], atMs);
      // Its uptime's current availability is stored: a restart credits the time until then by it.
      changed(caughtUp(sender));
    },
    restore,
    listening,
    showsByMs(source) {
      const sender = senders.get(source);
      if (sender === undefined) return null;
      if (listeningAtMs === null) return Number.POSITIVE_INFINITY;
      if (sender.lastSeenMs >= listeningAtMs) return null;
      // A blind time since moves it on: a beat then may be among what the monitor lost.
      return Math.max(listeningAtMs, blindUntilMs) + intervalOf(sender) + graceOf(sender);
    },
    blind,
    blindSinceMs,
    markDirty(sender) {
      if (senders.get(sender.source) !== sender) return false;
      changed(sender);
      return true;
    },
    takeDirty(visit, limit = Number.POSITIVE_INFINITY) {
      // Not those a visit changes again: they were put after `end`.
      const end = Math.min(dirtyCount, dirtyHead + limit);
      taking = true;
      try {
        while (dirtyHead < end) {
          const sender = dirty[dirtyHead] as Sender;
          dirty[dirtyHead++] = null;
          if (!sender.dirty) continue;
          sender.dirty = false;
          visit(caughtUp(sender));
        }
      } finally {
        taking = false;
      }
      if (dirtyHead >= dirtyCount - dirtyHead) {
        // What is left moves to the front once it is no longer than what was taken: each entry moves once at most,
        // and lands before dirtyHead, where the taken ones were.
        dirty.copyWithin(0, dirtyHead, dirtyCount);
        dirty.fill(null, dirtyHead, dirtyCount);
        dirtyCount -= dirtyHead;
        dirtyHead = 0;
      }
      // A source forgotten and heard from again since has a new record, dirty since it came: its row
      // is replaced by that record's, not removed.
      const gone = removed.splice(0);
      return gone.some((source) => senders.has(source))
        ? gone.filter((source) => !senders.has(source))
        : gone;
    },
    *all() {
      for (const sender of senders.values()) yield caughtUp(sender);
    },
    timings,
    tick,
    pass,
    view(source, nowMs) {
      const sender = senders.get(source);
      return sender === undefined ? undefined : toView(sender, nowMs);
    },
    summary(source, nowMs) {
      const sender = senders.get(source);
      return sender === undefined ? undefined : toSummary(sender, nowMs);
    },
    views(nowMs) {
      const out: SenderView[] = [];
      for (const sender of senders.values()) out.push(toView(sender, nowMs));
      return out.sort(bySource);
    },
    stateCounts() {
      return Object.fromEntries(SENDER_STATES.map((state) => [state, inState[state].size])) as Record<
        SenderState,
        number
      >;
    },
    get size() {
      return senders.size;
    },
    get evictions() {
      return evictions;
    },
    get changedQueued() {
      return dirtyCount - dirtyHead;
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
  const { stoppedTimeoutMs = 0 } = options;
  if (!(Number.isFinite(stoppedTimeoutMs) && stoppedTimeoutMs >= 0)) {
    throw new RangeError(`stoppedTimeoutMs must be a finite number >= 0, got ${stoppedTimeoutMs}`);
  }
}
