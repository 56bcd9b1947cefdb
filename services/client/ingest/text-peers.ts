/**
 * Peers that send plain text (the original time server, `nc -u`, `socat`):
 * tracked per remote address:port, never mixed with protocol senders.
 * Bounded: beyond `max` the longest-silent peer is forgotten (Map order is
 * recency order because every sighting re-inserts the key).
 */
export interface TextPeer {
  from: string;
  firstSeenMs: number;
  lastSeenMs: number;
  received: number;
  lastText: string;
}

export interface TextPeers {
  observe(from: string, text: string, nowMs: number): void;
  list(): TextPeer[];
  readonly size: number;
  readonly evictions: number;
}

export function createTextPeers(max: number): TextPeers {
  const peers = new Map<string, TextPeer>();
  let evictions = 0;
  return {
    observe(from, text, nowMs) {
      let peer = peers.get(from);
      if (peer === undefined) {
        if (peers.size >= max) {
          const oldest = peers.keys().next().value as string;
          peers.delete(oldest);
          evictions++;
        }
        peer = { from, firstSeenMs: nowMs, lastSeenMs: nowMs, received: 0, lastText: text };
      } else {
        peers.delete(from);
      }
      peer.lastSeenMs = nowMs;
      peer.received++;
      peer.lastText = text;
      peers.set(from, peer);
    },
    list: () => [...peers.values()].reverse(),
    get size() {
      return peers.size;
    },
    get evictions() {
      return evictions;
    },
  };
}
