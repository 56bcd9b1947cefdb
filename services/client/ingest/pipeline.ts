/**
 * The path of one datagram, top to bottom:
 *   socket -> allowlist -> decode (size, MAC, JSON, schema)   [on a socket thread: classify.ts]
 *   -> replay -> declared? -> track -> remember -> log -> state changes -> publish   [here]
 * Plain text (not JSON) is a plain-text sender's datagram, tracked by its
 * address.
 * Every datagram gives one `readable` line; every rejection one `exception`
 * line (rate-limited per reason, counters exact). Nothing here throws on
 * network input, and nothing here does more than O(1) work per datagram.
 */
import type { Logger } from 'pino';
import type { ClientExceptionReason } from '../../shared/vocabulary.js';
import { textSenderKey } from '../config/declared-senders.js';
import type { StateChangeSink } from '../publish/state-changes.js';
import type { Tracker } from '../tracking/tracker.js';
import type { AcceptedDatagram, Classified } from './classify.js';
import type { History, Received } from './history.js';
import type { LogLimiter } from './log-limiter.js';
import { readableLineWriter } from './readable-line.js';
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
  replay: ReplayGuard | null;
  tracker: Tracker;
  history: History;
  /** UNDECLARED_SENDERS=ignore: datagrams of senders not declared are rejected (`undeclared`). */
  ignoreUndeclared: boolean;
  /**
   * This monitor's own beats to its peers (its name and their boot), if it
   * sends any: one come back to it is rejected (`self`), never tracked. A
   * sender of the same name with another boot (a beacon on this host, whose
   * host name is its default source too) is any sender.
   */
  self: { source: string; boot: string } | null;
  limiter: LogLimiter;
  logger: Logger;
  /** Where the state changes a datagram causes go (log line, live event, ...). */
  stateChanged: StateChangeSink;
  /** A sender evicted to make room (MAX_SENDERS): after its `evict` line. */
  senderEvicted: (source: string) => void;
  publish: (entry: Received) => void;
}

export interface Ingest {
  /** One datagram, classified on a socket thread. */
  readable(datagram: Classified): void;
  /** A socket-level error, or a datagram whose handling threw (a bug). */
  socketError(err: Error): void;
  /**
   * Datagrams the kernel discarded before the socket was read, for another
   * reason than a full buffer (a bad UDP checksum: overrun.ts): never seen
   * here, so counted together, with one `exception` line (rate-limited).
   */
  discardedByKernel(count: number): void;
  stats: IngestStats;
}

