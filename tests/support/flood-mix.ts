/**
 * The content of the flood: a deterministic (seeded) stream of datagrams of
 * known kinds, each with the one outcome the client must report for it.
 * Pure apart from the clock it is handed; the sender process sends it and
 * the test checks the client's counters against the tally.
 *
 * Under REQUIRE_AUTH=true every unsigned datagram is `unsigned` whatever it
 * contains, so malformed, text and schema-breaking payloads are sent signed
 * with the right key: that is the only way they reach the parser.
 */
import { createHmac } from 'node:crypto';
import { encodeDatagram, type Signer } from '../../services/shared/protocol.js';
import { signPayload } from '../../services/shared/signing.js';
import type { ClientExceptionReason } from '../../services/shared/vocabulary.js';
import { datagram } from './builders.js';
import { prng } from './prng.js';

/** What the client makes of a datagram: tracked (a protocol or a plain-text sender's), or rejected for a reason. */
export type Outcome = 'accepted' | 'text' | ClientExceptionReason;

/** Each kind, its share of the stream (weights) and what the client must make of it. */
export const FLOOD_KINDS = {
  valid: { weight: 40, outcome: 'accepted' },
  bye: { weight: 1, outcome: 'accepted' },
  replay: { weight: 8, outcome: 'replay' },
  clock_skew: { weight: 3, outcome: 'clock_skew' },
  malformed_json: { weight: 5, outcome: 'malformed_json' },
  signed_text: { weight: 4, outcome: 'text' },
  schema: { weight: 5, outcome: 'schema' },
  unsupported_version: { weight: 3, outcome: 'unsupported_version' },
  oversize: { weight: 5, outcome: 'oversize' },
  unsigned_beat: { weight: 6, outcome: 'unsigned' },
  plain_text: { weight: 4, outcome: 'unsigned' },
  garbage: { weight: 4, outcome: 'unsigned' },
  bad_signature: { weight: 6, outcome: 'bad_signature' },
  unknown_key: { weight: 6, outcome: 'unknown_key' },
} as const satisfies Record<string, { weight: number; outcome: Outcome }>;
export type FloodKind = keyof typeof FLOOD_KINDS;
export const FLOOD_KIND_NAMES = Object.keys(FLOOD_KINDS) as FloodKind[];

export interface FloodMixOptions {
  seed: number;
  signer: Signer;
  /** Distinct `source` ids of the valid beats (more than MAX_SENDERS makes eviction happen). */
  sources: number;
  /**
   * The first `hotSources` ids send `hotShare` of the valid beats (a steady
   * population the monitor keeps tracking); the rest are spread over all
   * `sources` ids (a stream of new senders, each evicting the longest-silent one).
   */
  hotSources: number;
  hotShare: number;
  /** The client's MAX_DATAGRAM_BYTES: oversize datagrams are one byte to a few hundred over it. */
  maxDatagramBytes: number;
  now?: () => number;
}

export interface FloodDatagram {
  kind: FloodKind;
  bytes: Buffer;
}

/** How many of the last valid datagrams replays are drawn from; far below MAX_SENDERS and REPLAY_WINDOW. */
const REPLAY_DEPTH = 64;

