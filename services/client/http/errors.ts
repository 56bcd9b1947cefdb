/**
 * One shape for every error the HTTP server sends, `{error, parameter?,
 * message}` (api.ts: errorSchema), `error` a code of error-codes.ts. The
 * routes answer their own errors in it; this module puts in it the errors
 * that Fastify and Node's HTTP parser answer themselves, with their status
 * codes kept and the security headers of every answer:
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
import { codeOfStatus, type ErrorAnswer, type ErrorCode, errorAnswer } from './error-codes.js';
import { responseBegun, trackResponses } from './responses-under-way.js';
import { SECURITY_HEADERS, setSecurityHeaders } from './security-headers.js';

/** What a 5xx says of itself: its cause is in the log, not in the answer. */
const SERVER_ERROR_MESSAGE = 'the monitor failed to answer: its log has the cause (http_error)';

/**
 * The answer to an error thrown while a request was handled: its status (a
 * 500 when it has none in 400-599) and its body in the API's shape. A 4xx
 * tells the client what was wrong with its request; a 5xx tells nothing of
 * the monitor's inside.
 */
export function answerTo(err: { statusCode?: number; message: string }): ErrorAnswer {
  const given = err.statusCode;
  const status = given !== undefined && given >= 400 && given <= 599 ? given : 500;
  // Its own status kept: one with no code of its own answers its class's code.
  return { ...errorAnswer(codeOfStatus(status), status >= 500 ? SERVER_ERROR_MESSAGE : err.message), status };
}

/** Sends an error's answer. */
export function sendAnswer(reply: FastifyReply, answer: ErrorAnswer): FastifyReply {
  return reply.code(answer.status).send(answer.body);
}

/** A 503's `retry-after`, in seconds: the stopping server's, and the event stream's when it has no room. */
export const RETRY_AFTER_SECONDS = '5';

/** The answer to a request while the server stops: the load balancer should try another monitor. */
const STOPPING = errorAnswer('unavailable', 'the monitor is stopping: try again in a moment');

/** Node's parser's errors (`clientError`) answered, by the error's code; any other: a 400. */
const CONNECTION_ERRORS: Readonly<
  Record<string, { code: ErrorCode; message: (timeoutMs: number) => string }>
> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    code: 'request_timeout',
    message: (timeoutMs) => `the request (headers and body) did not arrive within ${timeoutMs / 1000} s`,
  },
  HPE_HEADER_OVERFLOW: {
    code: 'headers_too_large',
    message: () => `the request line and headers are over ${maxHeaderSize} bytes`,
  },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: {
    code: 'body_too_large',
    message: () => 'the chunk extensions are too large',
  },
};
const NOT_HTTP = { code: 'bad_request', message: () => 'not a valid HTTP/1.1 request' } as const;

/** An answer as written straight to a socket, with the headers every answer has. */
function rawAnswer({ status, body }: ErrorAnswer): string {
  const json = JSON.stringify(body);
  const headers = {
    ...SECURITY_HEADERS,
    Connection: 'close',
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(json)),
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines.join('')}\r\n${json}`;
}

/** The options of Fastify() that put its own answers in the API's shape. */
export function errorShapeOptions(log: Logger, requestTimeoutMs: number) {
  return {
    // The stopping server's 503 comes from the hook in answerErrorsInShape().
    return503OnClosing: false,
    // The router refuses before any hook ran: the security headers are set here.
    frameworkErrors: (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
      setSecurityHeaders(reply.raw);
      sendThrown(log, err, req, reply);
    },
    /**
     * Answers an error of Node's HTTP parser, then closes the connection (as
     * Node's own handler does, and Fastify's: the parser cannot go on), with
     * no answer once a response has begun on it.
     */
    clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => {
      // A connection reset: nobody left to answer.
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const { code, message } = CONNECTION_ERRORS[err.code ?? ''] ?? NOT_HTTP;
      if (socket.writable && !responseBegun(socket)) {
        socket.write(rawAnswer(errorAnswer(code, message(requestTimeoutMs))));
      }
      socket.destroy(err);
    },
  };
}

/**
 * The handlers and hooks that put the errors of the routes' handling, a
 * missing route and a stop in the API's shape; and the record of the
 * responses under way that clientErrorHandler reads.
 */
export function answerErrorsInShape(app: FastifyInstance, log: Logger): void {
  trackResponses(app.server);
  app.setErrorHandler((err: FastifyError, req, reply) => sendThrown(log, err, req, reply));
  app.setNotFoundHandler((req, reply) =>
    sendAnswer(reply, errorAnswer('not_found', `no route for ${req.method} ${req.url.split('?')[0]}`)),
  );
  let stopping = false;
  app.addHook('preClose', async () => {
    stopping = true;
  });
  app.addHook('onRequest', async (_req, reply) => {
    if (stopping) return sendAnswer(reply.header('retry-after', RETRY_AFTER_SECONDS), STOPPING);
  });
}

function sendThrown(log: Logger, err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const answer = answerTo(err);
  if (answer.status >= 500)
    log.error({ event: 'http_error', method: req.method, url: req.url, err }, 'request failed');
  return sendAnswer(reply, answer);
}