export function createIngest(deps: IngestDeps): Ingest {
  const { tracker, history, limiter, logger, publish } = deps;
  // The lines written here, with `event` serialised once instead of on every line (same output).
  const readableLog = logger.child({ event: 'readable' });
  const logReadable = readableLineWriter(readableLog);
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

  function count(reason: ClientExceptionReason, n = 1): void {
    stats.exceptions.set(reason, (stats.exceptions.get(reason) ?? 0) + n);
  }

  function fromOf(d: Classified): string {
    if (d.port !== lastPort || d.address !== lastAddress) {
      lastAddress = d.address;
      lastPort = d.port;
      lastFrom = d.family === 'IPv6' ? `[${d.address}]:${d.port}` : `${d.address}:${d.port}`;
    }
    return lastFrom;
  }

  function rejected(
    d: Classified,
    reason: ClientExceptionReason,
    detail: string,
    text: string | null,
    source: string | null = null,
  ): void {
    count(reason);
    const kind = 'rejected';
    const entry: Received = {
      id: nextId++,
      receivedAtMs: d.receivedAtMs,
      from: fromOf(d),
      bytes: d.size,
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
      readableLog.info({ from: d.address, port: d.port, bytes: d.size, kind, reason });
      logger.warn(
        { event: 'exception', reason, detail, from: d.address, port: d.port, bytes: d.size },
        `datagram rejected: ${reason}`,
      );
    }
    publish(entry);
  }

  /** A plain-text sender's datagram: a `readable` line of kind `text`, tracked by the sender's address. */
  function plainText(d: Classified, text: string | null): void {
    // Keyed as declared: an IPv4 peer of a dual-stack socket (::ffff:a.b.c.d) is a.b.c.d.
    const address = textSenderKey(d.address) ?? d.address;
    if (deps.ignoreUndeclared && !tracker.isDeclared(address)) {
      rejected(d, 'undeclared', 'plain-text sender not declared (UNDECLARED_SENDERS=ignore)', text, address);
      return;
    }
    stats.text++;
    const seen = tracker.observeText(address, d.receivedAtMs);
    const entry: Received = {
      id: nextId++,
      receivedAtMs: d.receivedAtMs,
      from: fromOf(d),
      bytes: d.size,
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
    readableLog.info({ from: address, port: d.port, bytes: d.size, kind: 'text', source: address });
    evicted(seen.evicted);
    if (seen.changes.length > 0) deps.stateChanged(seen.changes);
    publish(entry);
  }

  function accepted(d: AcceptedDatagram): void {
    if (deps.self !== null && d.source === deps.self.source && d.boot === deps.self.boot) {
      rejected(d, 'self', "this monitor's own beat to its peers, come back", null, d.source);
      return;
    }
    if (deps.ignoreUndeclared && !tracker.isDeclared(d.source)) {
      rejected(d, 'undeclared', 'source not declared (UNDECLARED_SENDERS=ignore)', null, d.source);
      return;
    }
    if (deps.replay !== null && d.verified) {
      const verdict = deps.replay.check(d.source, d.boot, d.seq, d.sentAtMs, d.receivedAtMs);
      if (verdict !== 'ok') {
        const detail =
          verdict === 'replay'
            ? `seq ${d.seq} of boot ${d.boot} already seen`
            : 'new boot outside MAX_CLOCK_SKEW';
        rejected(d, verdict, detail, null, d.source);
        return;
      }
    }
    stats.accepted++;
    const seen = tracker.observe(d);
    const entry: Received = {
      id: nextId++,
      receivedAtMs: d.receivedAtMs,
      from: fromOf(d),
      bytes: d.size,
      kind: d.kind,
      source: d.source,
      boot: d.boot,
      seq: d.seq,
      sentAtMs: d.sentAtMs,
      delayMs: seen.delayMs,
      text: d.text,
      reason: null,
      detail: null,
      verified: d.verified,
    };
    history.push(entry);
    logReadable(d);
    evicted(seen.evicted);
    if (seen.restart) {
      logger.info({ event: 'restart', source: d.source, boot: d.boot }, `sender ${d.source} restarted`);
    }
    if (seen.changes.length > 0) deps.stateChanged(seen.changes);
    publish(entry);
  }

  function evicted(source: string | null): void {
    if (source !== null) {
      logger.warn({ event: 'evict', source, reason: 'max_senders' }, `sender ${source} evicted`);
      deps.senderEvicted(source);
    }
  }

  return {
    stats,
    readable(d) {
      stats.datagrams++;
      stats.bytes += d.size;
      stats.lastDatagramAtMs = d.receivedAtMs;
      switch (d.outcome) {
        case 'accepted':
          return accepted(d);
        case 'text':
          return plainText(d, d.text);
        case 'rejected':
          return rejected(d, d.reason, d.detail, d.text);
      }
    },
    discardedByKernel(n) {
      count('kernel_discarded', n);
      if (limiter.allow('kernel_discarded')) {
        logger.warn(
          {
            event: 'exception',
            reason: 'kernel_discarded',
            detail: `${n} datagrams discarded by the kernel before they were read (a bad UDP checksum, say)`,
          },
          `${n} datagrams discarded by the kernel`,
        );
      }
    },
    socketError(err) {
      count('socket_error');
      // Rate-limited like rejected datagrams: a socket that keeps failing, or a datagram's handling that
      // throws for each of a flood (a bug, with its stack in `err`), must not flood the log.
      if (limiter.allow('socket_error')) {
        logger.error({ event: 'exception', reason: 'socket_error', err }, 'socket error');
      }
    },
  };
}