export function createFloodMix(options: FloodMixOptions) {
  const random = prng(options.seed);
  const now = options.now ?? Date.now;
  const { signer } = options;
  const wrongKey = createHmac('sha256', 'flood').update(signer.key).digest();
  const seqs = new Uint32Array(options.sources);
  // A strict ring of the last valid datagrams: a replay is never older than REPLAY_DEPTH of them.
  const recent: Buffer[] = [];
  let ring = 0;
  let skewed = 0;
  let serial = 0;

  const table: FloodKind[] = [];
  for (const kind of FLOOD_KIND_NAMES) for (let i = 0; i < FLOOD_KINDS[kind].weight; i++) table.push(kind);

  const pick = (n: number) => Math.floor(random() * n);
  const sign = (text: string) => signPayload(Buffer.from(text), signer.keyId, signer.key);
  function beatOf(
    source: string,
    boot: string,
    seq: number,
    sentAtMs: number,
    kind: 'beat' | 'bye' = 'beat',
  ) {
    return datagram({ kind, source, boot, seq, sentAt: new Date(sentAtMs).toISOString() });
  }
  const pickSource = () => (random() < options.hotShare ? pick(options.hotSources) : pick(options.sources));
  function fresh(kind: 'beat' | 'bye' = 'beat') {
    const i = pickSource();
    const seq = seqs[i] as number;
    seqs[i] = seq + 1;
    return beatOf(`flood-${i}`, `boot-${i}`, seq, now(), kind);
  }
  /** A beat that is never accepted: it does not use up any source's sequence numbers. */
  function forged() {
    const i = pick(options.sources);
    return beatOf(`flood-${i}`, `boot-${i}`, pick(1_000_000), now());
  }
  function remember(bytes: Buffer) {
    recent[ring] = bytes;
    ring = (ring + 1) % REPLAY_DEPTH;
  }

  const make: Record<FloodKind, () => Buffer> = {
    valid: () => {
      const bytes = encodeDatagram(fresh(), signer);
      remember(bytes);
      return bytes;
    },
    bye: () => encodeDatagram(fresh('bye'), signer),
    // The exact bytes of a recent valid datagram, sent again (the first replay has a valid one to copy).
    replay: () => {
      const bytes = recent[pick(recent.length)];
      if (bytes === undefined) throw new Error('flood mix: a replay before any valid datagram');
      return bytes;
    },
    // A boot never seen before whose clock is an hour off: refused before it can occupy a window.
    clock_skew: () => {
      skewed++;
      return encodeDatagram(beatOf(`skew-${skewed}`, `skew-${skewed}`, 0, now() - 3_600_000), signer);
    },
    malformed_json: () => sign(`{"v":1,"kind":"beat","source":"flood-${pick(1000)}","seq":`),
    signed_text: () => sign(`plain text ${serial}`),
    schema: () => sign(JSON.stringify({ v: 1, kind: 'beat', source: `flood-${pick(1000)}`, seq: -1 })),
    unsupported_version: () => sign(JSON.stringify({ ...forged(), v: 2 })),
    oversize: () => Buffer.alloc(options.maxDatagramBytes + 1 + pick(300), 0x7b),
    unsigned_beat: () => encodeDatagram(forged()),
    plain_text: () => Buffer.from(`Tue Nov 24 00:03:38 2026 #${serial}\n`),
    // Random bytes without a newline, so they can never carry a trailer.
    garbage: () => {
      const b = Buffer.allocUnsafe(1 + pick(200));
      for (let i = 0; i < b.length; i++) {
        const x = pick(256);
        b[i] = x === 0x0a ? 0x0b : x;
      }
      return b;
    },
    bad_signature: () => encodeDatagram(forged(), { keyId: signer.keyId, key: wrongKey }),
    unknown_key: () => encodeDatagram(forged(), { keyId: `${signer.keyId}-unknown`, key: signer.key }),
  };

  return {
    next(): FloodDatagram {
      serial++;
      // The first datagram is valid, so a replay always has something to copy.
      const kind: FloodKind = serial === 1 ? 'valid' : (table[pick(table.length)] as FloodKind);
      return { kind, bytes: make[kind]() };
    },
  };
}

/** The client's counters expected from a tally of what was sent. */
export function expectedOutcomes(sent: Partial<Record<FloodKind, number>>): Map<Outcome, number> {
  const out = new Map<Outcome, number>();
  for (const kind of FLOOD_KIND_NAMES) {
    const n = sent[kind] ?? 0;
    if (n === 0) continue;
    const outcome = FLOOD_KINDS[kind].outcome;
    out.set(outcome, (out.get(outcome) ?? 0) + n);
  }
  return out;
}
