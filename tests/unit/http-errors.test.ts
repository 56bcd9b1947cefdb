import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorSchema } from '../../services/client/http/api.js';
import { codeOfStatus, ERROR_CODE_NAMES, ERROR_CODES } from '../../services/client/http/error-codes.js';
import { answerTo } from '../../services/client/http/errors.js';
import type { Monitor } from '../../services/client/monitor.js';
import { captureLogs } from '../support/log-capture.js';
import { startLoopbackMonitor } from '../support/monitor.js';
import { openRaw, type RawResponse, responsesIn } from '../support/raw-http.js';
import { eventually } from '../support/udp.js';

const TOKEN = 'k'.repeat(40);
const AUTH = { authorization: `Bearer ${TOKEN}` };
const JSON_TYPE = 'application/json; charset=utf-8';

/** The API's one error shape, and nothing else: no Fastify `statusCode` or `code`, no stack. */
function expectApiError(status: number, type: string | null, body: string, code: string): void {
  expect(type).toBe(JSON_TYPE);
  const parsed = errorSchema.strict().safeParse(JSON.parse(body));
  expect(parsed.error?.issues ?? [], body).toEqual([]);
  expect(parsed.data?.error, body).toBe(code);
  expect(status).toBeGreaterThanOrEqual(400);
}

/** Headers of any answer that are no security header. */
const GENERIC_HEADERS = ['content-type', 'content-length', 'date', 'connection', 'keep-alive'];

/** The security headers of a normal answer (a 200 of /api/status): every error must carry them too. */
async function securityHeadersOfNormalAnswer(base: string): Promise<Record<string, string>> {
  const res = await fetch(`${base}/api/status`);
  await res.arrayBuffer();
  const headers = Object.fromEntries([...res.headers].filter(([name]) => !GENERIC_HEADERS.includes(name)));
  expect(headers).toHaveProperty('x-content-type-options', 'nosniff');
  expect(headers).toHaveProperty('content-security-policy');
  return headers;
}

// Fastify and Node's HTTP parser answer some errors themselves: each in the API's shape too,
// its status kept.
describe('errors the server answers itself', () => {
  const logs = captureLogs('client');
  let monitor: Monitor;
  let base: string;
  let securityHeaders: Record<string, string>;

  beforeAll(async () => {
    ({ monitor, base } = await startLoopbackMonitor(logs.logger, {}, { adminToken: TOKEN }));
    securityHeaders = await securityHeadersOfNormalAnswer(base);
  });
  afterAll(async () => {
    await monitor?.stop();
  });

  const post = (type: string, body: string) =>
    ({ method: 'POST', headers: { ...AUTH, 'content-type': type }, body }) as const;
  const overLimit = `"${'x'.repeat(17 * 1024)}"`;
  it.each([
    ['a body that is not JSON', 400, 'bad_request', '/api/silences', post('application/json', '{bad')],
    ['an empty JSON body', 400, 'bad_request', '/api/silences', post('application/json', '')],
    [
      'a body of a type it does not read',
      415,
      'unsupported_media_type',
      '/api/silences',
      post('text/xml', '<a/>'),
    ],
    ['a plain-text body', 415, 'unsupported_media_type', '/api/silences', post('text/plain', 'x')],
    ['a body over 16 KiB', 413, 'body_too_large', '/api/silences', post('application/json', overLimit)],
    [
      'a DELETE with a body over 16 KiB',
      413,
      'body_too_large',
      '/api/silences/x',
      { ...post('application/json', overLimit), method: 'DELETE' },
    ],
    ['a path parameter over 100 characters', 414, 'uri_too_long', `/api/senders/${'x'.repeat(101)}`, {}],
    ['a malformed percent-encoding', 400, 'bad_request', '/api/senders/%E0%A4%A', {}],
    [
      'a write with a query parameter',
      400,
      'bad_request',
      '/api/silences?colour=red',
      post('application/json', '{"sources":"x","until":"1h"}'),
    ],
    ['a path with no route', 404, 'not_found', '/no-such-page', {}],
    ['a method with no route', 404, 'not_found', '/api/status', { method: 'PUT' }],
  ] as const)(
    'answers %s with a %i in the API shape, with the security headers',
    async (_name, status, code, path, init) => {
      const res = await fetch(base + path, init);
      expect(res.status).toBe(status);
      expectApiError(res.status, res.headers.get('content-type'), await res.text(), code);
      // The router's refusals (414, a bad percent-encoding) run no hook: they need the headers all the same.
      expect(Object.fromEntries(res.headers)).toMatchObject(securityHeaders);
    },
  );

  it.each([
    ['a request that is not HTTP', 400, 'bad_request', 'NOT HTTP\r\n\r\n'],
    [
      'headers over 16 KiB',
      431,
      'headers_too_large',
      `GET / HTTP/1.1\r\nHost: monitor\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`,
    ],
    [
      'a request line over 16 KiB',
      431,
      'headers_too_large',
      `GET /${'a'.repeat(17 * 1024)} HTTP/1.1\r\nHost: monitor\r\n\r\n`,
    ],
  ])(
    "answers %s (Node's parser refuses it) with a %i in the API shape, with the security headers, and closes the connection",
    async (_name, status, code, request) => {
      const conn = await openRaw(Number(new URL(base).port));
      conn.write(request);
      expect(await conn.closedWithin(5000)).not.toBeNull();
      const [res] = responsesIn(conn.received()) as [RawResponse];
      expect(res.status).toBe(status);
      expect(res.headers.connection).toBe('close');
      expect(res.headers).toMatchObject(securityHeaders);
      expectApiError(res.status, res.headers['content-type'] ?? null, res.body, code);
    },
  );

  it('writes no answer into a response already begun: a request that is not HTTP, pipelined behind the event stream', async () => {
    const conn = await openRaw(Number(new URL(base).port));
    try {
      conn.write('GET /api/events HTTP/1.1\r\nHost: monitor\r\n\r\n');
      // The stream's headers have left: its answer has begun, and never ends.
      await eventually(() => expect(conn.received()).toContain('\r\n\r\n'));
      conn.write('NOT HTTP\r\n\r\n');
      expect(await conn.closedWithin(5000)).not.toBeNull();
      expect(conn.received()).toMatch(/^HTTP\/1\.1 200 /);
      expect(conn.received()).not.toContain('HTTP/1.1 400');
    } finally {
      conn.destroy();
    }
  });

  it('logs no client error as a server error', () => {
    expect(logs.events('http_error')).toEqual([]);
  });
});

