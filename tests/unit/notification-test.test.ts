/**
 * POST /api/notifications/test, in-process against real HTTP sinks and the
 * real Alertmanager: every target tried once, at once, the answer saying how
 * each took it, nothing put in the outbox, retried or counted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { testNotificationSchema } from '../../services/client/http/api.js';
import { TEST_ALERT_NAME, testWebhookBody } from '../../services/client/notify/payload.js';
import { startAlertmanager } from '../support/alertmanager.js';
import { captureLogs } from '../support/log-capture.js';
import { type LoopbackMonitor, startLoopbackMonitor } from '../support/monitor.js';
import { beat, eventually, sendUdp } from '../support/udp.js';
import { startWebhookSink } from '../support/webhook-sink.js';

const TOKEN = 'd'.repeat(20) + 'e'.repeat(20);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The outbox's first retry comes within 1 s (backoff ceiling) + 500 ms (its polling period). */
const AFTER_A_RETRY_MS = 2000;

describe('POST /api/notifications/test', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function monitorWith(env: Record<string, string>, adminToken: string | null = TOKEN) {
    const logs = captureLogs('client');
    const m = await startLoopbackMonitor(logs.logger, env, { adminToken });
    cleanups.push(() => m.monitor.stop());
    return { m, logs };
  }
  async function sink() {
    const s = await startWebhookSink({ host: '127.0.0.1' });
    cleanups.push(() => s.close());
    return s;
  }
  const test = (m: LoopbackMonitor, body?: unknown, token: string | null = TOKEN) =>
    fetch(`${m.base}/api/notifications/test`, {
      method: 'POST',
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('tries every webhook once and says how each took it; a failing one is neither retried nor counted', async () => {
    const good = await sink();
    const bad = await sink();
    const { m, logs } = await monitorWith({
      NOTIFY_WEBHOOK_URLS: `${good.url}/hook/secret-good,${bad.url}/hook/secret-bad`,
      MONITOR_NAME: 'monitor-t',
      PUBLIC_URL: 'https://status.example',
    });
    bad.failFor(60_000, 503);
    const res = await test(m);
    expect(res.status).toBe(200);
    const answer = testNotificationSchema.parse(await res.json());
    expect(answer.id).toMatch(UUID);
    expect(answer).toMatchObject({ source: null, sent: 1, failed: 1 });
    const label = (url: string) => `http://127.0.0.1:${new URL(url).port}`;
    expect(answer.targets).toEqual([
      {
        target: label(good.url),
        kind: 'webhook',
        ok: true,
        status: 200,
        error: null,
        ms: expect.any(Number),
      },
      {
        target: label(bad.url),
        kind: 'webhook',
        ok: false,
        status: 503,
        error: 'HTTP 503 Service Unavailable',
        ms: expect.any(Number),
      },
    ]);
    // The answer came after both tries: each sink has its one request already.
    const [got] = good.requests();
    expect(good.requests()).toHaveLength(1);
    expect(got?.path).toBe('/hook/secret-good');
    expect(got?.headers['idempotency-key']).toBe(answer.id);
    // The builder's body (its fields are checked in notify-payload.test.ts), as it was sent.
    expect(got?.body).toEqual(
      testWebhookBody(answer.id, null, Date.parse(answer.at), {
        monitor: 'monitor-t',
        statusUrl: 'https://status.example',
      }),
    );
    expect(bad.requests()).toHaveLength(1);

    // A probe, not a notification: nothing is retried, and the delivery counters stay as they were.
    await new Promise((r) => setTimeout(r, AFTER_A_RETRY_MS));
    expect(bad.requests()).toHaveLength(1);
    expect(good.requests()).toHaveLength(1);
    const metrics = await (await fetch(`${m.base}/metrics`)).text();
    for (const line of metrics.split('\n').filter((l) => l.startsWith('udp_monitor_notifications_'))) {
      expect(line).toMatch(/ 0$/);
    }

    // One `notify` line per try, without the URLs' secret parts, as the log schema says.
    const lines = logs.events('notify');
    expect(lines).toHaveLength(2);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          target: label(good.url),
          outcome: 'sent',
          notification: 'test',
          id: answer.id,
          attempt: 1,
          status: 200,
        }),
        expect.objectContaining({
          target: label(bad.url),
          outcome: 'failed',
          notification: 'test',
          id: answer.id,
          attempt: 1,
          status: 503,
          error: 'HTTP 503 Service Unavailable',
        }),
      ]),
    );
    expect(JSON.stringify(logs.lines())).not.toContain('secret-');
    expect(logs.schemaProblems()).toEqual([]);
  });

  it('names a tracked sender when asked: its id, state, since and page; an unknown one is a 404, a bad body a 400', async () => {
    const s = await sink();
    const { m } = await monitorWith({
      NOTIFY_WEBHOOK_URLS: `${s.url}/hook`,
      PUBLIC_URL: 'https://status.example',
    });
    await sendUdp(m.monitor.udp.port, [beat(0, { source: 'billing', intervalMs: 60_000 })]);
    await eventually(() => expect(m.monitor.tracker.view('billing', Date.now())?.state).toBe('up'));
    const since = m.monitor.tracker.view('billing', Date.now())?.stateSinceMs as number;

    const res = await test(m, { source: 'billing' });
    expect(res.status).toBe(200);
    const answer = testNotificationSchema.parse(await res.json());
    expect(answer).toMatchObject({ source: 'billing', sent: 1, failed: 0 });
    expect(s.requests().map((r) => r.body)).toEqual([
      expect.objectContaining({
        id: answer.id,
        event: 'test',
        source: 'billing',
        to: 'up',
        since: new Date(since).toISOString(),
        statusUrl: 'https://status.example/senders/billing',
        incidentKey: null,
      }),
    ]);

    const unknown = await test(m, { source: 'nobody' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: 'not_found', parameter: 'source' });
    for (const body of [{ source: 5 }, { source: '' }, { source: 'billing', extra: 1 }, { target: '' }]) {
      const refused = await test(m, body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(await refused.json()).toMatchObject({ error: 'bad_request' });
    }
    const notAnObject = await test(m, null);
    expect(notAnObject.status).toBe(400);
    expect(((await notAnObject.json()) as { message: string }).message).toMatch(/^body: /);
    // None of the refused ones tried a target.
    expect(s.requests()).toHaveLength(1);
  });

  it('tries only the targets with the label asked for; a label no target has is a 404', async () => {
    const one = await sink();
    const two = await sink();
    const { m } = await monitorWith({ NOTIFY_WEBHOOK_URLS: `${one.url}/hook/a,${two.url}/hook/b` });
    const label = `http://127.0.0.1:${two.port}`;
    const res = await test(m, { target: label });
    expect(res.status).toBe(200);
    expect(testNotificationSchema.parse(await res.json()).targets.map((t) => t.target)).toEqual([label]);
    expect(one.requests()).toEqual([]);
    expect(two.requests()).toHaveLength(1);
    const none = await test(m, { target: 'http://elsewhere:9000' });
    expect(none.status).toBe(404);
    expect(await none.json()).toMatchObject({ error: 'not_found', parameter: 'target' });
    expect(one.requests()).toEqual([]);
    expect(two.requests()).toHaveLength(1);
  });

  it('logs nothing of a try the monitor stopped under (it says nothing about the target)', async () => {
    // Stopped here, so neither goes on the cleanup list (a second stop or close would throw).
    const slow = await startWebhookSink({ host: '127.0.0.1' });
    const logs = captureLogs('client');
    const m = await startLoopbackMonitor(
      logs.logger,
      { NOTIFY_WEBHOOK_URLS: `${slow.url}/hook`, NOTIFY_TIMEOUT: '30s' },
      { adminToken: TOKEN },
    );
    try {
      slow.hangFor(60_000);
      const asked = test(m).catch((err: unknown) => err);
      await eventually(() => expect(slow.requests()).toHaveLength(1));
      await m.monitor.stop();
      await asked; // its connection closed by the stop
    } finally {
      // The sink gone, the try ends (a network error): after the stop, so no line.
      await slow.close();
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(logs.events('notify')).toEqual([]);
  });

  it('is a write: 401 without the token, 403 with none configured; 409 with no target to try', async () => {
    const s = await sink();
    const { m } = await monitorWith({ NOTIFY_WEBHOOK_URLS: `${s.url}/hook` });
    expect((await test(m, undefined, null)).status).toBe(401);
    expect((await test(m, undefined, 'x'.repeat(40))).status).toBe(401);
    const { m: open } = await monitorWith({ NOTIFY_WEBHOOK_URLS: `${s.url}/hook` }, null);
    expect((await test(open)).status).toBe(403);
    expect(s.requests()).toEqual([]);

    const { m: quiet } = await monitorWith({});
    const none = await test(quiet);
    expect(none.status).toBe(409);
    expect(await none.json()).toMatchObject({ error: 'no_targets' });
  });
});

