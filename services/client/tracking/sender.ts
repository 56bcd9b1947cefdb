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
  /** Floor of the next late deadline (a restarted monitor's start + interval + grace); 0 for none. */
  notBeforeMs: number;
  /**
   * Set by a monitor restart to its start: beats the sender sent before then
   * fell into the monitor's own absence and are not charged as lost. 0 once
   * the first datagram after the restart has been judged. Not stored.
   */
  unobservedUntilMs: number;
  /** 'missed' marks pushed since the datagram with the highest seq. */
  missedMarks: number;
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
}

export interface SenderShape {
  sequenceWindow: number;
  heartbeatSlots: number;
}

/** Where a sender's three rings lie in its one buffer, in bytes (Uint32 parts first: they need 4-byte offsets). */
interface RingLayout {
  sequenceAt: number;
  marksAt: number;
  bytes: number;
}

function ringLayout(shape: SenderShape): RingLayout {
  const sequenceAt = UPTIME_BUCKETS * Uint32Array.BYTES_PER_ELEMENT;
  const marksAt = sequenceAt + sequenceWords(shape.sequenceWindow) * Uint32Array.BYTES_PER_ELEMENT;
  return { sequenceAt, marksAt, bytes: marksAt + shape.heartbeatSlots };
}

/**
 * The uptime buckets, the sequence ring and the heartbeat bar of one sender,
 * as views on one ArrayBuffer: one allocation, one backing store and one
 * ArrayBuffer object per sender where there were three (at 50,000 senders,
 * 100,000 fewer objects for the collector to trace; docs/PERFORMANCE.md).
 */
function senderRings(shape: SenderShape): { uptime: Uint32Array; words: Uint32Array; marks: Uint8Array } {
  const { sequenceAt, marksAt, bytes } = ringLayout(shape);
  const buffer = new ArrayBuffer(bytes);
  return {
    uptime: new Uint32Array(buffer, 0, UPTIME_BUCKETS),
    words: new Uint32Array(buffer, sequenceAt, (marksAt - sequenceAt) / Uint32Array.BYTES_PER_ELEMENT),
    marks: new Uint8Array(buffer, marksAt, shape.heartbeatSlots),
  };
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
  const rings = senderRings(shape);
  return {
    source,
    kind,
    declaration: null,
    maintenance: false,
    boot: '',
    previousBoots: [],
    state,
    stateSinceMs: atMs,
    reason,
    firstSeenMs: null,
    lastSeenMs: 0,
    lastSentMs: 0,
    intervalMs: 0,
    baseDelayMs: 0,
    notBeforeMs: 0,
    unobservedUntilMs: 0,
    missedMarks: 0,
    received: 0,
    lost: 0,
    duplicates: 0,
    outOfOrder: 0,
    stale: 0,
    restarts: 0,
    delayLastMs: 0,
    delayMinMs: 0,
    delayMaxMs: 0,
    delayMeanMs: 0,
    delaySamples: 0,
    jitterMs: 0,
    lastTransitMs: 0,
    textGapsMs: kind === 'text' ? [] : null,
    sequence: createSequenceWindow(shape.sequenceWindow, rings.words),
    heartbeats: createHeartbeatBar(shape.heartbeatSlots, rings.marks),
    uptime: createUptime(atMs, AVAILABILITY[state], rings.uptime),
    dirty: false,
    heardBefore: null,
    heardAfter: null,
  };
}
