/**
 * The monitor's HTTP side: status page, JSON API, live events, metrics and
 * health. Every query is validated with zod; a bad one gets a 400 naming the
 * parameter. Every error is answered in the API's one shape (errors.ts), a
 * request must arrive within a bounded time (request-limits.ts). Security
 * headers (strict CSP) on every answer, errors too (security-headers.ts).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { History } from '../ingest/history.js';
import { MAX_SILENCES, type Maintenance } from '../notify/maintenance.js';
import { parseSilenceInput } from '../notify/silences.js';
import type { TestNotification } from '../notify/test-notification.js';
import type { LastNotification } from '../store/outbox.js';
import type { IncidentRow } from '../store/state-file.js';
import type { SenderView, Tracker } from '../tracking/tracker.js';
import type { AdminVerdict } from './admin-auth.js';
import {
  badRequest,
  datagramsQuery,
  incidentsQuery,
  NO_TARGETS_MESSAGE,
  noQuery,
  pageQuery,
  type Status,
  senderParams,
  sendersQuery,
  silenceId,
  testNotificationInput,
  toApiIncident,
  toApiReceived,
  toApiSender,
  toApiSilence,
  toApiTestNotification,
  UNKNOWN_TARGET_MESSAGE,
} from './api.js';
import { boundWhatClientsHold, type ClientBounds } from './client-bounds.js';
import { errorAnswer } from './error-codes.js';
import { answerErrorsInShape, errorShapeOptions, RETRY_AFTER_SECONDS, sendAnswer } from './errors.js';
import type { MonitorMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { PAGE_SENDER_LIMIT, renderPage, renderSenderPage } from './page.js';
import {
  REQUEST_TIMEOUT_MS,
  RESPONSE_IDLE_MS,
  serverLimits,
  WRITE_BODY_LIMIT_BYTES,
} from './request-limits.js';
import { sendSecurityHeaders } from './security-headers.js';
import { pageInParts, urgentViewsInParts } from './senders-in-parts.js';
import { renderSilencesPage } from './silences-page.js';
import { acceptsGzip, type EventHub } from './sse.js';

/** State changes listed on a sender's page. */
const SENDER_PAGE_INCIDENTS = 100;
/** The 404 of a sender the monitor does not track, on the page and in the API. */
const UNKNOWN_SENDER = errorAnswer('not_found', 'unknown sender', 'source');

export interface HttpDeps extends Omit<ClientBounds, 'responseIdleMs'> {
  version: string;
  historySize: number;
  /** MARK_INTERVAL: a longer silence shows as a "waiting…" separator on the page. */
  markIntervalMs: number;
  tracker: Tracker;
  history: History;
  hub: EventHub;
  metrics: MonitorMetrics;
  status(): Status;
  /** A sender's state changes from the state file, newest first. */
  incidents(source: string, limit: number): Promise<IncidentRow[]>;
  /** The newest notification of a sender and how its delivery went. */
  lastNotification(source: string): LastNotification | null;
  maintenance: Maintenance;
  /** Checks the Authorization header of a write. */
  admin(authorization: string | undefined): AdminVerdict;
  /**
   * A test notification to every target, or to those labelled `target`, about the sender named if any
   * (POST /api/notifications/test).
   */
  testNotification(ask: {
    source: string | null;
    target: string | null;
  }): Promise<TestNotification | 'unknown_sender' | 'unknown_target' | 'no_targets'>;
  /** Forgets a sender everywhere (DELETE /api/senders/:source); a declared one stays. */
  forgetSender(source: string): 'forgotten' | 'declared' | 'unknown';
  ready(): boolean;
  now(): number;
  logger: Logger;
  /** Time a client has to send a whole request (REQUEST_TIMEOUT_MS when absent). */
  requestTimeoutMs?: number;
  /** How long an answer being sent may wait for its client to take any of it (RESPONSE_IDLE_MS when absent). */
  responseIdleMs?: number;
}

const PUBLIC_DIR = join(import.meta.dirname, 'public');
/** How long a stop lets requests in flight finish before it closes every connection left. */
export const CLOSE_GRACE_MS = 250;
/** A stylesheet as served: without its comments and indentation (the page's weight budget is 50 KB). */
export function compactCss(css: string): string {
  return css
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^[ \t]+/gm, '')
    .replace(/\n{2,}/g, '\n');
}

