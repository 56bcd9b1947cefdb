/**
 * The first half of a datagram's path, the half that needs no sender's
 * state: allowlist -> unwrap (size, MAC, JSON or text) -> decode (JSON,
 * schema). The socket threads (socket-thread.ts) frame every datagram
 * (allowlist and unwrap: frame()) and decode its JSON too
 * (classifyFramed()) while they have the time; a thread that is busy hands
 * the JSON over undecoded, and the tracking thread decodes it
 * (decode-split.ts). (The `readable` line is formatted where it is written,
 * on the tracking thread: a line made here would cost more to hand over
 * than to make, measured in docs/PERFORMANCE.md.)
 */
import type { RemoteInfo } from 'node:dgram';
import { type DecodeOptions, decodePayload, type Refused, unwrapDatagram } from '../../shared/protocol.js';
import type { ClientExceptionReason } from '../../shared/vocabulary.js';
import { type Cidr, createAllowlist } from './allowlist.js';

interface Arrival {
  /** When the socket thread read it. */
  receivedAtMs: number;
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

/** A protocol datagram that decoded and validated: what tracking needs, and its line. */
export interface AcceptedDatagram extends Arrival {
  outcome: 'accepted';
  kind: 'beat' | 'bye';
  source: string;
  boot: string;
  seq: number;
  /** As sent (ISO-8601), for the log line. */
  sentAt: string;
  sentAtMs: number;
  intervalMs: number;
  text: string;
  verified: boolean;
}

export interface RejectedDatagram extends Arrival {
  outcome: 'rejected';
  reason: ClientExceptionReason;
  detail: string;
  text: string | null;
}

/** Not JSON: a plain-text sender's datagram (the book's original server). */
export interface TextDatagram extends Arrival {
  outcome: 'text';
  text: string | null;
}

export type Classified = AcceptedDatagram | RejectedDatagram | TextDatagram;

/** A JSON datagram framed (allowed, its size and signature checked), its JSON not decoded yet: classifyFramed(). */
export interface FramedDatagram extends Arrival {
  outcome: 'framed';
  payload: Buffer;
  /** The key id whose MAC verified; null: unsigned. */
  keyId: string | null;
}

export interface ClassifyOptions {
  decode: DecodeOptions;
  allow: ((address: string) => boolean) | null;
}

/** What a socket thread is given to classify with: plain data, as a worker's data must be. */
export interface ClassifierSettings {
  maxBytes: number;
  /** Key id -> key bytes (a worker receives Buffers as Uint8Arrays). */
  keys: Array<[string, Uint8Array]>;
  requireAuth: boolean;
  allowFrom: Cidr[];
}

function optionsOf(settings: ClassifierSettings): ClassifyOptions {
  return {
    decode: {
      maxBytes: settings.maxBytes,
      keyring: new Map(settings.keys.map(([id, key]) => [id, Buffer.from(key)])),
      requireAuth: settings.requireAuth,
    },
    allow: createAllowlist(settings.allowFrom),
  };
}

/** classify() bound to its settings. */
export function createClassifier(
  settings: ClassifierSettings,
): (bytes: Buffer, remote: RemoteInfo, receivedAtMs: number) => Classified {
  const options = optionsOf(settings);
  return (bytes, remote, receivedAtMs) => classify(bytes, remote, receivedAtMs, options);
}

/** frame() bound to its settings. */
export function createFramer(
  settings: ClassifierSettings,
): (bytes: Buffer, remote: RemoteInfo, receivedAtMs: number) => Classified | FramedDatagram {
  const options = optionsOf(settings);
  return (bytes, remote, receivedAtMs) => frame(bytes, remote, receivedAtMs, options);
}

/** A datagram, whole: frame(), then classifyFramed() for a JSON one. */
export function classify(
  bytes: Buffer,
  remote: RemoteInfo,
  receivedAtMs: number,
  o: ClassifyOptions,
): Classified {
  return decoded(frame(bytes, remote, receivedAtMs, o));
}

/** A datagram as the tracking thread takes it: decoded, if it is still framed. */
export function decoded(c: Classified | FramedDatagram): Classified {
  return c.outcome === 'framed' ? classifyFramed(c) : c;
}

/** Allowlist and unwrap: a datagram refused or plain text is classified; a JSON one is framed. */
export function frame(
  bytes: Buffer,
  remote: RemoteInfo,
  receivedAtMs: number,
  o: ClassifyOptions,
): Classified | FramedDatagram {
  const arrival: Arrival = {
    receivedAtMs,
    address: remote.address,
    family: remote.family === 'IPv6' ? 'IPv6' : 'IPv4',
    port: remote.port,
    size: bytes.length,
  };
  if (o.allow !== null && !o.allow(remote.address)) {
    return {
      ...arrival,
      outcome: 'rejected',
      reason: 'not_allowed',
      detail: 'source address not in ALLOW_FROM',
      text: null,
    };
  }
  const unwrapped = unwrapDatagram(bytes, o.decode);
  if (!unwrapped.ok) return refused(arrival, unwrapped);
  return { ...arrival, outcome: 'framed', payload: unwrapped.payload, keyId: unwrapped.keyId };
}

/** A framed datagram's JSON decoded and validated. Needs no settings: frame() applied them. */
export function classifyFramed(f: FramedDatagram): Classified {
  const decoded = decodePayload(f.payload, f.keyId);
  if (!decoded.ok) {
    const arrival: Arrival = {
      receivedAtMs: f.receivedAtMs,
      address: f.address,
      family: f.family,
      port: f.port,
      size: f.size,
    };
    return refused(arrival, decoded);
  }
  const d = decoded.datagram;
  // Written out, not spread from an arrival: one object a datagram, not two, with its keys in the
  // order readBatch() gives them (classified-batch.ts), so that every accepted datagram has one shape.
  return {
    receivedAtMs: f.receivedAtMs,
    port: f.port,
    size: f.size,
    family: f.family,
    address: f.address,
    outcome: 'accepted',
    kind: d.kind,
    source: d.source,
    boot: d.boot,
    seq: d.seq,
    sentAtMs: decoded.sentAtMs,
    intervalMs: d.intervalMs,
    text: d.text,
    verified: decoded.keyId !== null,
    sentAt: d.sentAt,
  };
}

/** Not a protocol datagram: plain text (not JSON), or rejected with its reason. */
function refused(arrival: Arrival, r: Refused): RejectedDatagram | TextDatagram {
  const { reason, detail, text } = r;
  return reason === 'not_json'
    ? { ...arrival, outcome: 'text', text }
    : { ...arrival, outcome: 'rejected', reason, detail, text };
}
