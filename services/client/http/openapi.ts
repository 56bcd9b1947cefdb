/**
 * The OpenAPI 3.1 document of the JSON API (/api/openapi.json), built from
 * the zod schemas the routes validate and answer with (api.ts). Every
 * operation lists its own errors, and as `default` those any request may
 * get (errors.ts): all in the one error shape.
 */
import { z } from 'zod';
import { MAX_SILENCES } from '../notify/maintenance.js';
import {
  datagramsQuery,
  errorSchema,
  incidentSchema,
  incidentsQuery,
  listedSenderSchema,
  receivedSchema,
  senderSchema,
  sendersQuery,
  silenceSchema,
  statusSchema,
} from './api.js';
import { MAX_PATH_PARAM_LENGTH, REQUEST_TIMEOUT_MS, WRITE_BODY_LIMIT_BYTES } from './request-limits.js';

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' });
const ok = (description: string, schema: z.ZodType) => ({
  description,
  content: { 'application/json': { schema: json(schema) } },
});
const failure = (description: string) => ok(description, errorSchema);

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

const badQuery = failure('A parameter rejected (`parameter` names it); an integer takes decimal digits only');
const pathTooLong = failure(`A path parameter over ${MAX_PATH_PARAM_LENGTH} characters`);
/** What a write (it needs the admin token) may be refused with, whatever the route. */
const writeRefusals = {
  401: failure('Wrong or missing token'),
  403: failure('No admin token configured'),
  413: failure(`A body over ${WRITE_BODY_LIMIT_BYTES / 1024} KiB`),
  415: failure('A body of a type the monitor does not read: send application/json'),
};
/** Any request may get these, whatever its route. */
const anyOtherError = failure(
  `Any other error: 400 not HTTP or a malformed URL, 408 the request (headers and body) not received within ${REQUEST_TIMEOUT_MS / 1000} s, ` +
    '431 headers too large, 503 the monitor stopping, 500 a failure of the monitor (logged as http_error)',
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
          responses: responses({ 200: ok('Status', statusSchema) }),
        },
      },
      '/api/senders': {
        get: {
          summary:
            'Tracked senders, one page sorted by source; the next page is in the Link header (rel="next")',
          parameters: queryParameters(sendersQuery),
          responses: responses({ 200: ok('Senders', z.array(listedSenderSchema)), 400: badQuery }),
        },
      },
      '/api/senders/{source}': {
        get: {
          summary: 'One sender',
          parameters: [pathParameter('source')],
          responses: responses({
            200: ok('Sender', senderSchema),
            400: badQuery,
            404: failure('Unknown sender'),
            414: pathTooLong,
          }),
        },
        delete: {
          summary:
            'Forget a sender (a decommissioned one): its record, its row in the state file, its incidents, what was notified of it. A datagram from it later makes it new. Needs Authorization: Bearer <admin token>',
          parameters: [pathParameter('source')],
          responses: responses({
            204: { description: 'forgotten' },
            400: badQuery,
            ...writeRefusals,
            404: failure('Unknown sender'),
            409: failure('A declared sender: take it out of EXPECTED_SENDERS or SENDERS_FILE'),
            414: pathTooLong,
          }),
        },
      },
      '/api/senders/{source}/incidents': {
        get: {
          summary: "One sender's state changes (its incidents), newest first, across monitor restarts",
          parameters: [pathParameter('source'), ...queryParameters(incidentsQuery)],
          responses: responses({
            200: ok('Incidents', z.array(incidentSchema)),
            400: badQuery,
            404: failure('Unknown sender'),
            414: pathTooLong,
          }),
        },
      },
      '/api/silences': {
        get: {
          summary: 'Silences in force',
          responses: responses({ 200: ok('Silences', z.array(silenceSchema)) }),
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
            400: failure('A body that is not JSON, or a field rejected (`parameter` names it)'),
            ...writeRefusals,
            409: failure(
              `${MAX_SILENCES} silences in force already (too_many_silences): end one, or cover more senders with one glob`,
            ),
          }),
        },
      },
      '/api/silences/{id}': {
        delete: {
          summary: 'End a silence (needs Authorization: Bearer <admin token>)',
          parameters: [pathParameter('id')],
          responses: responses({
            204: { description: 'ended' },
            ...writeRefusals,
            404: failure('Unknown silence'),
            414: pathTooLong,
          }),
        },
      },
      '/api/datagrams': {
        get: {
          summary: 'Recent datagrams, newest first',
          parameters: queryParameters(datagramsQuery(historySize)),
          responses: responses({ 200: ok('Datagrams', z.array(receivedSchema)), 400: badQuery }),
        },
      },
      '/api/events': {
        get: {
          summary: 'Live updates (Server-Sent Events: datagram, state, mark, senders, counts)',
          responses: responses({
            200: { description: 'text/event-stream; gzip-compressed when Accept-Encoding takes gzip' },
            503: failure('SSE_MAX_CLIENTS streams open already (Retry-After says when to try again)'),
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
