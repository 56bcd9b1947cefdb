/**
 * What HTTP clients can hold of the monitor, bounded by configuration:
 * - so many connections (the live updates' SSE_MAX_CLIENTS and
 *   HTTP_MAX_CONNECTIONS besides): one more is closed at once and counted,
 *   and the idle keep-alive ones with it, so that the next try (a health
 *   check's) gets in;
 * - one answer at a time on each. Node reads every request a client
 *   pipelines in one packet and hands each on at once: answered, each would
 *   be made and held until the client takes the ones before it. A request
 *   that comes while the connection's answer before it is still being sent
 *   gets a 429, a few bytes. (Browsers and the usual clients never pipeline.)
 * - an answer being sent that its client takes none of for `responseIdleMs`
 *   (RESPONSE_IDLE_MS, request-limits.ts) is closed and counted.
 */
import type { FastifyInstance } from 'fastify';
import { errorAnswer } from './error-codes.js';
import { sendAnswer } from './errors.js';

export interface ClientBounds {
  /** Connections open at once, event streams included; a new one beyond is closed. */
  maxConnections: number;
  /** A connection closed at once because maxConnections were open. */
  connectionRefused(): void;
  /** How long an answer being sent may wait for its client to take any of it. */
  responseIdleMs: number;
  /** An answer closed because its client took none of it for responseIdleMs. */
  responseCut(): void;
}

/**
 * Call after the hooks that set every answer's headers (a 429 has them too) and that answer a request
 * during a stop (it gets the 503, not a 429).
 */
export function boundWhatClientsHold(app: FastifyInstance, bounds: ClientBounds): void {
  app.server.maxConnections = bounds.maxConnections;
  app.server.on('drop', () => {
    bounds.connectionRefused();
    app.server.closeIdleConnections();
  });

  const answering = new WeakSet<object>();
  app.addHook('onRequest', async (req, reply) => {
    const connection = req.raw.socket;
    if (answering.has(connection)) {
      return sendAnswer(reply, errorAnswer('too_many_requests', 'one answer at a time on a connection'));
    }
    answering.add(connection);
    // Sent, or its connection gone (a live-update stream holds it while it lasts).
    reply.raw.once('close', () => answering.delete(connection));
  });

  app.addHook('onSend', async (_req, reply) => {
    // From the moment the answer goes out (the time it took to make is not the client's). Once it is
    // sent, Node sets the keep-alive timeout in its place. The event stream is hijacked: never here.
    reply.raw.setTimeout(bounds.responseIdleMs, () => {
      bounds.responseCut();
      reply.raw.destroy();
    });
  });
}
