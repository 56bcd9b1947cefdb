/**
 * What the HTTP server takes from a client, and how long it waits on one:
 * - a whole request, headers and body, within REQUEST_TIMEOUT_MS of its
 *   first byte, then a 408 and the connection closed. A write's body is at
 *   most WRITE_BODY_LIMIT_BYTES: a client that takes longer is holding a
 *   connection, not sending a silence. The timer stops once the request is
 *   in: an answer that lasts (the event stream, /api/events) is not cut;
 * - an idle keep-alive connection, between two requests: KEEP_ALIVE_TIMEOUT_MS;
 * - no socket inactivity timeout while a request is handled (Fastify's
 *   `connectionTimeout` stays 0): the two above bound what a client sends,
 *   and an answer may take a while to make (a silence waits for its marks);
 * - an answer that is being sent, RESPONSE_IDLE_MS without the client
 *   taking any of it: the connection is closed (client-bounds.ts, with the
 *   bounds on connections and on answers per connection);
 * - a path parameter of MAX_PATH_PARAM_LENGTH characters at most (a 414).
 */
import type { ServerOptions } from 'node:http';

/** Time a client has to send a whole request, headers and body, from its first byte. */
export const REQUEST_TIMEOUT_MS = 10_000;
/**
 * Time an idle keep-alive connection is kept open: Fastify's default, longer
 * than the 60 s idle timeout of the usual proxies and load balancers, so that
 * it is they that close a connection, never the monitor while they send on it.
 */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;
/** How long an answer being sent may wait for its client to take any of it. */
export const RESPONSE_IDLE_MS = 30_000;
/** A write's body at most (a silence: a glob, a time and a comment). */
export const WRITE_BODY_LIMIT_BYTES = 16 * 1024;
/** A path parameter's length at most, as the router takes it (Fastify's default): a 414 beyond. */
export const MAX_PATH_PARAM_LENGTH = 100;

/** Fastify's options for a server that gives a client `requestTimeoutMs` to send a request. */
export function serverLimits(requestTimeoutMs: number): {
  requestTimeout: number;
  keepAliveTimeout: number;
  connectionTimeout: number;
  http: ServerOptions;
  routerOptions: { maxParamLength: number };
} {
  return {
    requestTimeout: requestTimeoutMs,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    connectionTimeout: 0,
    http: {
      // Node's default (60 s) must not exceed the request timeout: Node would then swap the two,
      // and a body could trickle in for 60 s (seen with Node 24).
      headersTimeout: requestTimeoutMs,
      // Node checks the deadlines every 30 s by default: every tenth of the timeout keeps a cut punctual.
      connectionsCheckingInterval: Math.max(1, Math.ceil(requestTimeoutMs / 10)),
    },
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
  };
}