describe('a request that arrives while the monitor stops', () => {
  it('gets a 503 in the API shape, with the security headers, after the request in flight is answered', async () => {
    // A grace long enough that the test's own pauses (a loaded machine, a collection) cannot outlast it.
    const { monitor, base } = await startLoopbackMonitor(
      captureLogs('client').logger,
      {},
      { adminToken: TOKEN, httpCloseGraceMs: 10_000 },
    );
    const port = Number(new URL(base).port);
    const silence = JSON.stringify({ sources: 'x', until: '1h' });
    const conn = await openRaw(port);
    try {
      // A silence in flight: its headers and half its body.
      conn.write(
        `POST /api/silences HTTP/1.1\r\nHost: monitor\r\nAuthorization: Bearer ${TOKEN}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${silence.length}\r\n\r\n${silence.slice(0, 5)}`,
      );
      // The server has read it once it answers a request sent after it on another connection: the
      // kernel had these bytes before that request's, and the server reads what one poll finds ready
      // before it answers. (A pause instead raced the server on a loaded machine: the silence, read
      // only after the stop began, got the 503 itself.)
      await (await fetch(`${base}/api/status`)).arrayBuffer();
      const stopped = monitor.stop();
      // The stop has begun once the server takes no new connection; the one in flight has its grace left.
      const listening = () =>
        openRaw(port).then(
          (c) => {
            c.destroy();
            return true;
          },
          () => false,
        );
      await eventually(async () => expect(await listening()).toBe(false), 2000, 2);
      // The rest of the silence, and a second request pipelined behind it.
      conn.write(`${silence.slice(5)}GET /api/status HTTP/1.1\r\nHost: monitor\r\n\r\n`);
      await stopped;
      const [created, refused] = responsesIn(conn.received()) as [RawResponse, RawResponse];
      expect(created.status).toBe(201);
      expect(refused.status).toBe(503);
      expect(refused.headers).toMatchObject({ 'retry-after': '5', 'x-content-type-options': 'nosniff' });
      expectApiError(refused.status, refused.headers['content-type'] ?? null, refused.body, 'unavailable');
    } finally {
      conn.destroy();
    }
  });
});

describe('the answer to an error thrown while a request is handled', () => {
  it('keeps a 4xx with what was wrong with the request', () => {
    const tooLarge = Object.assign(new Error('Request body is too large'), { statusCode: 413 });
    expect(answerTo(tooLarge)).toEqual({
      status: 413,
      body: { error: 'body_too_large', message: 'Request body is too large' },
    });
  });

  it.each([
    [
      'an error without a status',
      new Error('ENOENT: no such file, open /data/monitor.db'),
      500,
      'internal_error',
    ],
    [
      'an error with a 503',
      Object.assign(new Error('pool /data/monitor.db closed'), { statusCode: 503 }),
      503,
      'unavailable',
    ],
    [
      'an error with a status that is no error',
      Object.assign(new Error('at /data/monitor.db'), { statusCode: 200 }),
      500,
      'internal_error',
    ],
  ])('answers %s with a 5xx that says nothing of its cause', (_name, err, status, code) => {
    const answer = answerTo(err);
    expect(answer).toMatchObject({ status, body: { error: code } });
    expect(JSON.stringify(answer.body)).not.toContain('monitor.db');
    expect(answer.body.message).toContain('http_error');
  });
});

describe('the declaration of the error codes', () => {
  it('has one generic code at most for each status: the code of an error that comes with none', () => {
    const generic = ERROR_CODE_NAMES.filter((code) => 'generic' in ERROR_CODES[code]);
    const statuses = generic.map((code) => ERROR_CODES[code].status);
    expect(new Set(statuses).size).toBe(statuses.length);
    for (const code of generic) expect(codeOfStatus(ERROR_CODES[code].status)).toBe(code);
  });

  it.each([
    [405, 'bad_request'],
    [502, 'internal_error'],
  ])("gives a %i, a status with no code of its own, its class's code", (status, code) => {
    expect(codeOfStatus(status)).toBe(code);
  });
});
