/**
 * The JSON API's shapes: query schemas (validated, 400 naming the bad
 * parameter otherwise), response schemas, and the OpenAPI document built
 * from the same zod schemas.
 */
import { z } from 'zod';
import { isoTime } from '../../shared/iso-time.js';
import {
  heartbeatMarkSchema,
  receivedKindSchema,
  senderKindSchema,
  senderStateSchema,
} from '../../shared/vocabulary.js';
import type { Received } from '../ingest/history.js';
import type { Silence } from '../notify/silences.js';
import type { IncidentRow } from '../store/state-file.js';
import { countersOf } from '../tracking/sender.js';
import type { SenderSummary, SenderView } from '../tracking/tracker.js';

const iso = (ms: number | null) => (ms === null ? null : isoTime(ms));

export function datagramsQuery(historySize: number) {
  return z
    .object({
      limit: z.coerce
        .number()
        .int()
        .min(1)
        .max(historySize)
        .default(Math.min(100, historySize))
        .describe('How many recent datagrams, newest first'),
      source: z
        .string()
        .min(1)
        .max(80)
        .optional()
        .describe('Only this sender id (or text peer address:port)'),
    })
    .strict();
}

export const senderParams = z.object({ source: z.string().min(1).max(64) });

/** GET /api/senders: one page, sorted by source; the next page is in the `Link` header (rel="next"). */
export const sendersQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Senders per page (at most 1000)'),
    cursor: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe('From the previous page\'s Link rel="next": the last source it had'),
    state: senderStateSchema.optional().describe('Only senders in this state'),
    q: z.string().min(1).max(64).optional().describe('Only senders whose source or name contains this text'),
    heartbeats: z
      .stringbool()
      .optional()
      .describe(
        'true: each sender with its heartbeat bar, as /api/senders/{source} has it (twice the bytes); without it, a summary',
      ),
  })
  .strict();

/** GET /: the status page, optionally with its search box's text. */
export const pageQuery = z.object({
  q: z.string().max(64).optional().describe('Only senders whose source or name contains this text'),
});

export const receivedSchema = z.object({
  id: z.number().int(),
  receivedAt: z.string(),
  from: z.string().describe('remote address:port'),
  bytes: z.number().int(),
  kind: receivedKindSchema,
  source: z.string().nullable(),
  boot: z.string().nullable(),
  seq: z.number().int().nullable(),
  sentAt: z.string().nullable(),
  delayMs: z.number().nullable(),
  text: z.string().nullable(),
  reason: z.string().nullable().describe('exception reason for text and rejected datagrams'),
  detail: z.string().nullable(),
  verified: z.boolean().describe('an HMAC signature verified'),
});

export function toApiReceived(r: Received): z.infer<typeof receivedSchema> {
  return {
    id: r.id,
    receivedAt: iso(r.receivedAtMs) as string,
    from: r.from,
    bytes: r.bytes,
    kind: r.kind,
    source: r.source,
    boot: r.boot,
    seq: r.seq,
    sentAt: iso(r.sentAtMs),
    delayMs: r.delayMs,
    text: r.text,
    reason: r.reason,
    detail: r.detail,
    verified: r.verified,
  };
}

/** A sender in a page of /api/senders: everything but its heartbeat bar. */
export const senderSummarySchema = z.object({
  source: z.string().describe("the protocol source id, or a plain-text sender's address"),
  kind: senderKindSchema,
  displayName: z.string().nullable().describe('the declared name, if any'),
  declared: z.boolean().describe('declared in EXPECTED_SENDERS or SENDERS_FILE: it must be there'),
  maintenance: z.boolean().describe('under a silence: its downtime is planned and it notifies nobody'),
  boot: z.string().nullable().describe('null for plain text and before the first datagram'),
  state: senderStateSchema,
  stateSince: z.string(),
  reason: z.string().describe('why the sender is in its state'),
  firstSeen: z.string().nullable().describe('null: never heard from'),
  lastSeen: z.string().nullable(),
  lastSeq: z.number().int().nullable().describe('null for plain text and before the first datagram'),
  intervalMs: z.number().nullable().describe('declared, announced or inferred; null while unknown'),
  expectedAt: z.string().nullable().describe('when the next beat is due'),
  received: z.number().int(),
  lost: z.number().int(),
  duplicates: z.number().int(),
  outOfOrder: z.number().int(),
  stale: z.number().int(),
  restarts: z.number().int(),
  delay: z.object({ lastMs: z.number(), minMs: z.number(), meanMs: z.number(), maxMs: z.number() }),
  jitterMs: z.number(),
  uptime: z.object({ h1: z.number().nullable(), h24: z.number().nullable() }).describe('percent'),
});

