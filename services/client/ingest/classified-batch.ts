/**
 * Classified datagrams, from a socket thread to the tracking thread, in
 * columns: the numbers of a batch in one transferred Float64Array, its
 * strings in one array. A postMessage of one object per datagram would cost
 * the receiving thread a property-by-property copy of each; this costs a
 * column read.
 */
import type { ClientExceptionReason } from '../../shared/vocabulary.js';
import type { Classified } from './classify.js';

/** receivedAtMs, port, size, family (4|6), outcome, seq, sentAtMs, intervalMs, flags. */
const NUMBERS = 9;
/** address, then by outcome: accepted source, boot, text, sentAt; rejected reason, detail, text; text text. */
const STRINGS = 5;
const OUTCOME = { accepted: 0, rejected: 1, text: 2 } as const;
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
}

/** Fills one batch of at most `capacity` datagrams; take() hands it over and starts the next. */
export interface BatchWriter {
  add(c: Classified): void;
  readonly count: number;
  readonly full: boolean;
  take(): ClassifiedBatch;
}

export function createBatchWriter(capacity: number): BatchWriter {
  let numbers = new Float64Array(capacity * NUMBERS);
  let strings: Array<string | null> = [];
  let count = 0;
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
      const batch = { count, numbers, strings };
      numbers = new Float64Array(capacity * NUMBERS);
      strings = [];
      count = 0;
      return batch;
    },
  };
}

/** Each datagram of a batch, in order. */
export function readBatch(batch: ClassifiedBatch, each: (c: Classified) => void): void {
  const { numbers, strings } = batch;
  for (let i = 0; i < batch.count; i++) {
    const n = i * NUMBERS;
    const s = i * STRINGS;
    const arrival = {
      receivedAtMs: numbers[n] as number,
      port: numbers[n + 1] as number,
      size: numbers[n + 2] as number,
      family: numbers[n + 3] === 6 ? ('IPv6' as const) : ('IPv4' as const),
      address: strings[s] as string,
    };
    const outcome = numbers[n + 4];
    if (outcome === OUTCOME.accepted) {
      const flags = numbers[n + 8] as number;
      each({
        ...arrival,
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
    } else if (outcome === OUTCOME.rejected) {
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
