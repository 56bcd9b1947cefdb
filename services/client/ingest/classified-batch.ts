/**
 * Classified datagrams, from a socket thread to the tracking thread, in
 * columns: the numbers of a batch in one transferred Float64Array, its
 * strings in one array, and the payloads of framed datagrams (their JSON
 * not decoded yet) one after another in one transferred byte array. A
 * postMessage of one object per datagram would cost the receiving thread a
 * property-by-property copy of each; this costs a column read.
 */
import type { ClientExceptionReason } from '../../shared/vocabulary.js';
import type { Classified, FramedDatagram } from './classify.js';

/**
 * receivedAtMs, port, size, family (4|6), outcome, then by outcome: accepted
 * seq, sentAtMs, intervalMs, flags; framed the payload's offset and length.
 */
const NUMBERS = 9;
/** address, then by outcome: accepted source, boot, text, sentAt; rejected reason, detail, text; text text; framed keyId. */
const STRINGS = 5;
const OUTCOME = { accepted: 0, rejected: 1, text: 2, framed: 3 } as const;
/** The payload bytes a batch starts with room for, when it has a framed datagram (it grows as needed). */
const PAYLOAD_BYTES = 16 * 1024;
const BYE = 1;
const VERIFIED = 2;

/**
 * What a datagram's record costs besides the datagram's bytes, as a socket
 * thread's queue (UDP_QUEUE_BYTES) counts it. An oversize datagram's record
 * keeps none of its bytes, and counts this alone.
 */
export const RECORD_OVERHEAD = 128;

export interface ClassifiedBatch {
  count: number;
  numbers: Float64Array;
  strings: Array<string | null>;
  /** The framed datagrams' payloads; null when the batch has none. */
  payloads: Uint8Array | null;
}

/** The buffers a batch's postMessage transfers (moved, not copied). */
export function transferables(batch: ClassifiedBatch): ArrayBuffer[] {
  const moved = [batch.numbers.buffer as ArrayBuffer];
  if (batch.payloads !== null) moved.push(batch.payloads.buffer as ArrayBuffer);
  return moved;
}

/** Fills one batch of at most `capacity` datagrams; take() hands it over and starts the next. */
export interface BatchWriter {
  add(c: Classified | FramedDatagram): void;
  readonly count: number;
  readonly full: boolean;
  take(): ClassifiedBatch;
}

export function createBatchWriter(capacity: number): BatchWriter {
  let numbers = new Float64Array(capacity * NUMBERS);
  let strings: Array<string | null> = [];
  let count = 0;
  let payloads: Uint8Array | null = null;
  let payloadBytes = 0;
  /** `payload` after the others; its offset. */
  function append(payload: Buffer): number {
    const needed = payloadBytes + payload.length;
    if (payloads === null || needed > payloads.length) {
      const grown = new Uint8Array(Math.max(PAYLOAD_BYTES, needed, 2 * (payloads?.length ?? 0)));
      if (payloads !== null) grown.set(payloads.subarray(0, payloadBytes));
      payloads = grown;
    }
    payloads.set(payload, payloadBytes);
    const offset = payloadBytes;
    payloadBytes = needed;
    return offset;
  }
  return {
    add(c) {
      const n = count * NUMBERS;
      numbers[n] = c.receivedAtMs;
      numbers[n + 1] = c.port;
      numbers[n + 2] = c.size;
      numbers[n + 3] = c.family === 'IPv6' ? 6 : 4;
      numbers[n + 4] = OUTCOME[c.outcome];
      if (c.outcome === 'accepted') {
        numbers[n + 5] = c.seq;
        numbers[n + 6] = c.sentAtMs;
        numbers[n + 7] = c.intervalMs;
        numbers[n + 8] = (c.kind === 'bye' ? BYE : 0) | (c.verified ? VERIFIED : 0);
        strings.push(c.address, c.source, c.boot, c.text, c.sentAt);
      } else if (c.outcome === 'framed') {
        numbers[n + 5] = append(c.payload);
        numbers[n + 6] = c.payload.length;
        strings.push(c.address, c.keyId, null, null, null);
      } else if (c.outcome === 'rejected') {
        strings.push(c.address, c.reason, c.detail, c.text, null);
      } else {
        strings.push(c.address, c.text, null, null, null);
      }
      count++;
    },
    get count() {
      return count;
    },
    get full() {
      return count === capacity;
    },
    take() {
      // Transferred as it is: the unused tail costs nothing to move.
      const batch = { count, numbers, strings, payloads };
      numbers = new Float64Array(capacity * NUMBERS);
      strings = [];
      count = 0;
      payloads = null;
      payloadBytes = 0;
      return batch;
    },
  };
}

/** Each datagram of a batch, in order (a framed one's payload a view of the batch's bytes). */
export function readBatch(batch: ClassifiedBatch, each: (c: Classified | FramedDatagram) => void): void {
  const { numbers, strings, payloads } = batch;
  for (let i = 0; i < batch.count; i++) {
    const n = i * NUMBERS;
    const s = i * STRINGS;
    const receivedAtMs = numbers[n] as number;
    const port = numbers[n + 1] as number;
    const size = numbers[n + 2] as number;
    const family = numbers[n + 3] === 6 ? ('IPv6' as const) : ('IPv4' as const);
    const address = strings[s] as string;
    const outcome = numbers[n + 4];
    // The two of every datagram under load written out, not spread from an arrival: V8 gives a
    // spread object another hidden class than a literal with the same keys, and classifyFramed()
    // (classify.ts) writes its accepted datagram out in this order, so that every accepted one has one
    // shape.
    if (outcome === OUTCOME.accepted) {
      const flags = numbers[n + 8] as number;
      each({
        receivedAtMs,
        port,
        size,
        family,
        address,
        outcome: 'accepted',
        kind: flags & BYE ? 'bye' : 'beat',
        source: strings[s + 1] as string,
        boot: strings[s + 2] as string,
        seq: numbers[n + 5] as number,
        sentAtMs: numbers[n + 6] as number,
        intervalMs: numbers[n + 7] as number,
        text: strings[s + 3] as string,
        verified: (flags & VERIFIED) !== 0,
        sentAt: strings[s + 4] as string,
      });
    } else if (outcome === OUTCOME.framed) {
      // A batch with a framed datagram has its payloads.
      const bytes = payloads as Uint8Array;
      each({
        receivedAtMs,
        port,
        size,
        family,
        address,
        outcome: 'framed',
        payload: Buffer.from(bytes.buffer, bytes.byteOffset + (numbers[n + 5] as number), numbers[n + 6]),
        keyId: strings[s + 1] ?? null,
      });
    } else {
      const arrival = { receivedAtMs, port, size, family, address };
      if (outcome === OUTCOME.rejected) {
        each({
          ...arrival,
          outcome: 'rejected',
          reason: strings[s + 1] as ClientExceptionReason,
          detail: strings[s + 2] as string,
          text: strings[s + 3] ?? null,
        });
      } else {
        each({ ...arrival, outcome: 'text', text: strings[s + 1] ?? null });
      }
    }
  }
}