/** One sender (/api/senders/{source}, the page's live list): its summary and its heartbeat bar. */
export const senderSchema = senderSummarySchema.extend({
  heartbeats: z.array(heartbeatMarkSchema).describe('the latest beats, oldest first'),
});

/** A sender of a page of /api/senders: with its heartbeat bar if it was asked for. */
export const listedSenderSchema = senderSummarySchema.extend({
  heartbeats: senderSchema.shape.heartbeats.optional(),
});

export function toApiSender(s: SenderView): z.infer<typeof senderSchema> {
  return { ...toApiSenderSummary(s), heartbeats: s.heartbeats };
}

/** A summary, or a full sender when the view has its bar. */
export function toApiListed(s: SenderSummary | SenderView): z.infer<typeof listedSenderSchema> {
  return 'heartbeats' in s ? toApiSender(s) : toApiSenderSummary(s);
}

export function toApiSenderSummary(s: SenderSummary): z.infer<typeof senderSummarySchema> {
  return {
    source: s.source,
    kind: s.kind,
    displayName: s.displayName,
    declared: s.declared,
    maintenance: s.maintenance,
    boot: s.boot,
    state: s.state,
    stateSince: iso(s.stateSinceMs) as string,
    reason: s.reason,
    firstSeen: iso(s.firstSeenMs),
    lastSeen: iso(s.lastSeenMs),
    lastSeq: s.lastSeq,
    intervalMs: s.intervalMs,
    expectedAt: iso(s.expectedAtMs),
    ...countersOf(s),
    delay: s.delay,
    jitterMs: s.jitterMs,
    uptime: s.uptime,
  };
}

export const statusSchema = z.object({
  service: z.literal('client'),
  version: z.string(),
  startedAt: z.string(),
  uptimeSeconds: z.number(),
  udp: z.object({
    address: z.string(),
    port: z.number().int(),
    recvBufferBytes: z.number().int(),
    threads: z.number().int().describe('UDP_WORKERS: the threads that read the port'),
    queueDrops: z
      .number()
      .int()
      .describe('datagrams dropped because the queue from those threads to the main thread was full'),
  }),
  totals: z.object({
    datagrams: z.number().int(),
    bytes: z.number().int(),
    accepted: z.number().int(),
    text: z.number().int(),
    exceptions: z.record(z.string(), z.number().int()),
  }),
  lastDatagramAt: z.string().nullable(),
  senders: z.object({ total: z.number().int(), byState: z.record(senderStateSchema, z.number().int()) }),
  kernel: z.object({ drops: z.number().int(), rxQueueBytes: z.number().int() }).nullable(),
  stateFile: z
    .object({ path: z.string(), writes: z.number().int(), failures: z.number().int() })
    .describe('the SQLite file the monitor remembers its senders in'),
  monitorDowntime: z
    .array(z.object({ from: z.string(), to: z.string(), seconds: z.number() }))
    .describe("the monitor's own downtime between its runs, newest first: senders' uptime there is unknown"),
});

export const silenceSchema = z.object({
  id: z.string(),
  sources: z.string().describe('a glob over sender ids: * any run, ? one character'),
  until: z.string(),
  comment: z.string(),
  createdAt: z.string(),
});

export function toApiSilence(s: Silence): z.infer<typeof silenceSchema> {
  return {
    id: s.id,
    sources: s.sources,
    until: iso(s.until) as string,
    comment: s.comment,
    createdAt: iso(s.createdAtMs) as string,
  };
}

export const incidentsQuery = z
  .object({
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(50)
      .describe('How many state changes, newest first'),
  })
  .strict();

export const incidentSchema = z.object({
  at: z.string(),
  from: senderStateSchema.nullable(),
  to: senderStateSchema,
  reason: z.string(),
});

export function toApiIncident(i: IncidentRow): z.infer<typeof incidentSchema> {
  return { at: iso(i.atMs) as string, from: i.from, to: i.to, reason: i.reason };
}
export type Status = z.infer<typeof statusSchema>;

export const errorSchema = z.object({
  error: z.string(),
  parameter: z.string().optional().describe('the query or path parameter that was rejected'),
  message: z.string(),
});

/** A 400 body naming the first bad parameter. */
export function badRequest(error: z.ZodError): z.infer<typeof errorSchema> {
  const issue = error.issues[0];
  const parameter =
    issue?.path[0] !== undefined ? String(issue.path[0]) : (issue as { keys?: string[] })?.keys?.[0];
  return {
    error: 'bad_request',
    ...(parameter !== undefined ? { parameter } : {}),
    message: `${parameter ?? 'query'}: ${issue?.message ?? 'invalid'}`,
  };
}

