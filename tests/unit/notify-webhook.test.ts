/** One delivery attempt against a real local HTTP server (the webhook sink) on 127.0.0.1. */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { alertsUrl, postAlerts } from '../../services/client/notify/alertmanager.js';
import { createHttpClient } from '../../services/client/notify/http-client.js';
import { parseWebhookUrls, type WebhookTarget } from '../../services/client/notify/targets.js';
import { type DeliveryOutcome, parseRetryAfter, postWebhook } from '../../services/client/notify/webhook.js';
import { type DnsStub, type DnsStubBehaviour, dnsStub, lookupVia } from '../support/dns-stub.js';
import { startForwardProxy } from '../support/forward-proxy.js';
import { startWebhookSink, type WebhookSink } from '../support/webhook-sink.js';

const SECRET_PATH = '/services/T000/B000/XXXXSECRETXXXX';
/** The notifier's own client (the receivers here are IP addresses: no lookup). */
const http = createHttpClient();
afterAll(() => http.close());
const opts = { timeoutMs: 2000, userAgent: 'udp-time-service-monitor/test', dispatcher: http.dispatcher };

let sink: WebhookSink | undefined;
afterEach(async () => {
  await sink?.close();
  sink = undefined;
});

async function started(): Promise<{ sink: WebhookSink; target: WebhookTarget }> {
  sink = await startWebhookSink();
  const [target] = parseWebhookUrls(`${sink.url}${SECRET_PATH}?token=qs-secret`) ?? [];
  if (target === undefined) throw new Error('sink URL refused');
  return { sink, target };
}

function expectNoSecret(outcome: DeliveryOutcome): void {
  const text = JSON.stringify(outcome);
  for (const secret of ['SECRET', 'T000', 'services', 'token', 'qs-secret'])
    expect(text).not.toContain(secret);
}

