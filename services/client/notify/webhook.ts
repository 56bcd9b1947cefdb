/**
 * One delivery attempt: a JSON POST with undici's fetch, bounded by a timeout. It
 * never throws; the outcome says whether a retry may help. The outbox
 * decides when (backoff.ts), this module only tries once.
 *
 * Nothing in an outcome's `error` comes from the URL's path, query or user
 * info (where Slack and Mattermost keep their secret) or from the response
 * (a server may echo the path back): only the status code, the kind of
 * network failure, and the target's safe label.
 */
import { STATUS_CODES } from 'node:http';
import { type Dispatcher, fetch } from 'undici';
import type { WebhookTarget } from './targets.js';

export type DeliveryOutcome =
  | { ok: true; status: number; ms: number }
  | {
      ok: false;
      /** null: no HTTP response (network error or timeout). */
      status: number | null;
      error: string;
      retryable: boolean;
      ms: number;
      /** The server's Retry-After (429/503), when it sent one: wait at least this long. */
      retryAfterMs?: number;
    };

export interface PostOptions {
  timeoutMs: number;
  userAgent: string;
  /** The connections to use: the notifier's (http-client.ts), whose name lookups a stop can cancel. */
  dispatcher: Dispatcher;
}

/** Longest Retry-After honoured (a server asking for a day is asked again sooner). */
const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * POSTs `body` to a webhook with `idempotency-key: <id>` (the notification's
 * id: a retried delivery carries the same key, so a receiver can drop the
 * duplicate).
 */
export function postWebhook(
  target: WebhookTarget,
  body: object,
  id: string,
  opts: PostOptions,
): Promise<DeliveryOutcome> {
  return postJson(target.url, body, { 'idempotency-key': id }, opts);
}

/**
 * One JSON POST. User info in the URL (`https://user:pass@host/`) is sent as
 * basic authorization (fetch refuses URLs with credentials). Redirects are
 * not followed: a POST turned into a GET would be lost, and a moved
 * endpoint is a configuration matter (not retryable).
 */
export async function postJson(
  url: URL,
  body: unknown,
  headers: Record<string, string>,
  opts: PostOptions,
): Promise<DeliveryOutcome> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  let payload: string;
  try {
    payload = JSON.stringify(body);
  } catch {
    return { ok: false, status: null, error: 'body is not JSON-serialisable', retryable: false, ms: ms() };
  }
  try {
    const { request, authorization } = withoutCredentials(url);
    const response = await fetch(request, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/json',
        'user-agent': opts.userAgent,
        ...(authorization === null ? {} : { authorization }),
      },
      body: payload,
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs),
      dispatcher: opts.dispatcher,
    });
    // The answer is not needed; releasing it frees the connection.
    await response.body?.cancel().catch(() => {});
    const status = response.status;
    if (status >= 200 && status < 300) return { ok: true, status, ms: ms() };
    const retryable = status >= 500 || status === 408 || status === 429;
    const outcome: DeliveryOutcome = { ok: false, status, error: statusText(status), retryable, ms: ms() };
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Date.now());
    if (retryAfterMs !== null) outcome.retryAfterMs = retryAfterMs;
    return outcome;
  } catch (err) {
    return { ok: false, status: null, error: networkError(err, opts.timeoutMs), retryable: true, ms: ms() };
  }
}

function withoutCredentials(url: URL): { request: URL; authorization: string | null } {
  if (url.username === '' && url.password === '') return { request: url, authorization: null };
  const request = new URL(url);
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  request.username = '';
  request.password = '';
  return {
    request,
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  };
}

function statusText(status: number): string {
  const name = STATUS_CODES[status];
  if (status >= 300 && status < 400) return `HTTP ${status} ${name ?? ''} (redirect not followed)`.trim();
  return name === undefined ? `HTTP ${status}` : `HTTP ${status} ${name}`;
}

/**
 * What went wrong without an answer, in words that never carry the URL:
 * the timeout, or the system error code (ECONNREFUSED, ENOTFOUND, ...)
 * from the cause fetch wraps it in.
 */
function networkError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `timeout after ${timeoutMs} ms`;
  }
  const cause = err instanceof Error ? err.cause : undefined;
  const code = codeOf(cause) ?? codeOf(err);
  if (code !== null) return `network error: ${code}`;
  return `network error: ${err instanceof Error ? err.name : 'unknown'}`;
}

function codeOf(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const code = (value as { code?: unknown }).code;
  if (typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code)) return code;
  const errors = (value as { errors?: unknown }).errors;
  // An AggregateError (happy eyeballs: one error per address tried).
  if (Array.isArray(errors)) return codeOf(errors[0]);
  return null;
}

/** Retry-After as delay-seconds or an HTTP date, in ms from `nowMs` (capped); null when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return null;
    ms = at - nowMs;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}