export function openApiDocument(version: string, historySize: number) {
  const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' });
  const ok = (description: string, schema: z.ZodType) => ({
    description,
    content: { 'application/json': { schema: json(schema) } },
  });
  const bad = {
    description: 'Invalid parameter',
    content: { 'application/json': { schema: json(errorSchema) } },
  };
  const query = datagramsQuery(historySize);
  const queryParams = Object.entries(query.shape).map(([name, schema]) => ({
    name,
    in: 'query',
    required: false,
    description: schema.description,
    schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
  }));
  return {
    openapi: '3.1.0',
    info: { title: 'udp-time-service monitor', version },
    paths: {
      '/api/status': {
        get: { summary: 'Totals and per-state counts', responses: { 200: ok('Status', statusSchema) } },
      },
      '/api/senders': {
        get: {
          summary:
            'Tracked senders, one page sorted by source; the next page is in the Link header (rel="next")',
          parameters: Object.entries(sendersQuery.shape).map(([name, schema]) => ({
            name,
            in: 'query',
            required: false,
            description: schema.description,
            schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
          })),
          responses: { 200: ok('Senders', z.array(listedSenderSchema)), 400: bad },
        },
      },
      '/api/senders/{source}': {
        get: {
          summary: 'One sender',
          parameters: [{ name: 'source', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: ok('Sender', senderSchema), 404: ok('Unknown sender', errorSchema) },
        },
        delete: {
          summary:
            'Forget a sender (a decommissioned one): its record, its row in the state file, its incidents, what was notified of it. A datagram from it later makes it new. Needs Authorization: Bearer <admin token>',
          parameters: [{ name: 'source', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            204: { description: 'forgotten' },
            401: ok('Wrong or missing token', errorSchema),
            404: ok('Unknown sender', errorSchema),
            409: ok('A declared sender: take it out of EXPECTED_SENDERS or SENDERS_FILE', errorSchema),
          },
        },
      },
      '/api/senders/{source}/incidents': {
        get: {
          summary: "One sender's state changes (its incidents), newest first, across monitor restarts",
          parameters: [
            { name: 'source', in: 'path', required: true, schema: { type: 'string' } },
            {
              name: 'limit',
              in: 'query',
              required: false,
              schema: z.toJSONSchema(incidentsQuery.shape.limit, { io: 'input', unrepresentable: 'any' }),
            },
          ],
          responses: {
            200: ok('Incidents', z.array(incidentSchema)),
            400: bad,
            404: ok('Unknown sender', errorSchema),
          },
        },
      },
      '/api/silences': {
        get: { summary: 'Silences in force', responses: { 200: ok('Silences', z.array(silenceSchema)) } },
        post: {
          summary: 'Add a silence (needs Authorization: Bearer <admin token>)',
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['sources', 'until'],
                  properties: {
                    sources: { type: 'string', description: 'glob over sender ids' },
                    until: { type: 'string', description: 'an ISO-8601 time, or a duration such as 2h' },
                    comment: { type: 'string' },
                  },
                },
              },
            },
          },
          responses: {
            201: ok('The silence', silenceSchema),
            400: bad,
            401: ok('Wrong or missing token', errorSchema),
            403: ok('No admin token configured', errorSchema),
          },
        },
      },
      '/api/silences/{id}': {
        delete: {
          summary: 'End a silence (needs Authorization: Bearer <admin token>)',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            204: { description: 'ended' },
            401: ok('Wrong or missing token', errorSchema),
            404: ok('Unknown silence', errorSchema),
          },
        },
      },
      '/api/datagrams': {
        get: {
          summary: 'Recent datagrams, newest first',
          parameters: queryParams,
          responses: { 200: ok('Datagrams', z.array(receivedSchema)), 400: bad },
        },
      },
      '/api/events': {
        get: {
          summary: 'Live updates (Server-Sent Events: datagram, state, mark, senders, counts)',
          responses: {
            200: { description: 'text/event-stream; gzip-compressed when Accept-Encoding takes gzip' },
          },
        },
      },
      '/healthz': { get: { summary: 'Process alive', responses: { 200: { description: 'ok' } } } },
      '/readyz': {
        get: {
          summary: 'UDP socket bound and HTTP listening',
          responses: { 200: { description: 'ready' }, 503: { description: 'not ready' } },
        },
      },
      '/metrics': {
        get: { summary: 'Prometheus metrics', responses: { 200: { description: 'text/plain' } } },
      },
    },
  };
}