describe('POST /api/notifications/test, to the real Alertmanager', () => {
  it('is an alert of its own, UdpMonitorTest with the test id, beside no sender alert', async () => {
    const am = await startAlertmanager();
    let m: LoopbackMonitor | undefined;
    try {
      m = await startLoopbackMonitor(
        captureLogs('client').logger,
        { ALERTMANAGER_URLS: am.url, MONITOR_NAME: 'monitor-a', ALERT_MONITOR_LABEL: 'pair' },
        { adminToken: TOKEN },
      );
      const res = await fetch(`${m.base}/api/notifications/test`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(res.status).toBe(200);
      const answer = testNotificationSchema.parse(await res.json());
      expect(answer).toMatchObject({ sent: 1, failed: 0 });
      expect(answer.targets).toMatchObject([{ kind: 'alertmanager', ok: true, status: 200 }]);
      // Alertmanager took it: it is in its list at once.
      const alerts = (await am.alerts('?active=true')) as Array<{ labels: Record<string, string> }>;
      expect(alerts.map((a) => a.labels)).toEqual([
        { alertname: TEST_ALERT_NAME, test_id: answer.id, monitor: 'pair', severity: 'critical' },
      ]);
    } finally {
      await m?.monitor.stop();
      await am.stop();
    }
  });
});