describe('postWebhook', () => {
  it('posts the JSON body with the idempotency key, content type and user agent: 200 is ok', async () => {
    const { sink, target } = await started();
    const outcome = await postWebhook(target, { text: 'hello' }, 'n-42', opts);
    expect(outcome).toEqual({ ok: true, status: 200, ms: expect.any(Number) });
    const [request] = sink.requests();
    expect(request).toMatchObject({
      method: 'POST',
      path: `${SECRET_PATH}?token=qs-secret`,
      body: { text: 'hello' },
    });
    expect(request?.headers).toMatchObject({
      'idempotency-key': 'n-42',
      'content-type': 'application/json',
      'user-agent': 'udp-time-service-monitor/test',
    });
  });

  it.each([
    [500, true],
    [502, true],
    [503, true],
    [408, true],
    [429, true],
    [400, false],
    [401, false],
    [404, false],
    [410, false],
    [302, false],
  ])('HTTP %i: failed, retryable %s, no secret in the error', async (status, retryable) => {
    const { sink, target } = await started();
    sink.failFor(60_000, status);
    const outcome = await postWebhook(target, {}, 'n-1', opts);
    expect(outcome).toMatchObject({
      ok: false,
      status,
      retryable,
      error: expect.stringContaining(String(status)),
    });
    expectNoSecret(outcome);
  });

  it('times out on a server that never answers: retryable, no status', async () => {
    const { sink, target } = await started();
    sink.hangFor(60_000);
    const outcome = await postWebhook(target, {}, 'n-1', { ...opts, timeoutMs: 300 });
    expect(outcome).toMatchObject({
      ok: false,
      status: null,
      retryable: true,
      error: 'timeout after 300 ms',
    });
    expect(outcome.ms).toBeGreaterThanOrEqual(250);
    expect(outcome.ms).toBeLessThan(2000);
    expect(sink.requests()).toHaveLength(1);
  });

  it('reports a refused connection as a retryable network error', async () => {
    const { sink: closed, target } = await started();
    await closed.close();
    sink = undefined;
    const outcome = await postWebhook(target, {}, 'n-1', opts);
    expect(outcome).toMatchObject({
      ok: false,
      status: null,
      retryable: true,
      error: 'network error: ECONNREFUSED',
    });
    expectNoSecret(outcome);
  });

  it('sends user info as basic authorization, not in the URL', async () => {
    sink = await startWebhookSink();
    const [target] = parseWebhookUrls(sink.url.replace('http://', 'http://hook%20user:p%40ss@')) ?? [];
    if (target === undefined) throw new Error('refused');
    expect((await postWebhook(target, {}, 'n-1', opts)).ok).toBe(true);
    expect(sink.requests()[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from('hook user:p@ss').toString('base64')}`,
    );
  });

  it('never throws, even for a body that cannot be serialised', async () => {
    const { target } = await started();
    const outcome = await postWebhook(target, { n: 1n }, 'n-1', opts);
    expect(outcome).toMatchObject({ ok: false, retryable: false, status: null });
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates, capped at an hour', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('999999', now)).toBe(3_600_000);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});

describe('postAlerts', () => {
  it('posts the batch to <base>/api/v2/alerts, keeping a path prefix', async () => {
    sink = await startWebhookSink();
    const outcome = await postAlerts(new URL(`${sink.url}/am/`), [{ labels: { alertname: 'X' } }], opts);
    expect(outcome.ok).toBe(true);
    expect(sink.requests()[0]).toMatchObject({
      path: '/am/api/v2/alerts',
      body: [{ labels: { alertname: 'X' } }],
    });
    expect(alertsUrl(new URL('http://am:9093')).href).toBe('http://am:9093/api/v2/alerts');
  });

  it('reports a 400 (an alert Alertmanager refuses) as not retryable', async () => {
    sink = await startWebhookSink();
    sink.failFor(60_000, 400);
    expect(await postAlerts(new URL(sink.url), [], opts)).toMatchObject({
      ok: false,
      status: 400,
      retryable: false,
    });
  });
});

describe("the notifier's HTTP client (names through the system lookup)", () => {
  const stubs: DnsStub[] = [];
  afterEach(async () => {
    for (const stub of stubs.splice(0)) await stub.close();
  });

  async function clientWith(behaviour: DnsStubBehaviour) {
    const stub = await dnsStub(behaviour);
    stubs.push(stub);
    const { names, asked } = lookupVia(stub, '127.0.0.1');
    return { stub, asked, client: createHttpClient({ names }) };
  }

  it('connects to a receiver named by host name through the system lookup', async () => {
    const { stub, asked, client } = await clientWith('nxdomain');
    sink = await startWebhookSink();
    const [target] = parseWebhookUrls(`http://sink.test:${new URL(sink.url).port}/hook`) ?? [];
    if (target === undefined) throw new Error('URL refused');
    try {
      const outcome = await postWebhook(target, { text: 'hi' }, 'n-7', {
        ...opts,
        dispatcher: client.dispatcher,
      });
      expect(outcome).toMatchObject({ ok: true, status: 200 });
      expect(sink.requests()).toMatchObject([{ path: '/hook', body: { text: 'hi' } }]);
      expect(stub.names).toEqual(['sink.test']);
      expect(asked).toEqual(['sink.test']);
    } finally {
      client.close();
    }
  });

  it('close() ends a send whose name waits on a silent DNS server: a retryable network error', async () => {
    const { stub, asked, client } = await clientWith('silent');
    const [target] = parseWebhookUrls('http://sink.test:65000/hook') ?? [];
    if (target === undefined) throw new Error('URL refused');
    // NOTIFY_TIMEOUT far longer than the test: only the close can end the send.
    const sending = postWebhook(target, {}, 'n-8', {
      ...opts,
      timeoutMs: 60_000,
      dispatcher: client.dispatcher,
    });
    await vi.waitFor(() => expect(stub.names).toEqual(['sink.test']));
    client.close();
    await expect(sending).resolves.toMatchObject({
      ok: false,
      status: null,
      error: 'network error: ECANCELLED',
      retryable: true,
    });
    expect(asked).toEqual([]);
  });
});

describe('the notifier\u2019s HTTP client through a proxy (NOTIFY_PROXY_URL)', () => {
  const closing: Array<() => unknown> = [];
  afterEach(async () => {
    for (const close of closing.splice(0).reverse()) await close();
  });

  /** A proxy (with Basic credentials), and a client that resolves names only through a stub DNS server that knows none. */
  async function proxied(proxyHost = '127.0.0.1') {
    const proxy = await startForwardProxy({ user: 'monitor', password: 'pa ss' });
    closing.push(() => proxy.close());
    const stub = await dnsStub('nxdomain');
    closing.push(() => stub.close());
    const { names } = lookupVia(stub, '127.0.0.1');
    const proxyUrl = new URL(proxy.url.href.replace('127.0.0.1', proxyHost));
    const client = createHttpClient({ names, proxyUrl });
    closing.push(() => client.close());
    return { proxy, stub, client };
  }

  it('asks the proxy for an http receiver by its absolute URL, with the proxy credentials; the receiver name is never resolved here', async () => {
    const { proxy, stub, client } = await proxied();
    sink = await startWebhookSink();
    const port = new URL(sink.url).port;
    const [target] = parseWebhookUrls(`http://receiver.invalid:${port}/hook?k=1`) ?? [];
    if (target === undefined) throw new Error('URL refused');
    const outcome = await postWebhook(target, { text: 'via proxy' }, 'n-9', {
      ...opts,
      dispatcher: client.dispatcher,
    });
    expect(outcome).toMatchObject({ ok: true, status: 200 });
    expect(proxy.requests).toEqual([
      {
        method: 'POST',
        target: `http://receiver.invalid:${port}/hook?k=1`,
        proxyAuthorization: `Basic ${Buffer.from('monitor:pa ss').toString('base64')}`,
      },
    ]);
    expect(sink.requests()).toMatchObject([
      { path: '/hook?k=1', body: { text: 'via proxy' }, headers: { 'idempotency-key': 'n-9' } },
    ]);
    expect(stub.names).toEqual([]);
  });

  it('opens a CONNECT tunnel to an https receiver by its name', async () => {
    const { proxy, client } = await proxied();
    // Behind the tunnel a plain HTTP server: the TLS handshake fails, a retryable network error, after the CONNECT.
    sink = await startWebhookSink();
    const port = new URL(sink.url).port;
    const [target] = parseWebhookUrls(`https://receiver.invalid:${port}/hook`) ?? [];
    if (target === undefined) throw new Error('URL refused');
    const outcome = await postWebhook(target, {}, 'n-10', { ...opts, dispatcher: client.dispatcher });
    expect(outcome).toMatchObject({ ok: false, retryable: true });
    expect(proxy.requests).toMatchObject([{ method: 'CONNECT', target: `receiver.invalid:${port}` }]);
    expect(sink.requests()).toEqual([]);
  });

  it('resolves the proxy name itself through the system lookup', async () => {
    const { stub, client } = await proxied('proxy.test');
    const [target] = parseWebhookUrls('http://receiver.invalid:65000/hook') ?? [];
    if (target === undefined) throw new Error('URL refused');
    const outcome = await postWebhook(target, {}, 'n-11', { ...opts, dispatcher: client.dispatcher });
    // The stub knows no name: the proxy cannot be reached, a retryable network error.
    expect(outcome).toMatchObject({ ok: false, retryable: true });
    expect(stub.names).toEqual(['proxy.test']);
  });
});
