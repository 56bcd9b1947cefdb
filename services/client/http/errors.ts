/**
 * One shape for every error the HTTP server sends, `{error, parameter?,
 * message}` (api.ts: errorSchema), `error` a stable code. The routes answer
 * their own errors in it; this module puts in it the errors that Fastify
 * and Node's HTTP parser answer themselves, with their status codes kept:
 * - thrown while a request is handled (setErrorHandler): a body that is not
 *   JSON (400), over the route's bodyLimit (413) or of another content type
 *   (415); a failure of the monitor's own (5xx), logged as `http_error` and
 *   answered without its cause;
 * - no such route (404);
 * - refused by the router (frameworkErrors): a malformed percent-encoding
 *   (400), a path parameter over its maximum length (414);
 * - refused by Node's parser (clientErrorHandler): not HTTP (400), not
 *   received within the request timeout (408), headers over Node's limit
 *   (431), chunk extensions over Node's limit (413);
 * - arriving while the server stops (503), instead of Fastify's own answer.
 */
import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ApiError } from './api.js';

/** The codes of the errors the server answers itself, by status. */
const ERROR_CODES: Readonly<Record<number, string>> = {
  400: 'bad_request',
  404: 'not_found',
  408: 'request_timeout',
  413: 'body_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  431: 'headers_too_large',
  500: 'internal_error',
  503: 'unavailable',
};

/** The code of an error status: from the table, or its reason phrase in snake_case. */
function errorCode(status: number): string {
  return ERROR_CODES[status] ?? (STATUS_CODES[status] ?? 'error').toLowerCase().replace(/[^a-z0-9]+/g, '_');
}

/** What a 5xx says of itself: its cause is in the log, not in the answer. */
const SERVER_ERROR_MESSAGE = 'the monitor failed to answer: its log has the cause (http_error)';

/**
 * The answer to an error thrown while a request was handled: its status (a
 * 500 when it has none in 400-599) and its body in the API's shape. A 4xx
 * tells the client what was wrong with its request; a 5xx tells nothing of
 * the monitor's inside.
 */
export function answerTo(err: { statusCode?: number; message: string }): { status: number; body: ApiError } {
  const given = err.statusCode;
  const status = given !== undefined && given >= 400 && given <= 599 ? given : 500;
  return {
    status,
    body: { error: errorCode(status), message: status >= 500 ? SERVER_ERROR_MESSAGE : err.message },
  };
}

/** A 503's `retry-after`, in seconds: the stopping server's, and the event stream's when it has no room. */
export const RETRY_AFTER_SECONDS = '5';

/** The answer to a request while the server stops: the load balancer should try another monitor. */
const STOPPING: ApiError = {
  error: 'unavailable',
  message: 'the monitor is stopping: try again in a moment',
};

/** Node's parser's errors (`clientError`) answered, by the error's code; any other: a 400. */
const CONNECTION_ERRORS: Readonly<
  Record<string, { status: number; message: (timeoutMs: number) => string }>
> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    message: (timeoutMs) => `the request (headers and body) did not arrive within ${timeoutMs / 1000} s`,
  },
  HPE_HEADER_OVERFLOW: {
    status: 431,
    message: () => `the request line and headers are over ${maxHeaderSize} bytes`,
  },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, message: () => 'the chunk extensions are too large' },
};
const NOT_HTTP = { status: 400, message: () => 'not a valid HTTP/1.1 request' };

/** Whether a response began on the connection: an answer written now would corrupt it. */
function responseBegun(socket: Socket): boolean {
  return (
    (socket as Socket & { _httpMessage?: { headersSent: boolean } | null })._httpMessage?.headersSent === true
  );
}

/** The options of Fastify() that put its own answers in the API's shape. */
export function errorShapeOptions(log: Logger, requestTimeoutMs: number) {
  return {
    // The stopping server's 503 comes from the hook in answerErrorsInShape().
    return503OnClosing: false,
    frameworkErrors: (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
      sendError(log, err, req, reply);
    },
    /**
     * Answers an error of Node's HTTP parser, then closes the connection (as
     * Node's own handler does, and Fastify's: the parser cannot go on), with
     * no answer once a response has begun on it.
     */
    clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => {
      // A connection reset: nobody left to answer.
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const { status, message } = CONNECTION_ERRORS[err.code ?? ''] ?? NOT_HTTP;
      if (socket.writable && !responseBegun(socket)) {
        const body = JSON.stringify({ error: errorCode(status), message: message(requestTimeoutMs) });
        socket.write(
          `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n` +
            `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      }
      socket.destroy(err);
    },
  };
}

/** The handlers and hooks that put the errors of the routes' handling, a missing route and a stop in the API's shape. */
export function answerErrorsInShape(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err: FastifyError, req, reply) => sendError(log, err, req, reply));
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send({ error: 'not_found', message: `no route for ${req.method} ${req.url.split('?')[0]}` }),
  );
  let stopping = false;
  app.addHook('preClose', async () => {
    stopping = true;
  });
  app.addHook('onRequest', async (_req, reply) => {
    if (stopping) return reply.code(503).header('retry-after', RETRY_AFTER_SECONDS).send(STOPPING);
  });
}

function sendError(log: Logger, err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body } = answerTo(err);
  if (status >= 500)
    log.error({ event: 'http_error', method: req.method, url: req.url, err }, 'request failed');
  return reply.code(status).send(body);
}
