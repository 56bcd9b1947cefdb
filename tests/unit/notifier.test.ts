import { afterEach, describe, expect, it } from 'vitest';
import { MAX_SILENCES } from '../../services/client/notify/maintenance.js';
import { startBeacon } from '../../services/shared/beacon/beacon.js';
import { startAlertmanager } from '../support/alertmanager.js';
import { startForwardProxy } from '../support/forward-proxy.js';
import { captureLogs } from '../support/log-capture.js';
import { freshDataDir, type LoopbackMonitor, startLoopbackMonitor } from '../support/monitor.js';
import { beat, eventually, sendUdp } from '../support/udp.js';
import { startWebhookSink, type WebhookSink } from '../support/webhook-sink.js';

const TOKEN = 'a'.repeat(16) + 'b'.repeat(16) + 'c'.repeat(8);
// Beats every 300 ms; late 100 ms after a missed one, down one interval later.
const FAST = { LATE_GRACE: '100ms', DOWN_AFTER_MISSES: '2' };

interface Hook {
  id: string;
  event: string;
  source: string;
  incidentKey: string;
  from: string | null;
  to: string;
  text: string;
}

describe('notifications, in-process against a real HTTP sink', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setUp(env: Record<string, string> = {}, adminToken: string | null = TOKEN) {
    const sink = await startWebhookSink({ host: '127.0.0.1' });
    cleanups.push(() => sink.close());
    const logs = captureLogs('client');
    const m = await startLoopbackMonitor(
      logs.logger,
      { NOTIFY_WEBHOOK_URLS: `${sink.url}/hook/secret-part`, ...FAST, ...env },
      { adminToken },
    );
    cleanups.push(() => m.monitor.stop());
    return { sink, logs, m };
  }

  function beaconTo(m: LoopbackMonitor, source: string, boot: string) {
    const b = startBeacon(
      {
        intervalMs: 300,
        targets: [{ host: '127.0.0.1', port: m.monitor.udp.port }],
        source,
        boot,
        signer: null,
        sendBye: false,
      },
      captureLogs('server').logger,
    );
    cleanups.push(() => b.stop());
    return b;
  }

  const hooks = (sink: WebhookSink, source: string) =>
    sink
      .requests()
      .filter((r) => (r.body as Hook | null)?.source === source)
      .map((r) => ({ ...(r.body as Hook), header: r.headers['idempotency-key'] }));

  it('sends one down when a sender dies and one up when it is back, with one incident key', async () => {
    const { sink, m, logs } = await setUp();
    const first = beaconTo(m, 'svc', 'boot-1');
    await eventually(() => expect(m.monitor.tracker.view('svc', Date.now())?.state).toBe('up'));
    await first.stop();
    const [down] = await eventually(() => {
      const h = hooks(sink, 'svc');
      expect(h.map((x) => x.event)).toEqual(['down']);
      return h;
    }, 5000);
    expect(down).toMatchObject({ from: 'late', to: 'down', header: down?.id });
    expect(down?.text).toContain('DOWN');
    beaconTo(m, 'svc', 'boot-2');
    await eventually(() => expect(hooks(sink, 'svc').map((x) => x.event)).toEqual(['down', 'up']), 5000);
    const [, up] = hooks(sink, 'svc');
    expect(up?.incidentKey).toBe(down?.incidentKey);
    expect(up?.id).not.toBe(down?.id);
    // The target is logged without the secret part of its URL. (Logged once the answer is back: the
    // sink has the request before that.)
    await eventually(() => expect(logs.events('notify').filter((l) => l.outcome === 'sent')).toHaveLength(2));
    expect(JSON.stringify(logs.lines())).not.toContain('secret-part');
    expect(logs.schemaProblems()).toEqual([]);
  });

  it('sends through NOTIFY_PROXY_URL, and logs neither the proxy password nor the hook secret', async () => {
    const proxy = await startForwardProxy({ user: 'monitor', password: 'proxy-password' });
    cleanups.push(() => proxy.close());
    const sink = await startWebhookSink({ host: '127.0.0.1' });
    cleanups.push(() => sink.close());
    const logs = captureLogs('client');
    // A receiver name no resolver knows: only the proxy (every name to 127.0.0.1) reaches it.
    const hook = `http://receiver.invalid:${new URL(sink.url).port}/hook/secret-part`;
    const m = await startLoopbackMonitor(logs.logger, {
      NOTIFY_WEBHOOK_URLS: hook,
      NOTIFY_PROXY_URL: proxy.url.href,
      ...FAST,
    });
    cleanups.push(() => m.monitor.stop());
    await sendUdp(m.monitor.udp.port, [beat(0, { source: 'via', intervalMs: 300 })]);
    await eventually(() => expect(hooks(sink, 'via').map((x) => x.event)).toEqual(['down']), 5000);
    expect(proxy.requests).toMatchObject([{ method: 'POST', target: hook }]);
    const text = JSON.stringify(logs.lines());
    expect(text).not.toContain('proxy-password');
    expect(text).not.toContain('secret-part');
  });

  it('retries a target that fails, and delivers once', async () => {
    const { sink, m, logs } = await setUp();
    await sendUdp(m.monitor.udp.port, [beat(0, { source: 'flaky', intervalMs: 300 })]);
    const FAIL_MS = 2500;
    const failIssuedAt = Date.now();
    sink.failFor(FAIL_MS);
    const failReturnedAt = Date.now();
    // The sink answers 500 until its failUntil, somewhere in [failIssuedAt, failReturnedAt] + FAIL_MS.
    const surelyFailing = failIssuedAt + FAIL_MS;
    const surelyOk = failReturnedAt + FAIL_MS;
    // No more beats: down within ~0.7 s, while the sink still fails.
    const delivered = await eventually(() => {
      const ok = sink.requests().filter((r) => (r.body as Hook).source === 'flaky' && r.at >= surelyOk);
      expect(ok).toHaveLength(1);
      return ok;
    }, 20_000);
    const id = (delivered[0]?.body as Hook | undefined)?.id;
    const tries = sink.requests().filter((r) => (r.body as Hook).id === id);
    expect(tries.length).toBeGreaterThanOrEqual(2);
    expect(tries.filter((r) => r.at < surelyFailing).length).toBeGreaterThanOrEqual(1);
    expect(new Set(tries.map((r) => r.headers['idempotency-key']))).toEqual(new Set([id]));
    // The sink has the request before the monitor has its answer (and logs it).
    const lines = await eventually(() => {
      const forId = logs.events('notify').filter((l) => l.id === id);
      expect(forId.at(-1)).toMatchObject({ outcome: 'sent' });
      return forId;
    });
    expect(lines.slice(0, -1).every((l) => l.outcome === 'failed')).toBe(true);
  });

  it('sends pending notifications after a restart of the monitor', async () => {
    const dataDir = freshDataDir();
    const sink = await startWebhookSink({ host: '127.0.0.1' });
    cleanups.push(() => sink.close());
    const env = { NOTIFY_WEBHOOK_URLS: `${sink.url}/hook`, DATA_DIR: dataDir, ...FAST };
    const first = await startLoopbackMonitor(captureLogs('client').logger, env);
    sink.failFor(60_000);
    await sendUdp(first.monitor.udp.port, [beat(0, { source: 'gone', intervalMs: 300 })]);
    await eventually(
      () => expect(sink.requests().some((r) => (r.body as Hook).source === 'gone')).toBe(true),
      5000,
    );
    await first.monitor.stop();
    sink.failFor(0);
    sink.clear();
    const second = await startLoopbackMonitor(captureLogs('client').logger, env);
    cleanups.push(() => second.monitor.stop());
    await eventually(() => expect(hooks(sink, 'gone').map((h) => h.event)).toEqual(['down']), 10_000);
  });

  it('notifies nothing for a silenced sender, which shows maintenance', async () => {
    const { sink, m } = await setUp();
    const post = (body: object, token = TOKEN) =>
      fetch(`${m.base}/api/silences`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post({ sources: 'quiet-*', until: '1h' }, 'wrong')).status).toBe(401);
    const created = await post({ sources: 'quiet-*', until: '1h', comment: 'swap' });
    expect(created.status).toBe(201);
    await sendUdp(m.monitor.udp.port, [beat(0, { source: 'quiet-1', intervalMs: 300 })]);
    await eventually(() => expect(m.monitor.tracker.view('quiet-1', Date.now())?.state).toBe('down'), 5000);
    const view = (await (await fetch(`${m.base}/api/senders/quiet-1`)).json()) as { maintenance: boolean };
    expect(view.maintenance).toBe(true);
    await new Promise((r) => setTimeout(r, 1000));
    expect(hooks(sink, 'quiet-1')).toEqual([]);
    const { id } = (await created.json()) as { id: string };
    const del = await fetch(`${m.base}/api/silences/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(del.status).toBe(204);
    expect(await (await fetch(`${m.base}/api/silences`)).json()).toEqual([]);
  });

  it('forgets a decommissioned sender on DELETE /api/senders/:source: its record and its row; a declared one stays', async () => {
    const dataDir = freshDataDir();
    const { sink, logs, m } = await setUp({ DATA_DIR: dataDir, EXPECTED_SENDERS: 'kept=1h' });
    const forget = (source: string, token = TOKEN) =>
      fetch(`${m.base}/api/senders/${encodeURIComponent(source)}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });
    await sendUdp(m.monitor.udp.port, [beat(0, { source: 'retired', intervalMs: 300 })]);
    await eventually(() => expect(hooks(sink, 'retired').map((h) => h.event)).toEqual(['down']), 5000);
    expect((await forget('retired', 'wrong')).status).toBe(401);
    expect((await forget('retired')).status).toBe(204);
    expect((await fetch(`${m.base}/api/senders/retired`)).status).toBe(404);
    expect((await forget('retired')).status).toBe(404);
    // A declared one is the configuration's: it stays.
    const declared = await forget('kept');
    expect(declared.status).toBe(409);
    expect(((await declared.json()) as { message: string }).message).toContain('EXPECTED_SENDERS');
    expect(logs.events('evict')).toMatchObject([{ source: 'retired', reason: 'forgotten' }]);
    expect(logs.schemaProblems()).toEqual([]);
    await m.monitor.stop();
    // Gone after a restart too: its row went with the state file's last write.
    const again = await startLoopbackMonitor(captureLogs('client').logger, {
      DATA_DIR: dataDir,
      EXPECTED_SENDERS: 'kept=1h',
      ...FAST,
    });
    cleanups.push(() => again.monitor.stop());
    expect(again.monitor.tracker.view('retired', Date.now())).toBeUndefined();
    expect(again.monitor.tracker.view('kept', Date.now())?.state).toBe('pending');
  });

  it('refuses a write without the token before reading its body, a body over 16 KiB, and a silence beyond MAX_SILENCES', async () => {
    const { m } = await setUp();
    const post = (body: string, token: string | null = TOKEN) =>
      fetch(`${m.base}/api/silences`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        },
        body,
      });
    // Not valid JSON, and no token: the token is what is missing.
    expect((await post('{bad', null)).status).toBe(401);
    expect((await post('{bad')).status).toBe(400);
    expect(
      (await post(JSON.stringify({ sources: 'x', until: '1h', comment: 'y'.repeat(17 * 1024) }))).status,
    ).toBe(413);
    const silence = (i: number) => JSON.stringify({ sources: `s-${i}`, until: '1h' });
    for (let i = 0; i < MAX_SILENCES; i++) expect((await post(silence(i))).status).toBe(201);
    const refused = await post(silence(MAX_SILENCES));
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { message: string }).message).toContain(
      `${MAX_SILENCES} silences at most`,
    );
  }, 60_000);

  it('refuses writes with a 403 that says how, when no token is configured', async () => {
    const { m } = await setUp({}, null);
    const res = await fetch(`${m.base}/api/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sources: '*', until: '1h' }),
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { message: string }).message).toContain('ADMIN_TOKEN_FILE');
    expect((await fetch(`${m.base}/api/silences`)).status).toBe(200);
  });

  it('sends one flapping notice for a sender that keeps changing, then nothing', async () => {
    const { sink, logs, m } = await setUp({ FLAP_THRESHOLD: '3', FLAP_WINDOW: '30s', NOTIFY_ON: 'down,up' });
    // Beats with gaps long enough to go down (interval 100 ms, down 200 ms after a missed beat).
    for (let seq = 0; seq < 6; seq++) {
      await sendUdp(m.monitor.udp.port, [beat(seq, { source: 'flappy', intervalMs: 100 })]);
      await eventually(
        () => expect(m.monitor.tracker.view('flappy', Date.now())?.state).not.toBe('down'),
        3000,
      );
      await eventually(() => expect(m.monitor.tracker.view('flappy', Date.now())?.state).toBe('down'), 3000);
    }
    // Delivered (a busy machine may take a while), then nothing more for half a second.
    await eventually(() => expect(hooks(sink, 'flappy').at(-1)?.event).toBe('flapping'), 5000);
    await new Promise((r) => setTimeout(r, 500));
    const events = hooks(sink, 'flappy').map((h) => h.event);
    // Changes of a known sender that enter or leave a state told count (down, up, down, ...; not
    // its first beat, nor up -> late, with late not told): the 4th is one too many, then quiet.
    // Whether a gap shows `late` before `down` depends on where the liveness ticks fall (a tick
    // past both thresholds is one change up -> down): the log says.
    const counted = logs
      .events('state')
      .filter((l) => l.source === 'flappy' && l.from !== null && (l.from === 'down' || l.to === 'down'))
      .map((l) => l.to as string);
    expect(counted.length).toBeGreaterThanOrEqual(4);
    expect(events).toEqual([...counted.slice(0, 3), 'flapping']);
    expect(events).toEqual(['down', 'up', 'down', 'flapping']);
  });
});

describe('Alertmanager, the real one', () => {
  it('pages no sender stored down that came back while the monitor was away longer than its alert lived', async () => {
    const am = await startAlertmanager();
    // Beside the real Alertmanager, a sink that keeps every push the monitor makes.
    const pushes = await startWebhookSink({ host: '127.0.0.1' });
    const env = {
      ALERTMANAGER_URLS: `${am.url},${pushes.url}/am`,
      ALERT_RESEND_INTERVAL: '1s',
      DATA_DIR: freshDataDir(),
      ...FAST,
    };
    const monitors: LoopbackMonitor[] = [];
    const stops: Array<{ stop(): unknown }> = [];
    try {
      const first = await startLoopbackMonitor(captureLogs('client').logger, env);
      monitors.push(first);
      // A beat a second: after the restart, it has until the bind + 1 s + 100 ms of grace to show itself.
      await sendUdp(first.monitor.udp.port, [beat(0, { source: 'db-2', intervalMs: 1000 })]);
      await eventually(async () => expect(await am.alerts('?active=true')).toHaveLength(1), 10_000);
      await first.monitor.stop();
      // Away until Alertmanager has ended the alert by itself (4 resend intervals after the last push).
      await eventually(async () => expect(await am.alerts('?active=true')).toEqual([]), 10_000);
      pushes.clear();
      const second = await startLoopbackMonitor(captureLogs('client').logger, env);
      monitors.push(second);
      // Back meanwhile: it beats to the monitor as soon as the monitor listens.
      const sender = startBeacon(
        {
          intervalMs: 1000,
          targets: [{ host: '127.0.0.1', port: second.monitor.udp.port }],
          source: 'db-2',
          boot: 'b2',
          signer: null,
          sendBye: false,
        },
        captureLogs('server').logger,
      );
      stops.push(sender);
      await eventually(() => expect(second.monitor.tracker.view('db-2', Date.now())?.state).toBe('up'), 5000);
      // Pushes go on every resend interval: two more, and none of them, nor any before, fired db-2.
      await eventually(() => expect(pushes.requests().length).toBeGreaterThanOrEqual(2), 5000);
      const fired = pushes
        .requests()
        .flatMap((r) =>
          (r.body as Array<{ labels: { source: string }; endsAt: string }>).filter(
            (a) => Date.parse(a.endsAt) > r.at,
          ),
        )
        .map((a) => a.labels.source);
      expect(fired).not.toContain('db-2');
      expect(await am.alerts('?active=true')).toEqual([]);
    } finally {
      for (const s of stops) await s.stop();
      for (const m of monitors) await m.monitor.stop();
      await pushes.close();
      await am.stop();
    }
  });

  it('gets the down sender as an alert with its labels, resolved when it returns; two monitors give one', async () => {
    const am = await startAlertmanager();
    const monitors: LoopbackMonitor[] = [];
    try {
      for (const name of ['a', 'b']) {
        monitors.push(
          await startLoopbackMonitor(captureLogs('client').logger, {
            ALERTMANAGER_URLS: am.url,
            MONITOR_NAME: `monitor-${name}`,
            ALERT_MONITOR_LABEL: 'pair',
            ALERT_RESEND_INTERVAL: '1s',
            ...FAST,
          }),
        );
      }
      for (const m of monitors)
        await sendUdp(m.monitor.udp.port, [beat(0, { source: 'db-1', intervalMs: 300 })]);
      const alerts = await eventually(async () => {
        const list = (await am.alerts('?active=true')) as Array<{
          labels: Record<string, string>;
          generatorURL: string;
        }>;
        expect(list).toHaveLength(1);
        return list;
      }, 10_000);
      expect(alerts[0]?.labels).toMatchObject({
        alertname: 'UdpSenderDown',
        source: 'db-1',
        monitor: 'pair',
        severity: 'critical',
      });
      expect(alerts[0]?.generatorURL).toContain('/senders/db-1');
      for (const m of monitors)
        await sendUdp(m.monitor.udp.port, [beat(5, { source: 'db-1', intervalMs: 300 })]);
      await eventually(async () => expect(await am.alerts('?active=true')).toEqual([]), 10_000);
    } finally {
      for (const m of monitors) await m.monitor.stop();
      await am.stop();
    }
  });
});
