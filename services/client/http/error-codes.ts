/**
 * Every error code the HTTP server answers, the one declaration of them:
 * each with its status and when it is sent. The API's error schema
 * (api.ts), the OpenAPI document (openapi.ts) and the README's table
 * (scripts/error-table.ts) are written from it, and every answer is made
 * with errorAnswer(), so that a code is a type and its status never
 * differs from one place to another.
 */
import { MAX_SILENCES } from '../notify/maintenance.js';
import type { ApiError } from './api.js';
import { MAX_PATH_PARAM_LENGTH, REQUEST_TIMEOUT_MS, WRITE_BODY_LIMIT_BYTES } from './request-limits.js';

interface ErrorCodeSpec {
  status: number;
  /** When it is sent, one line of the README's table. */
  when: string;
  /** The code of any error of its status that comes with none (Fastify's, Node's parser's): one per status. */
  generic?: true;
  /** Any request may get it, whatever its route: Node's parser's refusals, a stop, a failure. */
  anyRequest?: true;
}

export const ERROR_CODES = {
  bad_request: {
    status: 400,
    when: 'a bad query, path or body (an API route refuses a query parameter it does not take); a body that is not JSON; not HTTP at all',
    generic: true,
    anyRequest: true,
  },
  unauthorized: { status: 401, when: 'a write without the admin token' },
  writes_disabled: { status: 403, when: 'a write, with no admin token configured' },
  not_found: { status: 404, when: 'no such route, sender or silence', generic: true },
  request_timeout: {
    status: 408,
    when: `the request did not arrive whole within ${REQUEST_TIMEOUT_MS / 1000} s`,
    generic: true,
    anyRequest: true,
  },
  declared: { status: 409, when: 'removing a declared sender' },
  too_many_silences: { status: 409, when: `one silence more than the ${MAX_SILENCES} in force at most` },
  no_targets: { status: 409, when: 'a test notification, with no webhook or Alertmanager configured' },
  body_too_large: {
    status: 413,
    when: `a write's body over ${WRITE_BODY_LIMIT_BYTES / 1024} KiB; chunk extensions over Node's limit`,
    generic: true,
    anyRequest: true,
  },
  uri_too_long: {
    status: 414,
    when: `a path parameter over ${MAX_PATH_PARAM_LENGTH} characters`,
    generic: true,
  },
  unsupported_media_type: {
    status: 415,
    when: "a write's body that is not `application/json`",
    generic: true,
  },
  too_many_requests: {
    status: 429,
    when: 'a request pipelined behind one whose answer is not sent yet, on the same connection (one answer at a time)',
    generic: true,
    anyRequest: true,
  },
  headers_too_large: {
    status: 431,
    when: "the request line and headers over Node's limit",
    generic: true,
    anyRequest: true,
  },
  internal_error: {
    status: 500,
    when: 'the monitor failed; the answer never says why, and its log has the cause (`http_error`)',
    generic: true,
    anyRequest: true,
  },
  unavailable: {
    status: 503,
    when: 'a request that arrives while the monitor stops',
    generic: true,
    anyRequest: true,
  },
  too_many_clients: { status: 503, when: 'one more event stream than `SSE_MAX_CLIENTS`' },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes, in the order declared (by status). */
export const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

const GENERIC_CODES = new Map<number, ErrorCode>(
  ERROR_CODE_NAMES.filter((code) => 'generic' in ERROR_CODES[code]).map((code) => [
    ERROR_CODES[code].status,
    code,
  ]),
);

/** The code of an error of this status that comes with none: its status's generic code, else its class's. */
export function codeOfStatus(status: number): ErrorCode {
  return GENERIC_CODES.get(status) ?? (status >= 500 ? 'internal_error' : 'bad_request');
}

/** An error's answer: a status and a body in the API's shape. */
export interface ErrorAnswer {
  status: number;
  body: ApiError;
}

/** The answer with this code, at the status it is declared with. */
export function errorAnswer(code: ErrorCode, message: string, parameter?: string): ErrorAnswer {
  return {
    status: ERROR_CODES[code].status,
    body: { error: code, ...(parameter === undefined ? {} : { parameter }), message },
  };
}
