/** The test webhook receiver itself (tests/fixtures/webhook-sink/sink.mjs), in-process. */
import { afterEach, describe, expect, it } from 'vitest';
import { startWebhookSink, type WebhookSink } from '../support/webhook-sink.js';

let sink: WebhookSink | undefined;
afterEach(async () => {
  await sink?.close();
  sink = undefined;
});

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

describe('webhook sink', () => {
  it('records requests with path, headers and parsed body, and answers 200', async () => {
    sink = await startWebhookSink();
    expect(sink.url).toBe(`http://127.0.0.1:${sink.port}`);
    const response = await post(`${sink.url}/hooks/abc?x=1`, '{"a":1}', { 'idempotency-key': 'k1' });
    expect(response.status).toBe(200);
    await post(`${sink.url}/plain`, 'not json');
    const [first, second] = sink.requests();
    expect(first).toMatchObject({ method: 'POST', path: '/hooks/abc?x=1', body: { a: 1 } });
    expect(first?.headers['idempotency-key']).toBe('k1');
    expect(first?.at).toBeTypeOf('number');
    expect(second?.body).toBe('not json');
    sink.clear();
    expect(sink.requests()).toEqual([]);
  });

  it('fails with the chosen status for a while, then answers 200 again', async () => {
    sink = await startWebhookSink();
    sink.failFor(300, 503);
    expect((await post(sink.url, '{}')).status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await post(sink.url, '{}')).status).toBe(200);
    expect(sink.requests()).toHaveLength(2);
  });

  it('serves the control API without recording it', async () => {
    sink = await startWebhookSink();
    await post(`${sink.url}/hook`, '{"n":1}');
    const listed = await (await fetch(`${sink.url}/_sink/requests`)).json();
    expect(listed).toMatchObject([{ path: '/hook', body: { n: 1 } }]);

    expect((await fetch(`${sink.url}/_sink/fail?ms=10000&status=429`, { method: 'POST' })).status).toBe(204);
    expect((await post(`${sink.url}/hook`, '{}')).status).toBe(429);
    expect((await fetch(`${sink.url}/_sink/fail?ms=0`, { method: 'POST' })).status).toBe(204);
    expect((await post(`${sink.url}/hook`, '{}')).status).toBe(200);
    expect((await fetch(`${sink.url}/_sink/fail?ms=x`, { method: 'POST' })).status).toBe(400);

    expect((await fetch(`${sink.url}/_sink/requests`, { method: 'DELETE' })).status).toBe(204);
    expect(await (await fetch(`${sink.url}/_sink/requests`)).json()).toEqual([]);
    expect((await fetch(`${sink.url}/_sink/health`)).status).toBe(200);
    expect((await fetch(`${sink.url}/_sink/nothing`)).status).toBe(404);
  });

  it('closes even with a request it never answered', async () => {
    sink = await startWebhookSink();
    sink.hangFor(60_000);
    const pending = post(`${sink.url}/hook`, '{}').catch((err: Error) => err);
    await expect.poll(() => sink?.requests().length).toBe(1);
    await sink.close();
    sink = undefined;
    expect(await pending).toBeInstanceOf(Error);
  });
});
