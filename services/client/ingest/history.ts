/** The most recent datagrams, newest first on read; a fixed-size ring, O(1) per push. */
import type { ClientExceptionReason, ReceivedKind } from '../../shared/vocabulary.js';

/** One datagram as the monitor saw it. Every string in it came from the network: escape on output. */
export interface Received {
  id: number;
  receivedAtMs: number;
  /** Remote address and port, `address:port` (`[v6]:port` for IPv6). */
  from: string;
  bytes: number;
  kind: ReceivedKind;
  source: string | null;
  boot: string | null;
  seq: number | null;
  sentAtMs: number | null;
  delayMs: number | null;
  text: string | null;
  reason: ClientExceptionReason | null;
  detail: string | null;
  verified: boolean;
}

export interface History {
  push(entry: Received): void;
  /** Newest first, at most `limit`, optionally only one source (or text peer address:port). */
  recent(limit: number, source?: string): Received[];
  readonly size: number;
}

export function createHistory(capacity: number): History {
  const ring: (Received | undefined)[] = new Array(capacity);
  let next = 0;
  let size = 0;
  return {
    push(entry) {
      ring[next] = entry;
      next = (next + 1) % capacity;
      if (size < capacity) size++;
    },
    recent(limit, source) {
      const out: Received[] = [];
      for (let i = 1; i <= size && out.length < limit; i++) {
        const entry = ring[(next - i + capacity) % capacity] as Received;
        if (source === undefined || entry.source === source || entry.from === source) out.push(entry);
      }
      return out;
    },
    get size() {
      return size;
    },
  };
}
