/**
 * The first half of a datagram's path, the half that needs no sender's
 * state: allowlist -> decode (size, MAC, JSON, schema). It runs on the
 * socket threads (socket-thread.ts), so the thread that tracks and serves
 * HTTP is handed datagrams already decoded and validated. (Their `readable`
 * line is formatted there too, where it is written: a line made here would
 * cost more to hand over than to make, measured in docs/PERFORMANCE.md.)
 */
import type { RemoteInfo } from 'node:dgram';
import { type DecodeOptions, decodeDatagram } from '../../shared/protocol.js';
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

/** classify() bound to its settings. */
export function createClassifier(
  settings: ClassifierSettings,
): (bytes: Buffer, remote: RemoteInfo, receivedAtMs: number) => Classified {
  const options: ClassifyOptions = {
    decode: {
      maxBytes: settings.maxBytes,
      keyring: new Map(settings.keys.map(([id, key]) => [id, Buffer.from(key)])),
      requireAuth: settings.requireAuth,
    },
    allow: createAllowlist(settings.allowFrom),
  };
  return (bytes, remote, receivedAtMs) => classify(bytes, remote, receivedAtMs, options);
}

export function classify(
  bytes: Buffer,
  remote: RemoteInfo,
  receivedAtMs: number,
  o: ClassifyOptions,
): Classified {
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
  const decoded = decodeDatagram(bytes, o.decode);
  if (!decoded.ok) {
    const { reason, detail, text } = decoded;
    return reason === 'not_json'
      ? { ...arrival, outcome: 'text', text }
      : { ...arrival, outcome: 'rejected', reason, detail, text };
  }
  const d = decoded.datagram;
  return {
    ...arrival,
    outcome: 'accepted',
    kind: d.kind,
    source: d.source,
    boot: d.boot,
    seq: d.seq,
    sentAt: d.sentAt,
    sentAtMs: decoded.sentAtMs,
    intervalMs: d.intervalMs,
    text: d.text,
    verified: decoded.keyId !== null,
  };
}
