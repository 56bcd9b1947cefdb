/**
 * The JSON API's shapes: query schemas (validated, 400 naming the bad
 * parameter otherwise), response schemas and the error shape, from which
 * openapi.ts builds the OpenAPI document.
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
import { TEST_TARGET_KINDS, type TestNotification } from '../notify/test-notification.js';
import type { IncidentRow } from '../store/state-file.js';
import { countersOf } from '../tracking/sender.js';
import type { SenderSummary, SenderView } from '../tracking/tracker.js';
import { ERROR_CODE_NAMES, ERROR_CODES, type ErrorAnswer, errorAnswer } from './error-codes.js';
import { integerParam } from './integer-param.js';

const iso = (ms: number | null) => (ms === null ? null : isoTime(ms));

/**
 * Datagrams one answer lists at most, whatever HISTORY_SIZE keeps (up to
 * 100,000): an answer is built and serialized in one go on the main thread,
 * and one of 100,000 is ~29 MB, 80-120 ms of JSON.stringify alone
 * (measured on the 2-core machine), longer than any step of the views.
 */
export const MAX_DATAGRAMS_ANSWER = 1000;

export function datagramsQuery(historySize: number) {
  const max = Math.min(historySize, MAX_DATAGRAMS_ANSWER);
  return z
    .object({
      limit: integerParam({ min: 1, max })
        .default(Math.min(100, historySize))
        .describe(`How many recent datagrams, newest first (at most ${max})`),
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
    limit: integerParam({ min: 1, max: 1000 }).default(100).describe('Senders per page (at most 1000)'),
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

/** An API route that takes no query parameters. */
export const noQuery = z.strictObject({});

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

/** A silence's id, as the monitor makes them: a UUID. */
export const silenceId = z.uuid();

export const silenceSchema = z.object({
  id: silenceId,
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

/** POST /api/notifications/test: no body, or one naming a tracked sender, or one target, or both. */
export const testNotificationInput = z
  .strictObject({
    source: senderParams.shape.source
      .optional()
      .describe(
        "a tracked sender the test is about: its id, state and page, so that a receiver's routing by source is tried too",
      ),
    target: z
      .string()
      .min(1)
      .max(300)
      .optional()
      .describe(
        'only the target(s) with this label, as the answer and the log name them: scheme://host[:port], #2 after it for the second URL on one host',
      ),
  })
  .optional();
/** The answers of POST /api/notifications/test that have nothing to try. */
export const NO_TARGETS_MESSAGE =
  'nothing to test: set NOTIFY_WEBHOOK_URLS, NOTIFY_WEBHOOK_URLS_FILE or ALERTMANAGER_URLS';
export const UNKNOWN_TARGET_MESSAGE =
  'no configured target has this label: the labels are the `target` of the notify log lines and of udp_monitor_notifications_*_total';

export const testNotificationSchema = z.object({
  id: z
    .string()
    .describe("the test's id: the webhooks' `id` and `Idempotency-Key`, the alert's `test_id` label"),
  at: z.string(),
  source: z.string().nullable().describe('the sender named, or null'),
  sent: z.number().int().describe('targets that took it (a 2xx answer)'),
  failed: z.number().int(),
  targets: z.array(
    z.object({
      target: z.string().describe('scheme://host[:port]: never the secret part of the URL'),
      kind: z.enum(TEST_TARGET_KINDS),
      ok: z.boolean(),
      status: z
        .number()
        .int()
        .nullable()
        .describe('the HTTP status answered; null: none (network error, timeout)'),
      error: z.string().nullable(),
      ms: z.number(),
    }),
  ),
});

export function toApiTestNotification(t: TestNotification): z.infer<typeof testNotificationSchema> {
  const sent = t.tries.filter((x) => x.ok).length;
  return {
    id: t.id,
    at: iso(t.atMs) as string,
    source: t.source,
    sent,
    failed: t.tries.length - sent,
    targets: t.tries,
  };
}

export const incidentsQuery = z
  .object({
    limit: integerParam({ min: 1, max: 1000 }).default(50).describe('How many state changes, newest first'),
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

/** Every error the HTTP server sends, whatever its status (errors.ts puts Fastify's and Node's own in it). */
export const errorSchema = z.object({
  error: z
    .enum(ERROR_CODE_NAMES)
    .describe(
      `a stable code, by status: ${ERROR_CODE_NAMES.map((code) => `${ERROR_CODES[code].status} ${code}`).join(', ')}`,
    ),
  parameter: z.string().optional().describe('the query or path parameter, or body field, that was rejected'),
  message: z.string().describe('what was wrong, for a human'),
});
export type ApiError = z.infer<typeof errorSchema>;

/** A 400 naming the first bad parameter; `whole` names what was refused as a whole (the query, a body). */
export function badRequest(error: z.ZodError, whole = 'query'): ErrorAnswer {
  const issue = error.issues[0];
  const parameter =
    issue?.path[0] !== undefined ? String(issue.path[0]) : (issue as { keys?: string[] })?.keys?.[0];
  return errorAnswer('bad_request', `${parameter ?? whole}: ${issue?.message ?? 'invalid'}`, parameter);
}
