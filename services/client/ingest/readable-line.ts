/**
 * The `readable` line of an accepted protocol datagram: one per datagram, the
 * busiest line the monitor writes. One function, so the benchmark's decode
 * reference (bench/children/decode.ts) writes exactly the line the pipeline
 * does.
 */
import type { RemoteInfo } from 'node:dgram';
import type { Logger } from 'pino';
import type { Datagram } from '../../shared/protocol.js';

/** `log` is a child logger bound to `{ event: 'readable' }` (serialised once, not per line). */
export function logReadable(
  log: Logger,
  remote: RemoteInfo,
  size: number,
  d: Datagram,
  delayMs: number,
  verified: boolean,
): void {
  log.info({
    from: remote.address,
    port: remote.port,
    bytes: size,
    kind: d.kind,
    source: d.source,
    seq: d.seq,
    sentAt: d.sentAt,
    delayMs,
    verified,
  });
}
