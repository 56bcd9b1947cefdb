/**
 * The path of one datagram, top to bottom:
 *   socket -> allowlist -> decode (size, MAC, JSON, schema) -> replay
 *   -> declared? -> track -> remember -> log -> state changes -> publish
 * Plain text (not JSON) is a plain-text sender's datagram, tracked by its
 * address.
 * Every datagram gives one `readable` line; every rejection one `exception`
 * line (rate-limited per reason, counters exact). Nothing here throws on
 * network input, and nothing here does more than O(1) work per datagram.
 */
import type { RemoteInfo } from 'node:dgram';
import type { Logger } from 'pino';
import { type DecodeOptions, decodeDatagram } from '../../shared/protocol.js';
import type { ClientExceptionReason } from '../../shared/vocabulary.js';
import { textSenderKey } from '../config/declared-senders.js';
import type { StateChangeSink } from '../publish/state-changes.js';
import type { Tracker } from '../tracking/tracker.js';
import type { History, Received } from './history.js';
import type { LogLimiter } from './log-limiter.js';
import { logReadable } from './readable-line.js';
import type { ReplayGuard } from './replay.js';

export interface IngestStats {
  datagrams: number;
  bytes: number;
  /** Protocol datagrams accepted and tracked. */
  accepted: number;
  /** Plain-text (non-JSON) datagrams, tracked as plain-text senders. */
  text: number;
  exceptions: Map<ClientExceptionReason, number>;
  lastDatagramAtMs: number | null;
}

export interface IngestDeps {
  decode: DecodeOptions;
  allow: ((address: string) => boolean) | null;
  replay: ReplayGuard | null;
  tracker: Tracker;
  history: History;
  /** UNDECLARED_SENDERS=ignore: datagrams of senders not declared are rejected (`undeclared`). */
  ignoreUndeclared: boolean;
  limiter: LogLimiter;
  logger: Logger;
  /** Where the state changes a datagram causes go (log line, live event, ...). */
  stateChanged: StateChangeSink;
  publish: (entry: Received) => void;
  now?: () => number;
}

export interface Ingest {
  readable(bytes: Buffer, remote: RemoteInfo): void;
  /** A socket-level error (not tied to one datagram). */
  socketError(err: Error): void;
  stats: IngestStats;
}

