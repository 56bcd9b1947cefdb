/**
 * The record the tracker keeps per sender, and how one is made. Shared by
 * the tracker (which changes it) and the snapshot codec (which stores and
 * restores it); nothing else sees it.
 */
import type { SenderKind, SenderState } from '../../shared/vocabulary.js';
import { createHeartbeatBar, type HeartbeatBar } from './heartbeats.js';
import { createSequenceWindow, type SequenceWindow, sequenceWords } from './sequence.js';
import type { SilenceLinks } from './silence-order.js';
import { type Availability, createUptime, UPTIME_BUCKETS, type Uptime } from './uptime.js';

/** Uptime class of each state: `stopped` is planned downtime, `pending` not observed yet. */
export const AVAILABILITY: Readonly<Record<SenderState, Availability>> = {
  pending: 'unknown',
  up: 'available',
  late: 'available',
  down: 'unavailable',
  stopped: 'planned',
};

/** What the operator declared of a sender (EXPECTED_SENDERS / SENDERS_FILE). */
export interface Declaration {
  intervalMs: number;
  /** null: the monitor's default grace. */
  graceMs: number | null;
  displayName: string | null;
}

/** A sender's counters, as the record keeps them and every view shows them. */
export interface SenderCounters {
  /** Every datagram from the sender, duplicates and stale ones included. */
  received: number;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  stale: number;
  restarts: number;
}

/** The counters of a record or a view, picked out (one place that lists them). */
export function countersOf(s: SenderCounters): SenderCounters {
  return {
    received: s.received,
    lost: s.lost,
    duplicates: s.duplicates,
    outOfOrder: s.outOfOrder,
    stale: s.stale,
    restarts: s.restarts,
  };
}

export interface Sender extends SenderCounters, SilenceLinks<Sender> {
  readonly source: string;
  kind: SenderKind;
  declaration: Declaration | null;
  /** Under a silence: its downtime is planned (uptime), and it notifies nothing. Not stored: silences are. */
  maintenance: boolean;
  /** '' for a plain-text sender and for one not heard from yet. */
  boot: string;
  /** Newest first, at most PREVIOUS_BOOTS. */
  readonly previousBoots: string[];
  state: SenderState;
  stateSinceMs: number;
  reason: string;
  /** null until the first datagram. */
  firstSeenMs: number | null;
  /** Receive time of the latest datagram of the current boot (0 before the first). */
  lastSeenMs: number;
  /** Send time and interval of the datagram with the highest seq of the current boot (text: its receive time, and the inferred interval, 0 while unknown). */
  lastSentMs: number;
  intervalMs: number;
  /** Minimum one-way delay of the current boot (0 for text). */
  baseDelayMs: number;
  /**
   * Floor of the next late deadline (and so of down): a blind time's end +
   * interval + grace; for a declared sender never heard from, its
   * declaration (or, declared at this start, the moment the monitor
   * listened) + interval + grace. 0 for none.
   */
  notBeforeMs: number;
  /**
   * Floor of the late and down deadlines a monitor restart sets where its
   * absence may have hidden the sender's beats: listening + interval +
   * grace. 0 for none. Stored: it may stand at the next start (tracker.ts
   * awayFrom()). A beat clears it: the sender has shown.
   */
  listenFloorMs: number;
  /**
   * The latest monitor restart that counted the sender's hidden beats: its
   * listening time (0 for none). The next restart counts from there at the
   * earliest, so no beat is counted twice.
   */
  hiddenUntilMs: number;
  /**
   * The beats due since the latest one that monitor restarts hid, as time:
   * their intervals, as they were (a declaration changed since does not
   * scale them). Late and down come that much later. Stored; 0 once it beats.
   */
  hiddenMs: number;
  /**
   * The monitor's latest absence or blindness since the sender's last beat,
   * on the monitor's clock: from its restart (or from a time before which it
   * had read and handled every datagram, when its queue or the kernel
   * dropped some) until it was listening again. Beats that may have arrived
   * in between are not charged as lost. unobservedUntilMs 0: none (it is
   * set back to 0 by a restart of the sender); unobservedFromMs 0: since
   * the sender's last beat. Not stored.
   */
  unobservedFromMs: number;
  unobservedUntilMs: number;
  /** Beats excused by earlier such times since the sender's last beat, apart from the latest one. Not stored. */
  excusedEarlier: number;
  /** 'missed' marks pushed since the datagram with the highest seq. */
  missedMarks: number;
  /** Beats in sequence in a row that took longer than the grace beyond baseDelayMs (a clock step shows in every one). Not stored. */
  slowBeats: number;
  delayLastMs: number;
  delayMinMs: number;
  delayMaxMs: number;
  delayMeanMs: number;
  delaySamples: number;
  jitterMs: number;
  /** Transit time (one-way delay) of the previous jitter sample of the current boot. */
  lastTransitMs: number;
  /** Plain text only: the latest gaps between arrivals, oldest first (null for protocol senders). */
  textGapsMs: number[] | null;
  readonly sequence: SequenceWindow;
  readonly heartbeats: HeartbeatBar;
  readonly uptime: Uptime;
  /** The tracker's own bookkeeping, not stored: changed since the state file last took it. */
  dirty: boolean;
  /** The tracker's own bookkeeping, not stored: how many of its blind times this record has taken in. */
  blindSeen: number;
  /** In the tracker's order of the senders heard from once at most (which MAX_SENDERS evicts first), not the other. Not stored. */
  heardOnce: boolean;
}

export interface SenderShape {
  sequenceWindow: number;
  heartbeatSlots: number;
}

