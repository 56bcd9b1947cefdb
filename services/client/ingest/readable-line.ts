/**
 * The `readable` line of an accepted protocol datagram: one per datagram, the
 * busiest line the monitor writes. One function, so the benchmark's decode
 * reference (bench/children/decode.ts) writes exactly the line the pipeline
 * does.
 */
import type { Logger } from 'pino';
import type { AcceptedDatagram } from './classify.js';

/** `log` is a child logger bound to `{ event: 'readable' }` (serialised once, not per line). */
export function logReadable(log: Logger, d: AcceptedDatagram): void {
  log.info({
    from: d.address,
    port: d.port,
    bytes: d.size,
    kind: d.kind,
    source: d.source,
    seq: d.seq,
    sentAt: d.sentAt,
    delayMs: d.receivedAtMs - d.sentAtMs,
    verified: d.verified,
  });
}