export function createIngest(deps: IngestDeps): Ingest {
  const { tracker, history, limiter, logger, publish } = deps;
  const now = deps.now ?? Date.now;
  // The per-datagram line, with `event` serialised once here instead of on every line (same output).
  const readableLog = logger.child({ event: 'readable' });
  // A sender keeps its address and port: its `from` text is made once, not per datagram.
  let lastAddress = '';
  let lastPort = -1;
  let lastFrom = '';
  const stats: IngestStats = {
    datagrams: 0,
    bytes: 0,
    accepted: 0,
    text: 0,
    exceptions: new Map(),
    lastDatagramAtMs: null,
  };
  let nextId = 1;

  function count(reason: ClientExceptionReason): void {
    stats.exceptions.set(reason, (stats.exceptions.get(reason) ?? 0) + 1);
  }

  function rejected(
    receivedAtMs: number,
    from: string,
    remote: RemoteInfo,
    size: number,
    reason: ClientExceptionReason,
    detail: string,
    text: string | null,
    source: string | null = null,
  ): void {
    count(reason);
    const kind = 'rejected';
    const entry: Received = {
      id: nextId++,
      receivedAtMs,
      from,
      bytes: size,
      kind,
      source,
      boot: null,
      seq: null,
      sentAtMs: null,
      delayMs: null,
      text,
      reason,
      detail,
      verified: false,
    };
    history.push(entry);
    if (limiter.allow(reason)) {
      readableLog.info({ from: remote.address, port: remote.port, bytes: size, kind, reason });
      logger.warn(
        { event: 'exception', reason, detail, from: remote.address, port: remote.port, bytes: size },
        `datagram rejected: ${reason}`,
      );
    }
    publish(entry);
  }

  /** A plain-text sender's datagram: a `readable` line of kind `text`, tracked by the sender's address. */
  function plainText(
    receivedAtMs: number,
    from: string,
    remote: RemoteInfo,
    size: number,
    text: string | null,
  ): void {
    // Keyed as declared: an IPv4 peer of a dual-stack socket (::ffff:a.b.c.d) is a.b.c.d.
    const address = textSenderKey(remote.address) ?? remote.address;
    if (deps.ignoreUndeclared && !tracker.isDeclared(address)) {
      rejected(
        receivedAtMs,
        from,
        remote,
        size,
        'undeclared',
        'plain-text sender not declared (UNDECLARED_SENDERS=ignore)',
        text,
        address,
      );
      return;
    }
    stats.text++;
    const seen = tracker.observeText(address, receivedAtMs);
    const entry: Received = {
      id: nextId++,
      receivedAtMs,
      from,
      bytes: size,
      kind: 'text',
      source: address,
      boot: null,
      seq: null,
      sentAtMs: null,
      delayMs: null,
      text,
      reason: null,
      detail: null,
      verified: false,
    };
    history.push(entry);
    readableLog.info({ from: address, port: remote.port, bytes: size, kind: 'text', source: address });
    evicted(seen.evicted);
    if (seen.changes.length > 0) deps.stateChanged(seen.changes);
    publish(entry);
  }

  function evicted(source: string | null): void {
    if (source !== null) {
      logger.warn({ event: 'evict', source, reason: 'max_senders' }, `sender ${source} evicted`);
    }
  }

  return {
    stats,
    readable(bytes, remote) {
      const receivedAtMs = now();
      stats.datagrams++;
      stats.bytes += bytes.length;
      stats.lastDatagramAtMs = receivedAtMs;
      if (remote.port !== lastPort || remote.address !== lastAddress) {
        lastAddress = remote.address;
        lastPort = remote.port;
        lastFrom =
          remote.family === 'IPv6'
            ? `[${remote.address}]:${remote.port}`
            : `${remote.address}:${remote.port}`;
      }
      const from = lastFrom;

      if (deps.allow !== null && !deps.allow(remote.address)) {
        return rejected(
          receivedAtMs,
          from,
          remote,
          bytes.length,
          'not_allowed',
          'source address not in ALLOW_FROM',
          null,
        );
      }
      const decoded = decodeDatagram(bytes, deps.decode);
      if (!decoded.ok) {
        const { reason, detail, text } = decoded;
        return reason === 'not_json'
          ? plainText(receivedAtMs, from, remote, bytes.length, text)
          : rejected(receivedAtMs, from, remote, bytes.length, reason, detail, text);
      }
      const d = decoded.datagram;
      if (deps.ignoreUndeclared && !tracker.isDeclared(d.source)) {
        return rejected(
          receivedAtMs,
          from,
          remote,
          bytes.length,
          'undeclared',
          'source not declared (UNDECLARED_SENDERS=ignore)',
          null,
          d.source,
        );
      }
      if (deps.replay !== null && decoded.keyId !== null) {
        const verdict = deps.replay.check(d.source, d.boot, d.seq, decoded.sentAtMs, receivedAtMs);
        if (verdict !== 'ok') {
          const detail =
            verdict === 'replay'
              ? `seq ${d.seq} of boot ${d.boot} already seen`
              : 'new boot outside MAX_CLOCK_SKEW';
          return rejected(receivedAtMs, from, remote, bytes.length, verdict, detail, null, d.source);
        }
      }
      stats.accepted++;
      const seen = tracker.observe({
        source: d.source,
        boot: d.boot,
        seq: d.seq,
        kind: d.kind,
        sentAtMs: decoded.sentAtMs,
        intervalMs: d.intervalMs,
        receivedAtMs,
      });
      const entry: Received = {
        id: nextId++,
        receivedAtMs,
        from,
        bytes: bytes.length,
        kind: d.kind,
        source: d.source,
        boot: d.boot,
        seq: d.seq,
        sentAtMs: decoded.sentAtMs,
        delayMs: seen.delayMs,
        text: d.text,
        reason: null,
        detail: null,
        verified: decoded.keyId !== null,
      };
      history.push(entry);
      logReadable(readableLog, remote, bytes.length, d, seen.delayMs, entry.verified);
      evicted(seen.evicted);
      if (seen.restart) {
        logger.info({ event: 'restart', source: d.source, boot: d.boot }, `sender ${d.source} restarted`);
      }
      if (seen.changes.length > 0) deps.stateChanged(seen.changes);
      publish(entry);
    },
    socketError(err) {
      count('socket_error');
      logger.error({ event: 'exception', reason: 'socket_error', err }, 'socket error');
    },
  };
}