/**
 * The figures of a record that are not small integers (times since the
 * epoch, delays, jitter). A plain object keeps each such field as a heap
 * number of its own (V8 boxes a double field): 18 per sender, 900,000 at
 * 50,000 senders, for every full collection to trace. A record keeps them
 * in a Float64Array at the head of its one buffer instead, behind accessors
 * of the same names (firstSeenMs's null is NaN there).
 */
const FIGURES = [
  'stateSinceMs',
  'firstSeenMs',
  'lastSeenMs',
  'lastSentMs',
  'intervalMs',
  'baseDelayMs',
  'notBeforeMs',
  'listenFloorMs',
  'hiddenUntilMs',
  'hiddenMs',
  'unobservedFromMs',
  'unobservedUntilMs',
  'delayLastMs',
  'delayMinMs',
  'delayMaxMs',
  'delayMeanMs',
  'jitterMs',
  'lastTransitMs',
] as const satisfies readonly (keyof Sender)[];

/**
 * Where a sender's parts lie in its one buffer, in bytes: the figures
 * (8-byte numbers) first, then the 4-byte uptime buckets and sequence words,
 * then the heartbeat marks.
 */
interface BufferLayout {
  uptimeAt: number;
  sequenceAt: number;
  /** The sequence ring's length, in Uint32 words. */
  words: number;
  marksAt: number;
  bytes: number;
}

function bufferLayout(shape: SenderShape): BufferLayout {
  const uptimeAt = FIGURES.length * Float64Array.BYTES_PER_ELEMENT;
  const sequenceAt = uptimeAt + UPTIME_BUCKETS * Uint32Array.BYTES_PER_ELEMENT;
  const words = sequenceWords(shape.sequenceWindow);
  const marksAt = sequenceAt + words * Uint32Array.BYTES_PER_ELEMENT;
  return { uptimeAt, sequenceAt, words, marksAt, bytes: marksAt + shape.heartbeatSlots };
}

/**
 * A sender's record: the figures, the uptime buckets, the sequence ring and
 * the heartbeat bar are views on one ArrayBuffer (one allocation, one
 * backing store and one ArrayBuffer object per sender, where there were
 * three and 14 heap numbers; docs/PERFORMANCE.md). Everything else is a
 * field of its own, set here in one order so that every record has the same
 * shape.
 */
class SenderRecord implements Sender {
  /** The FIGURES, by their index; read and written through the accessors below. */
  readonly figures: Float64Array;
  declare stateSinceMs: number;
  declare firstSeenMs: number | null;
  declare lastSeenMs: number;
  declare lastSentMs: number;
  declare intervalMs: number;
  declare baseDelayMs: number;
  declare notBeforeMs: number;
  declare listenFloorMs: number;
  declare hiddenUntilMs: number;
  declare hiddenMs: number;
  declare unobservedFromMs: number;
  declare unobservedUntilMs: number;
  declare delayLastMs: number;
  declare delayMinMs: number;
  declare delayMaxMs: number;
  declare delayMeanMs: number;
  declare jitterMs: number;
  declare lastTransitMs: number;
  kind: SenderKind;
  declaration: Declaration | null = null;
  maintenance = false;
  boot = '';
  readonly previousBoots: string[] = [];
  state: SenderState;
  reason: string;
  missedMarks = 0;
  slowBeats = 0;
  excusedEarlier = 0;
  received = 0;
  lost = 0;
  duplicates = 0;
  outOfOrder = 0;
  stale = 0;
  restarts = 0;
  delaySamples = 0;
  textGapsMs: number[] | null;
  readonly sequence: SequenceWindow;
  readonly heartbeats: HeartbeatBar;
  readonly uptime: Uptime;
  dirty = false;
  blindSeen = 0;
  heardBefore: Sender | null = null;
  heardAfter: Sender | null = null;
  heardOnce = false;

  constructor(
    readonly source: string,
    kind: SenderKind,
    state: SenderState,
    reason: string,
    atMs: number,
    shape: SenderShape,
  ) {
    const { uptimeAt, sequenceAt, words, marksAt, bytes } = bufferLayout(shape);
    const buffer = new ArrayBuffer(bytes);
    this.figures = new Float64Array(buffer, 0, FIGURES.length);
    this.kind = kind;
    this.state = state;
    this.reason = reason;
    this.textGapsMs = kind === 'text' ? [] : null;
    this.sequence = createSequenceWindow(shape.sequenceWindow, new Uint32Array(buffer, sequenceAt, words));
    this.heartbeats = createHeartbeatBar(
      shape.heartbeatSlots,
      new Uint8Array(buffer, marksAt, shape.heartbeatSlots),
    );
    this.uptime = createUptime(atMs, AVAILABILITY[state], new Uint32Array(buffer, uptimeAt, UPTIME_BUCKETS));
    this.stateSinceMs = atMs;
    this.firstSeenMs = null;
  }
}

for (const [index, name] of FIGURES.entries()) {
  const accessors: PropertyDescriptor =
    name === 'firstSeenMs'
      ? {
          get(this: SenderRecord) {
            const ms = this.figures[index] as number;
            return Number.isNaN(ms) ? null : ms;
          },
          set(this: SenderRecord, ms: number | null) {
            this.figures[index] = ms ?? Number.NaN;
          },
        }
      : {
          get(this: SenderRecord) {
            return this.figures[index];
          },
          set(this: SenderRecord, ms: number) {
            this.figures[index] = ms;
          },
        };
  Object.defineProperty(SenderRecord.prototype, name, accessors);
}

/** A sender in `state` since `atMs`, heard from never; the caller fills in what it knows. */
export function blankSender(
  source: string,
  kind: SenderKind,
  state: SenderState,
  reason: string,
  atMs: number,
  shape: SenderShape,
): Sender {
  return new SenderRecord(source, kind, state, reason, atMs, shape);
}
