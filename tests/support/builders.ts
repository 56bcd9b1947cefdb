/**
 * Test data, one builder per kind, each with overrides:
 *   datagram({ seq: 7 })       a protocol datagram (the wire object)
 *   encodedBeat(7, { ... })    the same, encoded (and signed) for a real socket
 *   trackedBeat({ seq: 7 })    what the ingest path hands the tracker
 */
import type { Sender } from '../../services/client/tracking/sender.js';
import type { Beat, Declaration, Tracker, TrackerOptions } from '../../services/client/tracking/tracker.js';
import {
  type Datagram,
  encodeDatagram,
  humanTimestamp,
  type Signer,
} from '../../services/shared/protocol.js';

/** Tracker options for unit tests: 100 senders, automatic grace, down after 3 misses, a 64-seq window. */
export const TRACKER_OPTIONS: TrackerOptions = {
  maxSenders: 100,
  lateGraceMs: null,
  downAfterMisses: 3,
  sequenceWindow: 64,
  heartbeatSlots: 50,
};

/** A fixed, readable epoch for fake clocks: 10:00 UTC on day 0. */
export const T0 = 10 * 3_600_000;

/** A beat of 'test-sender', boot 'boot-1', sent now, every second. */
export function datagram(over: Partial<Datagram> = {}): Datagram {
  const sentAtMs = over.sentAt === undefined ? Date.now() : Date.parse(over.sentAt);
  return {
    v: 1,
    kind: 'beat',
    source: 'test-sender',
    boot: 'boot-1',
    seq: 0,
    sentAt: new Date(sentAtMs).toISOString(),
    intervalMs: 1000,
    text: humanTimestamp(sentAtMs),
    ...over,
  };
}

export function encodedBeat(seq: number, over: Partial<Datagram> = {}, signer?: Signer): Buffer {
  return encodeDatagram(datagram({ seq, ...over }), signer);
}

/**
 * Beat `seq` of sender 'a', boot 'b1', declared every `intervalMs` (1 s),
 * sent at T0 + seq intervals and received `delayMs` (0) later.
 */
export function trackedBeat(over: Partial<Beat> & { seq?: number; delayMs?: number } = {}): Beat {
  const { delayMs = 0, ...rest } = over;
  const seq = rest.seq ?? 0;
  const intervalMs = rest.intervalMs ?? 1000;
  const sentAtMs = rest.sentAtMs ?? T0 + seq * intervalMs;
  return {
    source: 'a',
    boot: 'b1',
    kind: 'beat',
    seq,
    intervalMs,
    sentAtMs,
    receivedAtMs: sentAtMs + delayMs,
    ...rest,
  };
}

/** A declared protocol sender (tracker.declare()), every `intervalMs`, with the default grace and no name. */
export function declaredSender(
  source: string,
  intervalMs = 1000,
  over: Partial<Declaration> = {},
): { source: string; kind: 'protocol' } & Declaration {
  return { source, kind: 'protocol', intervalMs, graceMs: null, displayName: null, ...over };
}

/** tracker.takeDirty() as two lists, for assertions: the records it visits and the sources it returns. */
export function takeDirtyLists(tracker: Pick<Tracker, 'takeDirty'>): {
  changed: Sender[];
  removed: string[];
} {
  const changed: Sender[] = [];
  const removed = tracker.takeDirty((sender) => changed.push(sender));
  return { changed, removed };
}

/**
 * JSON text nested `depth` arrays deep: JSON.parse takes it, and at 30,000 (60 KB) JSON.stringify of
 * what it gives overflows the stack (the tests check that first).
 */
export function deeplyNested(depth = 30_000): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}
