/**
 * The contract of the logs: every line either service writes is one JSON
 * object matching `logLineSchema`. Documented in docs/logs.md; the tests
 * parse real log output with it. Objects are strict: a field that is not
 * documented here fails the tests.
 */
import { z } from 'zod';
import {
  clientExceptionReasonSchema,
  evictReasonSchema,
  notifyEventSchema,
  receivedKindSchema,
  SENDER_STATES,
  type SenderState,
  senderStateSchema,
  serverExceptionReasonSchema,
} from './vocabulary.js';

const level = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const base = {
  time: z.iso.datetime().describe('ISO-8601 UTC time of the line'),
  level: level.describe('pino level name'),
  service: z.enum(['server', 'client']),
  msg: z.string().optional().describe('a human summary; never needed by tooling'),
  component: z.enum(['beacon', 'http', 'notify']).optional(),
};
const err = z
  .object({ type: z.string(), message: z.string(), stack: z.string().optional() })
  .loose()
  .describe('pino-serialised error');
const state = senderStateSchema;
const stateCounts = z.object(
  Object.fromEntries(SENDER_STATES.map((s) => [s, z.number().int()])) as Record<SenderState, z.ZodNumber>,
);
const event = <E extends string, S extends z.ZodRawShape>(name: E, shape: S) =>
  z.object({ ...base, event: z.literal(name), ...shape }).strict();

export const logEvents = {
  // Both services
  config_error: event('config_error', {
    variable: z.string(),
    value: z.string().nullable(),
    expected: z.string(),
  }),
  fatal: event('fatal', { err }),
  listening: event('listening', {
    protocol: z.enum(['udp', 'http']),
    address: z.string(),
    port: z.number().int(),
    recvBufferBytes: z.number().int().optional(),
    recvBufferAsked: z.number().int().optional(),
  }),
  stop: event('stop', {
    reason: z.string(),
    signal: z.string().optional(),
    timeoutMs: z.number().optional(),
  }),
  stopped: event('stopped', { durationMs: z.number() }),
  // Server
  start: event('start', {
    source: z.string().optional(),
    boot: z.string().optional(),
    intervalMs: z.number().int().optional(),
    targets: z.array(z.string()).optional(),
    signed: z.boolean().optional(),
    keyId: z.string().nullable().optional(),
    version: z.string().optional(),
    config: z.record(z.string(), z.unknown()).optional(),
  }),
  send: event('send', {
    kind: z.enum(['beat', 'bye']),
    seq: z.number().int(),
    target: z.string(),
    address: z.string(),
    port: z.number().int(),
    bytes: z.number().int(),
  }),
  // Client
  readable: event('readable', {
    from: z.string(),
    port: z.number().int(),
    bytes: z.number().int(),
    kind: receivedKindSchema,
    source: z.string().optional(),
    seq: z.number().int().optional(),
    sentAt: z.string().optional(),
    delayMs: z.number().optional(),
    verified: z.boolean().optional(),
    reason: clientExceptionReasonSchema.optional(),
  }),
  exception: event('exception', {
    reason: z.enum([...serverExceptionReasonSchema.options, ...clientExceptionReasonSchema.options]),
    detail: z.string().optional(),
    from: z.string().optional(),
    port: z.number().int().optional(),
    bytes: z.number().int().optional(),
    target: z.string().optional(),
    address: z.string().optional(),
    seq: z.number().int().optional(),
    err: err.optional(),
  }),
  suppressed: event('suppressed', { reason: clientExceptionReasonSchema, suppressed: z.number().int() }),
  state: event('state', { source: z.string(), from: state.nullable(), to: state, reason: z.string() }),
  restart: event('restart', { source: z.string(), boot: z.string() }),
  evict: event('evict', { source: z.string(), reason: evictReasonSchema }),
  clock_step: event('clock_step', { stepMs: z.number().int() }),
  overrun: event('overrun', {
    dropped: z.number().int(),
    queueDrops: z.number().int(),
    kernelDrops: z.number().int(),
  }),
  state_file: event('state_file', {
    file: z.string(),
    senders: z.number().int(),
    monitorDownMs: z.number().nullable(),
    cleanStop: z.boolean().nullable(),
    recordedUntil: z.iso.datetime().nullable(),
  }),
  store_error: event('store_error', { file: z.string(), err }),
  state_file_error: event('state_file_error', { file: z.string() }),
  notify: event('notify', {
    target: z.string().describe('scheme://host:port of the target: never its path, which may hold a secret'),
    outcome: z.enum(['sent', 'failed', 'given_up', 'dropped', 'moved']),
    id: z.string().optional(),
    source: z.string().optional(),
    notification: notifyEventSchema.optional(),
    attempt: z.number().int().optional(),
    status: z.number().int().nullable().optional(),
    error: z.string().optional(),
    ms: z.number().optional(),
    retryInMs: z.number().optional(),
    count: z.number().int().optional(),
    alerts: z.number().int().optional(),
  }),
  silence: event('silence', {
    action: z.enum(['added', 'removed']),
    id: z.string(),
    sources: z.string().optional(),
    until: z.string().optional(),
  }),
  mark: event('mark', {
    sinceLastDatagramS: z.number().nullable(),
    datagrams: z.number().int(),
    datagramsSinceMark: z.number().int(),
    states: stateCounts,
    logLinesDropped: z.number().int(),
  }),
  http_error: event('http_error', { method: z.string(), url: z.string(), err }),
};

export type LogEventName = keyof typeof logEvents;
export const LOG_EVENT_NAMES = Object.keys(logEvents) as LogEventName[];

export const logLineSchema = z.discriminatedUnion(
  'event',
  Object.values(logEvents) as unknown as [
    (typeof logEvents)[LogEventName],
    ...(typeof logEvents)[LogEventName][],
  ],
);
export type LogLine = z.infer<typeof logLineSchema>;

/** Parse one line of output; returns the zod error text on failure. */
export function parseLogLine(line: string): { ok: true; value: LogLine } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { ok: false, error: `not JSON: ${line.slice(0, 200)}` };
  }
  const r = logLineSchema.safeParse(json);
  return r.success
    ? { ok: true, value: r.data }
    : { ok: false, error: `${z.prettifyError(r.error)}\n  in: ${line.slice(0, 300)}` };
}
