/**
 * The OpenAPI 3.1 document of the JSON API (/api/openapi.json), built from
 * the zod schemas the routes validate and answer with (api.ts). Every
 * operation lists its own errors, and as `default` those any request may
 * get (errors.ts): all in the one error shape, each described by its code's
 * declaration (error-codes.ts).
 */
import { z } from 'zod';
import {
  datagramsQuery,
  errorSchema,
  incidentSchema,
  incidentsQuery,
  listedSenderSchema,
  NO_TARGETS_MESSAGE,
  receivedSchema,
  senderSchema,
  sendersQuery,
  silenceSchema,
  statusSchema,
  testNotificationInput,
  testNotificationSchema,
} from './api.js';
import { ERROR_CODE_NAMES, ERROR_CODES, type ErrorCode } from './error-codes.js';

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' });
const ok = (description: string, schema: z.ZodType) => ({
  description,
  content: { 'application/json': { schema: json(schema) } },
});
/**
 * An error answer of an operation, under the status its code is declared
 * with: the code's "when" (error-codes.ts) and what the operation adds.
 */
const failure = (code: ErrorCode, note?: string) => ({
  [ERROR_CODES[code].status]: ok(
    `${describeCode(code)}${note === undefined ? '' : `. ${note}`}`,
    errorSchema.extend({ error: z.enum([code]) }),
  ),
});
const describeCode = (code: ErrorCode) => `\`${code}\`: ${ERROR_CODES[code].when}`;

/**
 * A query's parameters, each as the value it is read as (an integer for
 * `limit`, sent in decimal digits; a boolean for `heartbeats`).
 */
function queryParameters(query: z.ZodObject) {
  return Object.entries(query.shape).map(([name, schema]) => ({
    name,
    in: 'query',
    required: false,
    description: schema.description,
    schema: json(schema),
  }));
}
const pathParameter = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });

const badQuery = failure(
  'bad_request',
  '`parameter` names the parameter rejected; an integer takes decimal digits only',
);
const pathTooLong = failure('uri_too_long');
const unknown = failure('not_found');
/** What a write (it needs the admin token) may be refused with, whatever the route. */
const writeRefusals = {
  ...failure('unauthorized'),
  ...failure('writes_disabled'),
  ...failure('body_too_large'),
  ...failure('unsupported_media_type'),
};
/** Any request may get these, whatever its route. */
const ANY_REQUEST_ERRORS = ERROR_CODE_NAMES.filter((code) => 'anyRequest' in ERROR_CODES[code]);
const anyOtherError = ok(
  `Any other error: ${ANY_REQUEST_ERRORS.map((code) => `${ERROR_CODES[code].status} ${describeCode(code)}`).join('. ')}`,
  errorSchema,
);
/** An operation's answers, and the errors any request may get. */
const responses = (answers: Record<number, unknown>) => ({ ...answers, default: anyOtherError });

export function openApiDocument(version: string, historySize: number) {
  return {
    openapi: '3.1.0',
    info: { title: 'udp-time-service monitor', version },
    paths: {
      '/api/status': {
        get: {
          summary: 'Totals and per-state counts',
          responses: responses({ 200: ok('Status', statusSchema), ...badQuery }),
        },
      },
      '/api/senders': {
        get: {
          summary:
            'Tracked senders, one page sorted by source; the next page is in the Link header (rel="next")',
          parameters: queryParameters(sendersQuery),
          responses: responses({ 200: ok('Senders', z.array(listedSenderSchema)), ...badQuery }),
        },
      },
      '/api/senders/{source}': {
        get: {
          summary: 'One sender',
          parameters: [pathParameter('source')],
          responses: responses({
            200: ok('Sender', senderSchema),
            ...badQuery,
            ...unknown,
            ...pathTooLong,
          }),
        },
        delete: {
          summary:
            'Forget a sender (a decommissioned one): its record, its row in the state file, its incidents, what was notified of it. A datagram from it later makes it new. Needs Authorization: Bearer <admin token>',
          parameters: [pathParameter('source')],
          responses: responses({
            204: { description: 'forgotten' },
            ...badQuery,
            ...writeRefusals,
            ...unknown,
            ...failure('declared', 'Take it out of EXPECTED_SENDERS or SENDERS_FILE'),
            ...pathTooLong,
          }),
        },
      },
      '/api/senders/{source}/incidents': {
        get: {
          summary: "One sender's state changes (its incidents), newest first, across monitor restarts",
          parameters: [pathParameter('source'), ...queryParameters(incidentsQuery)],
          responses: responses({
            200: ok('Incidents', z.array(incidentSchema)),
            ...badQuery,
            ...unknown,
            ...pathTooLong,
          }),
        },
      },
      '/api/silences': {
        get: {
          summary: 'Silences in force',
          responses: responses({ 200: ok('Silences', z.array(silenceSchema)), ...badQuery }),
        },
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
          responses: responses({
            201: ok('The silence', silenceSchema),
            ...failure('bad_request', '`parameter` names the field or the query parameter rejected'),
            ...writeRefusals,
            ...failure('too_many_silences', 'End one, or cover more senders with one glob'),
          }),
        },
      },
      '/api/silences/{id}': {
        delete: {
          summary: 'End a silence (needs Authorization: Bearer <admin token>)',
          parameters: [pathParameter('id')],
          responses: responses({
            204: { description: 'ended' },
            ...badQuery,
            ...writeRefusals,
            ...unknown,
            ...pathTooLong,
          }),
        },
      },
      '/api/notifications/test': {
        post: {
          summary:
            'Try every webhook and Alertmanager once, now, with a test notification; the answer says how each took it (needs Authorization: Bearer <admin token>)',
          requestBody: {
            required: false,
            content: { 'application/json': { schema: json(testNotificationInput.unwrap()) } },
          },
          responses: responses({
            200: ok('How each target took it', testNotificationSchema),
            ...failure('bad_request', '`parameter` names the field or the query parameter rejected'),
            ...writeRefusals,
            ...failure(
              'not_found',
              'the `source` named is not tracked, or no target has the label `target` names',
            ),
            ...failure('no_targets', NO_TARGETS_MESSAGE),
          }),
        },
      },
      '/api/datagrams': {
        get: {
          summary: 'Recent datagrams, newest first',
          parameters: queryParameters(datagramsQuery(historySize)),
          responses: responses({ 200: ok('Datagrams', z.array(receivedSchema)), ...badQuery }),
        },
      },
      '/api/events': {
        get: {
          summary: 'Live updates (Server-Sent Events: datagram, state, mark, senders, counts)',
          responses: responses({
            200: { description: 'text/event-stream; gzip-compressed when Accept-Encoding takes gzip' },
            ...badQuery,
            ...failure('too_many_clients', 'Retry-After says when to try again'),
          }),
        },
      },
      '/healthz': { get: { summary: 'Process alive', responses: responses({ 200: { description: 'ok' } }) } },
      '/readyz': {
        get: {
          summary: 'UDP socket bound and HTTP listening',
          responses: responses({ 200: { description: 'ready' }, 503: { description: 'not ready' } }),
        },
      },
      '/metrics': {
        get: { summary: 'Prometheus metrics', responses: responses({ 200: { description: 'text/plain' } }) },
      },
    },
  };
}