/** The page's static files, read once; the ETag lets a reloading page revalidate with a 304. */
function staticFile(name: string, type: string): { type: string; body: Buffer; etag: string } {
  const raw = readFileSync(join(PUBLIC_DIR, name));
  const body = name.endsWith('.css') ? Buffer.from(compactCss(raw.toString('utf8'))) : raw;
  return { type, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}
const STATIC: Record<string, { type: string; body: Buffer; etag: string }> = {
  'page.js': staticFile('page.js', 'text/javascript; charset=utf-8'),
  'page.css': staticFile('page.css', 'text/css; charset=utf-8'),
  'silences.js': staticFile('silences.js', 'text/javascript; charset=utf-8'),
};

export async function buildHttp(deps: HttpDeps): Promise<FastifyInstance> {
  const log = deps.logger.child({ component: 'http' });
  const requestTimeoutMs = deps.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const app = Fastify({
    logger: false,
    ...serverLimits(requestTimeoutMs),
    ...errorShapeOptions(log, requestTimeoutMs),
  });
  sendSecurityHeaders(app);
  answerErrorsInShape(app, log);
  boundWhatClientsHold(app, { ...deps, responseIdleMs: deps.responseIdleMs ?? RESPONSE_IDLE_MS });
  // Writes take JSON only: Fastify's own text/plain parser would let such a body through to the route's
  // schema (a 400) instead of the 415 the API promises.
  app.removeContentTypeParser('text/plain');

  const datagramsQuerySchema = datagramsQuery(deps.historySize);
  // An API route without parameters refuses any, as those with parameters refuse one they do not know:
  // a typo is a 400 naming it, not a silently different answer. (Pages and /metrics take what they know.)
  const takesNoQuery = {
    preHandler: async (req: FastifyRequest, reply: FastifyReply) => {
      const query = noQuery.safeParse(req.query);
      if (!query.success) return sendAnswer(reply, badRequest(query.error));
    },
  };

  app.get('/', async (req, reply) => {
    const query = pageQuery.safeParse(req.query);
    if (!query.success) return sendAnswer(reply, badRequest(query.error));
    const q = query.data.q ?? '';
    const senders: SenderView[] = [];
    await urgentViewsInParts(deps.tracker, PAGE_SENDER_LIMIT, deps.now, (part) => senders.push(...part), q);
    const nowMs = deps.now();
    const html = renderPage({
      q,
      status: deps.status(),
      senders,
      recent: deps.history.recent(Math.min(100, deps.historySize)),
      nowMs,
      quietMs: deps.markIntervalMs,
    });
    return reply
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(Readable.from(html));
  });
  app.get<{ Params: { source: string } }>('/senders/:source', async (req, reply) => {
    const params = senderParams.safeParse(req.params);
    if (!params.success) return sendAnswer(reply, badRequest(params.error));
    const nowMs = deps.now();
    const sender = deps.tracker.view(params.data.source, nowMs);
    if (sender === undefined) {
      return sendAnswer(reply, UNKNOWN_SENDER);
    }
    const incidents = await deps.incidents(sender.source, SENDER_PAGE_INCIDENTS);
    const html = renderSenderPage({
      sender,
      incidents,
      lastNotification: deps.lastNotification(sender.source),
      status: deps.status(),
      nowMs,
    });
    return reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(html);
  });
  app.get<{ Params: { file: string } }>('/static/:file', (req, reply) => {
    // Own keys only: /static/constructor must be a 404, not Object's constructor.
    const file = Object.hasOwn(STATIC, req.params.file) ? STATIC[req.params.file] : undefined;
    if (file === undefined) return reply.callNotFound();
    reply.header('cache-control', 'no-cache').header('etag', file.etag).type(file.type);
    if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
    return reply.send(file.body);
  });
  app.get('/api/status', takesNoQuery, () => deps.status());
  app.get('/api/senders', async (req, reply) => {
    const query = sendersQuery.safeParse(req.query);
    if (!query.success) return sendAnswer(reply, badRequest(query.error));
    const { cursor, ...rest } = query.data;
    const page = await pageInParts(
      deps.tracker,
      { ...rest, ...(cursor === undefined ? {} : { after: cursor }) },
      () => deps.now(),
    );
    reply.header('x-senders-total', String(deps.tracker.size));
    if (page.next !== null) {
      const next = new URLSearchParams({
        ...Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, String(v)])),
        cursor: page.next,
      });
      reply.header('link', `</api/senders?${next}>; rel="next"`);
    }
    return reply.type('application/json; charset=utf-8').send(Readable.from(page.chunks));
  });
  app.get<{ Params: { source: string } }>('/api/senders/:source', takesNoQuery, (req, reply) => {
    const params = senderParams.safeParse(req.params);
    if (!params.success) return sendAnswer(reply, badRequest(params.error));
    const nowMs = deps.now();
    const view = deps.tracker.view(params.data.source, nowMs);
    if (view === undefined) {
      return sendAnswer(reply, UNKNOWN_SENDER);
    }
    return toApiSender(view);
  });
  app.get<{ Params: { source: string } }>('/api/senders/:source/incidents', async (req, reply) => {
    const params = senderParams.safeParse(req.params);
    if (!params.success) return sendAnswer(reply, badRequest(params.error));
    const query = incidentsQuery.safeParse(req.query);
    if (!query.success) return sendAnswer(reply, badRequest(query.error));
    if (deps.tracker.view(params.data.source, deps.now()) === undefined) {
      return sendAnswer(reply, UNKNOWN_SENDER);
    }
    return (await deps.incidents(params.data.source, query.data.limit)).map(toApiIncident);
  });
  app.get('/api/datagrams', (req, reply) => {
    const query = datagramsQuerySchema.safeParse(req.query);
    if (!query.success) return sendAnswer(reply, badRequest(query.error));
    return deps.history.recent(query.data.limit, query.data.source).map(toApiReceived);
  });
  const openapi = openApiDocument(deps.version, deps.historySize);
  app.get('/api/openapi.json', takesNoQuery, () => openapi);
  app.get('/api/events', takesNoQuery, (req, reply) => {
    // A HEAD gets the stream's headers and no stream: it takes no client slot, and writes to it
    // would be dropped anyway (no headers would ever leave).
    if (req.method === 'HEAD')
      return reply.type('text/event-stream').header('cache-control', 'no-cache').send();
    reply.hijack();
    // The security headers are set on reply.raw in onRequest, so they survive hijack() (tested in
    // tests/unit/page.test.ts); headers set on the fastify reply would not: copy any there are.
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) reply.raw.setHeader(name, value);
    }
    if (!deps.hub.attach(reply.raw, acceptsGzip(req.headers['accept-encoding']))) {
      const { status, body } = errorAnswer('too_many_clients', 'SSE_MAX_CLIENTS reached');
      reply.raw.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'retry-after': RETRY_AFTER_SECONDS,
      });
      reply.raw.end(JSON.stringify(body));
      return;
    }
    req.raw.on('close', () => reply.raw.end());
  });
  // Silences: reads are open, writes need the admin token (no cookies: nothing for CSRF to use).
  // The one check every write route runs first: on the request's arrival, before its body is read, so
  // that nobody without the token has a body parsed (or held while it trickles in). A write's body is
  // small: a silence.
  const adminOnly = {
    // A write takes its input in its path and body: a query parameter is refused, as on the reads.
    ...takesNoQuery,
    bodyLimit: WRITE_BODY_LIMIT_BYTES,
    onRequest: async (req: FastifyRequest, reply: FastifyReply) => {
      const verdict = deps.admin(req.headers.authorization);
      if (!verdict.ok) return sendAnswer(reply.header('www-authenticate', 'Bearer'), verdict);
    },
  };
  app.get('/api/silences', takesNoQuery, () => deps.maintenance.list().map(toApiSilence));
  // A write is answered once every sender shows it (Maintenance.marked(): the marks are made a step at
  // a time), so the page and the API read after it agree with it.
  app.post('/api/silences', adminOnly, async (req, reply) => {
    // Each silence is checked against every sender whenever the silences change: their number is bounded.
    if (deps.maintenance.list().length >= MAX_SILENCES) {
      return sendAnswer(
        reply,
        errorAnswer(
          'too_many_silences',
          `${MAX_SILENCES} silences at most: remove one, or cover more senders with one glob`,
          'sources',
        ),
      );
    }
    const nowMs = deps.now();
    const input = parseSilenceInput(req.body, nowMs);
    if (!input.ok) {
      return sendAnswer(
        reply,
        errorAnswer('bad_request', `${input.parameter}: ${input.message}`, input.parameter),
      );
    }
    const silence = deps.maintenance.add(input.value, nowMs);
    log.info(
      {
        event: 'silence',
        action: 'added',
        id: silence.id,
        sources: silence.sources,
        until: new Date(silence.until).toISOString(),
      },
      `silence ${silence.id} added for ${silence.sources}`,
    );
    await deps.maintenance.marked();
    return reply.code(201).send(toApiSilence(silence));
  });
  app.delete<{ Params: { id: string } }>('/api/silences/:id', adminOnly, async (req, reply) => {
    // Not a silence's id (a UUID): no such silence either.
    const id = silenceId.safeParse(req.params.id);
    if (!id.success || !deps.maintenance.remove(id.data)) {
      return sendAnswer(reply, errorAnswer('not_found', 'no such silence', 'id'));
    }
    log.info({ event: 'silence', action: 'removed', id: id.data }, `silence ${id.data} removed`);
    await deps.maintenance.marked();
    return reply.code(204).send();
  });
  app.post('/api/notifications/test', adminOnly, async (req, reply) => {
    const input = testNotificationInput.safeParse(req.body);
    if (!input.success) return sendAnswer(reply, badRequest(input.error, 'body'));
    const outcome = await deps.testNotification({
      source: input.data?.source ?? null,
      target: input.data?.target ?? null,
    });
    if (outcome === 'unknown_sender') return sendAnswer(reply, UNKNOWN_SENDER);
    if (outcome === 'unknown_target') {
      return sendAnswer(reply, errorAnswer('not_found', UNKNOWN_TARGET_MESSAGE, 'target'));
    }
    if (outcome === 'no_targets') return sendAnswer(reply, errorAnswer('no_targets', NO_TARGETS_MESSAGE));
    return toApiTestNotification(outcome);
  });
  app.delete<{ Params: { source: string } }>('/api/senders/:source', adminOnly, (req, reply) => {
    const params = senderParams.safeParse(req.params);
    if (!params.success) return sendAnswer(reply, badRequest(params.error));
    const { source } = params.data;
    const outcome = deps.forgetSender(source);
    if (outcome === 'unknown') {
      return sendAnswer(reply, UNKNOWN_SENDER);
    }
    if (outcome === 'declared') {
      return sendAnswer(
        reply,
        errorAnswer(
          'declared',
          'a declared sender: take it out of EXPECTED_SENDERS or SENDERS_FILE',
          'source',
        ),
      );
    }
    log.info({ event: 'evict', source, reason: 'forgotten' }, `sender ${source} forgotten`);
    return reply.code(204).send();
  });
  app.get('/silences', (_req, reply) =>
    reply
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(renderSilencesPage({ silences: deps.maintenance.list(), nowMs: deps.now() })),
  );
  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', (_req, reply) =>
    deps.ready() ? { status: 'ready' } : reply.code(503).send({ status: 'not_ready' }),
  );
  app.get('/metrics', async (_req, reply) => {
    return reply.type(deps.metrics.contentType).send(Readable.from(await deps.metrics.scrape()));
  });
  return app;
}

/**
 * Closes the server without waiting on its clients: requests in flight get
 * `graceMs` to finish, then every connection still open is closed. Node's
 * close() only closes connections between requests, so one that was opened
 * and never sent a request (a browser's preconnect) or sent half of one
 * would otherwise hold the stop until the client left.
 */
export async function closeHttp(app: FastifyInstance, graceMs = CLOSE_GRACE_MS): Promise<void> {
  const force = setTimeout(() => app.server.closeAllConnections(), graceMs);
  try {
    await app.close();
  } finally {
    clearTimeout(force);
  }
}
