/**
 * Issue 11, "Tell someone", against the real compose stack plus a webhook
 * sink (tests/fixtures/webhook-sink/compose.yml), the admin token as a
 * Docker secret (tests/fixtures/admin-token.compose.yml) and four beacon
 * servers (tests/fixtures/server-replicas.compose.yml): a killed server
 * gives exactly one `down`, its return exactly one `up` of the same
 * incident; a failing webhook is retried with backoff until it answers; a
 * monitor SIGKILLed with a notification pending sends it after its restart;
 * a silenced sender notifies nothing; a flapping sender gives one `flapping`
 * notice and then holds its peace; an operator's test notification reaches
 * the sink at once and is not tried again.
 *
 * One compose project for all scenarios, in sequence. Each scenario has a
 * sender of its own (a server replica, or a sender on the host), so none
 * changes the state or the flap count of another's; the sink is cleared
 * before each. FLAP_THRESHOLD=3 within FLAP_WINDOW=30s is on for all of
 * them: the changes into or out of `down` count (with NOTIFY_ON's default,
 * `late` is not told), so a server that goes down and up twice within a
 * window would be flapping. The test notification, which changes no state,
 * runs first; then the flapping scenario, which takes longer than the
 * window, and the outage scenario waits for the window anyway.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { toApiSender } from '../../services/client/http/api.js';
import type { WebhookBody } from '../../services/client/notify/payload.js';
import { queueKey } from '../../services/client/notify/queues.js';
import { encodedBeat } from '../support/builders.js';
import { type ComposeFixture, type LogRecord, upCompose } from '../support/compose.js';
import { setUpSuite } from '../support/suite-setup.js';
import { eventually } from '../support/udp.js';
import type { SinkRequest } from '../support/webhook-sink.js';

type ApiSender = ReturnType<typeof toApiSender>;
/** A request the sink recorded, its body a webhook notification. */
type Hook = SinkRequest & { body: WebhookBody };

/** BEACON_INTERVAL=1s. */
const INTERVAL_MS = 1000;
/** LATE_GRACE=500ms: small, so the host-side sender flaps quickly. */
const GRACE_MS = 500;
/** DOWN_AFTER_MISSES (compose default). */
const DOWN_AFTER_MISSES = 3;
/** From the expected arrival of the next beat: late, then down. */
const LATE_AFTER_MS = INTERVAL_MS + GRACE_MS;
const DOWN_AFTER_MS = LATE_AFTER_MS + (DOWN_AFTER_MISSES - 1) * INTERVAL_MS;
/**
 * From a threshold to the sink holding the notification, at most: one
 * liveness tick (250 ms), the outbox write, one POST over the project's
 * bridge, and scheduling slack on 2 cores.
 */
const DELIVERY_TOLERANCE_MS = 1000;
/** How long a test keeps watching for a notification that must not come (a second one, a silenced one). */
const QUIET_MS = 2500;
const FLAP_THRESHOLD = 3;
const FLAP_WINDOW_MS = 30_000;
/** The first retry's ceiling (1 s), doubling per attempt (backoff with full jitter). */
const BACKOFF_BASE_MS = 1000;
/** The outbox is polled every 500 ms: a due retry goes out within that. */
const DELIVERY_PERIOD_MS = 500;

const MONITOR = 'notify-it';
const PUBLIC_URL = 'http://status.notify-it.test:8080';
/** The webhook's path stands for the secret part of a real one (Slack's): it must never be logged. */
const HOOK_SECRET = randomBytes(12).toString('hex');
const HOOK_PATH = `/hook/${HOOK_SECRET}`;
const TARGET = 'http://sink:9000';

/** Server replicas (BEACON_SOURCE empty: each one's source is its host name), one per scenario. */
const SERVERS = { outage: 1, retry: 2, crash: 3, silenced: 4 } as const;

/** The flapping sender on the host: beats to the published UDP port, with gaps that make it down each time. */
const FLAPPER = 'flapper';
const FLAPPER_INTERVAL_MS = 1000;
/** A second past the down threshold (3.5 s). */
const FLAP_GAP_MS = 4500;
/** 7 beats, 6 gaps: 19 changes (first beat, then late, down and up per gap) in 27 s, then late and down. */
const FLAP_BEATS = 7;

const ms = (iso: unknown) => Date.parse(String(iso));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Beats of FLAPPER from the host to 127.0.0.1:port, one every FLAP_GAP_MS,
 * FLAP_BEATS in all: it stops by itself. Resolves with each beat's send time.
 */
async function flap(port: number): Promise<number[]> {
  const socket = createSocket('udp4');
  socket.on('error', () => {});
  const boot = `flap-${randomBytes(4).toString('hex')}`;
  const sentAt: number[] = [];
  const began = Date.now();
  try {
    for (let seq = 0; seq < FLAP_BEATS; seq++) {
      await sleep(Math.max(0, began + seq * FLAP_GAP_MS - Date.now()));
      const payload = encodedBeat(seq, { source: FLAPPER, boot, intervalMs: FLAPPER_INTERVAL_MS });
      sentAt.push(Date.now());
      await new Promise<void>((resolve) => socket.send(payload, port, '127.0.0.1', () => resolve()));
    }
  } finally {
    socket.close();
  }
  return sentAt;
}

describe('notifications (issue 11): webhooks through the outbox, retries, restarts, silences, flapping', () => {
  let fx: ComposeFixture;
  let tokenDir = '';
  let token = '';
  let sinkUrl = '';
  const sources: Partial<Record<keyof typeof SERVERS, string>> = {};
  const timings: Record<string, number> = {};
  /** The outage scenario's `down`, for the `up` that closes its incident. */
  let outageDown: Hook | undefined;

  const source = (role: keyof typeof SERVERS) => sources[role] as string;
  const sender = (src: string) => fx.getJson<ApiSender>(`/api/senders/${encodeURIComponent(src)}`);
  const killServer = async (role: keyof typeof SERVERS) => {
    const id = await fx.containerId('server', SERVERS[role]);
    const issuedAt = Date.now();
    await fx.docker('kill', id);
    return { issuedAt, returnedAt: Date.now() };
  };

  // --- the sink's control API ------------------------------------------------
  const sink = async (method: string, path: string) => {
    const res = await fetch(sinkUrl + path, { method, signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`sink ${method} ${path}: HTTP ${res.status}`);
    return res;
  };
  const clearSink = async () => void (await sink('DELETE', '/_sink/requests'));
  const failSink = async (forMs: number, status = 500) =>
    void (await sink('POST', `/_sink/fail?ms=${forMs}&status=${status}`));
  /** Every webhook request the sink recorded, oldest first. */
  const hooks = async (): Promise<Hook[]> =>
    (await (await sink('GET', '/_sink/requests')).json()) as SinkRequest[] as Hook[];
  const hooksFor = async (src: string) => (await hooks()).filter((h) => h.body?.source === src);

  // --- the client's log ------------------------------------------------------
  /** Every line of the client container (all its runs), each checked against the log schema. */
  const clientRecords = (): Promise<LogRecord[]> => fx.logRecords('client');
  const notifyLines = async (filter: (l: LogRecord) => boolean) =>
    (await clientRecords()).filter((l) => l.event === 'notify' && filter(l));

  /** A counter of /metrics for the webhook target. */
  const metric = async (name: string) => {
    const res = await fetch(`${fx.clientUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
    const line = (await res.text())
      .split('\n')
      .find((l) => l.startsWith(`udp_monitor_notifications_${name}_total{target="${TARGET}"} `));
    return Number(line?.split(' ').pop() ?? Number.NaN);
  };

  /** What every webhook request must be: a JSON POST to the configured URL, keyed by the notification's id. */
  const expectWebhook = (h: Hook, src: string) => {
    expect(h.method).toBe('POST');
    expect(h.path).toBe(HOOK_PATH);
    expect(h.headers['content-type']).toMatch(/^application\/json/);
    expect(h.body.id).toMatch(UUID);
    expect(h.headers['idempotency-key']).toBe(h.body.id);
    expect(Object.keys(h.body).sort()).toEqual(
      [
        'id',
        'event',
        'source',
        'displayName',
        'from',
        'to',
        'reason',
        'at',
        'since',
        'monitor',
        'statusUrl',
        'text',
        'incidentKey',
      ].sort(),
    );
    expect(h.body).toMatchObject({
      source: src,
      displayName: null,
      monitor: MONITOR,
      statusUrl: `${PUBLIC_URL}/senders/${encodeURIComponent(src)}`,
    });
    expect(h.body.incidentKey).toMatch(/^[0-9a-f]{32}$/);
    expect(new Date(ms(h.body.at)).toISOString()).toBe(h.body.at);
    expect(new Date(ms(h.body.since)).toISOString()).toBe(h.body.since);
    expect(h.body.text).toContain(`\`${src}\``);
    expect(h.body.text).toContain(`seen by ${MONITOR}`);
  };

  /** The first `down` the sink has for `src` (waits for it). */
  const awaitDown = async (src: string, timeoutMs: number) =>
    eventually(
      async () => {
        const found = (await hooksFor(src)).filter((h) => h.body.event === 'down');
        expect(found.length).toBeGreaterThanOrEqual(1);
        return found[0] as Hook;
      },
      timeoutMs,
      100,
    );

  setUpSuite(async () => {
    tokenDir = await mkdtemp(join(tmpdir(), 'udpts-notify-'));
    token = randomBytes(24).toString('hex');
    const tokenFile = join(tokenDir, 'admin-token');
    await writeFile(tokenFile, `${token}\n`);
    // A compose secret outside Swarm is the file bind-mounted as it is: the container's user must read it.
    await chmod(tokenFile, 0o444);
    fx = await upCompose({
      environment: {
        BEACON_INTERVAL: '1s',
        SERVER_REPLICAS: String(Object.keys(SERVERS).length),
        LATE_GRACE: `${GRACE_MS}ms`,
        NOTIFY_WEBHOOK_URLS: `${TARGET}${HOOK_PATH}`,
        FLAP_THRESHOLD: String(FLAP_THRESHOLD),
        FLAP_WINDOW: `${FLAP_WINDOW_MS / 1000}s`,
        MONITOR_NAME: MONITOR,
        PUBLIC_URL,
        ADMIN_TOKEN_HOST_FILE: tokenFile,
      },
      overrides: [
        'tests/fixtures/webhook-sink/compose.yml',
        'tests/fixtures/admin-token.compose.yml',
        'tests/fixtures/server-replicas.compose.yml',
      ],
      waitFor: ['server', 'client', 'sink'],
    });
    try {
      for (const [role, index] of Object.entries(SERVERS)) {
        await fx.waitHealthy('server', index, 30_000);
        sources[role as keyof typeof SERVERS] = (await fx.inspect('server', index)).Config.Hostname;
      }
      sinkUrl = `http://${(await fx.compose('port', 'sink', '9000')).trim()}`;
      // Every server is up before a scenario starts.
      await eventually(
        async () => {
          for (const role of Object.keys(SERVERS) as (keyof typeof SERVERS)[])
            expect((await sender(source(role))).state).toBe('up');
        },
        20_000,
        200,
      );
    } catch (err) {
      await fx.down();
      throw err;
    }
  });
  afterAll(async () => {
    console.info(`notify timings (ms) and counts: ${JSON.stringify(timings)}`);
    try {
      if (fx !== undefined) {
        // Whatever happened: the webhook's secret path is in no log line, and targets are scheme://host:port.
        const lines = await fx.logLines('client');
        expect(lines.filter((l) => l.includes(HOOK_SECRET))).toEqual([]);
        const notify = await notifyLines(() => true);
        expect([...new Set(notify.map((l) => l.target))]).toEqual([TARGET]);
        // Nothing was old enough to give up (NOTIFY_MAX_AGE 24h) or pushed out of a full queue.
        expect(notify.filter((l) => l.outcome === 'given_up' || l.outcome === 'dropped')).toEqual([]);
      }
    } finally {
      await fx?.down();
      if (tokenDir !== '') await rm(tokenDir, { recursive: true, force: true });
    }
  });

  it('POST /api/notifications/test with the token: the sink gets one `test` about the sender named, at once, and the answer says it took it; not retried when it fails', async () => {
    // A sender of its own (the other scenarios count the notify lines of theirs), beating once from the host.
    const src = 'test-subject';
    const udpPort = Number(
      (await fx.compose('port', '--protocol', 'udp', 'client', '5000')).trim().split(':').pop(),
    );
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) =>
      socket.send(encodedBeat(0, { source: src, intervalMs: 60_000 }), udpPort, '127.0.0.1', (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    socket.close();
    await eventually(async () => expect((await sender(src)).state).toBe('up'), 5000, 100);
    const url = `${fx.clientUrl}/api/notifications/test`;
    const post = (body?: object) =>
      fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
      });
    /** The tests the sink recorded (no other scenario's notification). */
    const tests = async () =>
      ((await sink('GET', '/_sink/requests').then((r) => r.json())) as SinkRequest[]).filter(
        (r) => (r.body as { event?: string } | null)?.event === 'test',
      );
    try {
      expect((await fetch(url, { method: 'POST', signal: AbortSignal.timeout(5000) })).status).toBe(401);
      await clearSink();
      const res = await post({ source: src });
      expect(res.status).toBe(200);
      const answer = (await res.json()) as { id: string; sent: number; failed: number; targets: unknown[] };
      expect(answer).toMatchObject({
        sent: 1,
        failed: 0,
        targets: [{ target: TARGET, kind: 'webhook', ok: true, status: 200, error: null }],
      });
      // Answered after the sink took it: it is there already, once, in a notification's shape.
      const got = await tests();
      expect(got).toHaveLength(1);
      expect(got[0]?.path).toBe(HOOK_PATH);
      expect(got[0]?.headers['idempotency-key']).toBe(answer.id);
      expect(got[0]?.body).toMatchObject({
        id: answer.id,
        event: 'test',
        reason: 'test',
        source: src,
        from: null,
        to: 'up',
        incidentKey: null,
        monitor: MONITOR,
        statusUrl: `${PUBLIC_URL}/senders/${encodeURIComponent(src)}`,
      });
      // The log is written in batches (up to 100 ms): the line follows the answer.
      await eventually(
        async () =>
          expect(await notifyLines((l) => l.id === answer.id)).toMatchObject([
            { outcome: 'sent', notification: 'test', target: TARGET, attempt: 1, source: src },
          ]),
        5000,
        100,
      );

      // The sink failing: the answer says so, and nothing is tried again.
      await clearSink();
      await failSink(10_000, 503);
      const failedRes = await post();
      expect(failedRes.status).toBe(200);
      const failed = (await failedRes.json()) as { id: string };
      expect(failed).toMatchObject({ sent: 0, failed: 1, targets: [{ ok: false, status: 503 }] });
      await sleep(BACKOFF_BASE_MS + DELIVERY_PERIOD_MS + DELIVERY_TOLERANCE_MS);
      expect((await tests()).map((r) => (r.body as { id: string }).id)).toEqual([failed.id]);
    } finally {
      await failSink(0);
      await clearSink();
      // Forgotten, so that it never goes down during the other scenarios.
      const forgotten = await fetch(`${fx.clientUrl}/api/senders/${src}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(5000),
      });
      expect(forgotten.status).toBe(204);
    }
  });

  it(`a flapping sender (FLAP_THRESHOLD=${FLAP_THRESHOLD}, FLAP_WINDOW=30s): down, up and down told, then exactly one \`flapping\` notification, then nothing for it during the window, not even its last \`down\``, async () => {
    await clearSink();
    const port = Number(
      (await fx.compose('port', '--protocol', 'udp', 'client', '5000')).trim().split(':').pop(),
    );
    const startedAt = Date.now();
    const sentAt = await flap(port);
    const lastBeat = sentAt.at(-1) as number;

    // The flapping notice arrives on the change after the first FLAP_THRESHOLD counted ones: down, up,
    // down, then the up of the second gap (about the ninth second).
    const notice = await eventually(
      async () => {
        const found = (await hooksFor(FLAPPER)).find((h) => h.body.event === 'flapping');
        expect(found).toBeDefined();
        return found;
      },
      15_000,
      100,
    );
    expectWebhook(notice as Hook, FLAPPER);
    expect((notice as Hook).body).toMatchObject({ event: 'flapping' });
    expect((notice as Hook).body.text).toMatch(/is flapping/);
    const noticeAt = (notice as Hook).at;
    expect(noticeAt).toBeLessThan(lastBeat);

    // Watch the rest of the window from the notice: the sender keeps changing, then goes late and down.
    await sleep(Math.max(0, noticeAt + FLAP_WINDOW_MS - 1000 - Date.now()));
    const all = await hooksFor(FLAPPER);
    expect(all.map((h) => h.body.event)).toEqual(['down', 'up', 'down', 'flapping']);
    expect(all.at(-1)?.body.id).toBe((notice as Hook).body.id);

    // The changes were there: the first beat, late, down and up per gap, then late and down after the last beat.
    const states = (await clientRecords()).filter((l) => l.event === 'state' && l.source === FLAPPER);
    const changes = states.map((l) => `${l.from}->${l.to}`);
    expect(changes[0]).toBe('null->up');
    expect(changes.slice(1, 1 + 3 * (FLAP_BEATS - 1))).toEqual(
      Array.from({ length: FLAP_BEATS - 1 }, () => ['up->late', 'late->down', 'down->up']).flat(),
    );
    expect(changes.slice(3 * FLAP_BEATS - 2)).toEqual(['up->late', 'late->down']);
    const noticeLines = await notifyLines((l) => l.source === FLAPPER);
    expect(noticeLines.map((l) => `${l.notification}:${l.outcome}`)).toEqual([
      'down:sent',
      'up:sent',
      'down:sent',
      'flapping:sent',
    ]);
    Object.assign(timings, {
      flapStartToNotice: noticeAt - startedAt,
      flapChanges: changes.length,
      flapWatched: Date.now() - noticeAt,
    });
  });

  it('docker kill a server: exactly one `down` for its source, at interval + grace + (N-1) intervals after the kill (+ delivery tolerance), the header id the body id', async () => {
    const src = source('outage');
    // Its first beat is a change too: be past the flapping window of it (the scenario above took longer).
    const first = await sender(src);
    await sleep(Math.max(0, ms(first.firstSeen) + FLAP_WINDOW_MS + 500 - Date.now()));
    await clearSink();

    const kill = await killServer('outage');
    const down = await awaitDown(src, DOWN_AFTER_MS + 10_000);
    const api = await sender(src);
    await sleep(QUIET_MS);

    expectWebhook(down, src);
    expect(down.body).toMatchObject({
      event: 'down',
      from: 'late',
      to: 'down',
      reason: `missed_${DOWN_AFTER_MISSES}`,
    });
    expect(down.body.since).toBe(down.body.at);
    expect(down.body.text).toContain('is DOWN');
    // Dated at its threshold: the expected arrival of the next beat + grace + (N - 1) intervals.
    expect(api).toMatchObject({ state: 'down', reason: `missed_${DOWN_AFTER_MISSES}` });
    expect(
      Math.abs(ms(down.body.at) - (ms(api.expectedAt) + GRACE_MS + (DOWN_AFTER_MISSES - 1) * INTERVAL_MS)),
    ).toBeLessThanOrEqual(1);
    // The last beat came at most one interval before the kill, and none after it returned.
    expect(down.at).toBeGreaterThanOrEqual(kill.issuedAt + GRACE_MS + (DOWN_AFTER_MISSES - 1) * INTERVAL_MS);
    expect(down.at).toBeLessThanOrEqual(kill.returnedAt + DOWN_AFTER_MS + DELIVERY_TOLERANCE_MS);
    expect(down.at - ms(down.body.at)).toBeGreaterThanOrEqual(0);
    expect(down.at - ms(down.body.at)).toBeLessThanOrEqual(DELIVERY_TOLERANCE_MS);

    // Exactly one, and nothing else for it (late is not in NOTIFY_ON).
    expect((await hooksFor(src)).map((h) => h.body.id)).toEqual([down.body.id]);
    const lines = await notifyLines((l) => l.source === src);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      component: 'notify',
      target: TARGET,
      id: down.body.id,
      notification: 'down',
      attempt: 1,
      outcome: 'sent',
      status: 200,
    });
    outageDown = down;
    Object.assign(timings, {
      killToDownNotice: down.at - kill.issuedAt,
      downThresholdToNotice: down.at - ms(down.body.at),
    });
  });

  it('start it again: exactly one `up`, with the incidentKey of the `down`', async () => {
    const src = source('outage');
    expect(outageDown, 'the down of the scenario before').toBeDefined();
    const downBody = (outageDown as Hook).body;
    await clearSink();

    const id = await fx.containerId('server', SERVERS.outage);
    const startIssuedAt = Date.now();
    await fx.docker('start', id);
    const up = await eventually(
      async () => {
        const found = await hooksFor(src);
        expect(found.length).toBeGreaterThanOrEqual(1);
        return found[0] as Hook;
      },
      20_000,
      100,
    );
    await sleep(QUIET_MS);

    expectWebhook(up, src);
    expect(up.body).toMatchObject({
      event: 'up',
      from: 'down',
      to: 'up',
      reason: 'restart',
      incidentKey: downBody.incidentKey,
    });
    expect(up.body.id).not.toBe(downBody.id);
    expect(up.body.text).toContain('back UP');
    expect(ms(up.body.at)).toBeGreaterThanOrEqual(startIssuedAt);
    expect(up.at - ms(up.body.at)).toBeGreaterThanOrEqual(0);
    expect(up.at - ms(up.body.at)).toBeLessThanOrEqual(DELIVERY_TOLERANCE_MS);
    expect((await sender(src)).state).toBe('up');
    expect((await hooksFor(src)).map((h) => `${h.body.event}:${h.body.id}`)).toEqual([`up:${up.body.id}`]);
    timings.startToUpNotice = up.at - startIssuedAt;
  });

  it('the sink answers 500 for 10 s while a server is killed: the `down` is retried with backoff and delivered once the sink answers, the log shows `failed` attempts then one `sent`', async () => {
    const src = source('retry');
    await clearSink();
    const [failedBefore, retriedBefore, sentBefore] = [
      await metric('failed'),
      await metric('retried'),
      await metric('sent'),
    ];

    const FAIL_MS = 10_000;
    const failIssuedAt = Date.now();
    await failSink(FAIL_MS);
    const failReturnedAt = Date.now();
    // The sink answers 500 until failUntil, somewhere in [failIssuedAt, failReturnedAt] + FAIL_MS.
    const surelyFailing = failIssuedAt + FAIL_MS;
    const surelyOk = failReturnedAt + FAIL_MS;
    const kill = await killServer('retry');

    // Retries: ceilings 1, 2, 4, 8, 16 s; delivered in about 10 to 35 s after the kill.
    const delivered = await eventually(
      async () => {
        const after = (await hooksFor(src)).filter((h) => h.at >= surelyOk);
        expect(after.length).toBeGreaterThanOrEqual(1);
        return after[0] as Hook;
      },
      60_000,
      200,
    );
    await sleep(QUIET_MS);

    const requests = await hooksFor(src);
    const failing = requests.filter((h) => h.at < surelyFailing);
    const ok = requests.filter((h) => h.at >= surelyOk);
    // None in the few milliseconds where the answer is not known from here.
    expect(failing.length + ok.length).toBe(requests.length);
    expect(failing.length).toBeGreaterThanOrEqual(1);
    expect(requests.length).toBeGreaterThanOrEqual(2);
    // One answered 2xx: the last; every request is the same notification, byte for byte.
    expect(ok).toEqual([delivered]);
    expect(requests.at(-1)).toEqual(delivered);
    for (const h of requests) {
      expectWebhook(h, src);
      expect(h.body).toEqual(delivered.body);
      expect(h.headers['idempotency-key']).toBe(delivered.body.id);
    }
    expect(delivered.body).toMatchObject({ event: 'down', reason: `missed_${DOWN_AFTER_MISSES}` });
    expect(requests[0]?.at).toBeLessThanOrEqual(kill.returnedAt + DOWN_AFTER_MS + DELIVERY_TOLERANCE_MS);

    // The log: attempt 1..k failed with 500 and a retry delay within its ceiling, then attempt k+1 sent.
    const lines = await notifyLines((l) => l.id === delivered.body.id);
    expect(lines.map((l) => l.outcome)).toEqual([...failing.map(() => 'failed'), 'sent']);
    lines.forEach((l, i) => {
      expect(l).toMatchObject({
        component: 'notify',
        target: TARGET,
        source: src,
        notification: 'down',
        attempt: i + 1,
      });
    });
    const failedLines = lines.slice(0, -1);
    for (const l of failedLines) {
      expect(l).toMatchObject({ outcome: 'failed', status: 500, error: 'HTTP 500 Internal Server Error' });
      const ceiling = BACKOFF_BASE_MS * 2 ** ((l.attempt as number) - 1);
      expect(l.retryInMs).toBeGreaterThanOrEqual(0);
      expect(l.retryInMs).toBeLessThanOrEqual(ceiling);
    }
    expect(lines.at(-1)).toMatchObject({ outcome: 'sent', status: 200, attempt: failing.length + 1 });
    // Each retry waited its delay, and went out on the next outbox poll after it.
    for (let i = 1; i < requests.length; i++) {
      const gap = (requests[i] as Hook).at - (requests[i - 1] as Hook).at;
      const delay = failedLines[i - 1]?.retryInMs as number;
      expect(gap).toBeGreaterThanOrEqual(delay - 5);
      expect(gap).toBeLessThanOrEqual(delay + DELIVERY_PERIOD_MS + 1000);
    }
    // Counted (other senders' notifications may have been counted meanwhile: at least these).
    expect((await metric('failed')) - failedBefore).toBeGreaterThanOrEqual(failing.length);
    expect((await metric('retried')) - retriedBefore).toBeGreaterThanOrEqual(failing.length);
    expect((await metric('sent')) - sentBefore).toBeGreaterThanOrEqual(1);
    Object.assign(timings, {
      retryAttempts: requests.length,
      retryKillToDelivered: delivered.at - kill.issuedAt,
      retryWindowEndToDelivered: delivered.at - surelyOk,
    });
  });

  it('under a silence: a wrong token is 401, the right one 201; the silenced server, killed, is down and in maintenance, and the sink gets nothing for it', async () => {
    const src = source('silenced');
    await clearSink();
    const post = (authorization: string) =>
      fetch(`${fx.clientUrl}/api/silences`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ sources: src, until: '2h', comment: 'notify test: planned work' }),
        signal: AbortSignal.timeout(5000),
      });
    const wrong = await post(`Bearer ${'x'.repeat(token.length)}`);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer');
    expect(await fx.getJson<unknown[]>('/api/silences')).toEqual([]);

    const postedAt = Date.now();
    const created = await post(`Bearer ${token}`);
    const answeredAt = Date.now();
    expect(created.status).toBe(201);
    const silence = (await created.json()) as { id: string; sources: string; until: string; comment: string };
    expect(silence).toMatchObject({ sources: src, comment: 'notify test: planned work' });
    expect(typeof silence.id).toBe('string');
    // `2h` from when the monitor took it (the container's clock is the host's).
    expect(ms(silence.until)).toBeGreaterThanOrEqual(postedAt + 2 * 3_600_000);
    expect(ms(silence.until)).toBeLessThanOrEqual(answeredAt + 2 * 3_600_000);
    expect((await fx.getJson<Array<{ id: string }>>('/api/silences')).map((s) => s.id)).toEqual([silence.id]);
    expect(await sender(src)).toMatchObject({ state: 'up', maintenance: true });
    // What was decided for it before the silence (nothing, unless a busy machine starved its server
    // earlier) has been delivered and logged within the delivery tolerance: the silence answers only
    // for what comes after it.
    await sleep(DELIVERY_TOLERANCE_MS);
    const notifiedBefore = new Set((await notifyLines((l) => l.source === src)).map((l) => l.id));
    if (notifiedBefore.size > 0) timings.silencedNotifiedBefore = notifiedBefore.size;

    const kill = await killServer('silenced');
    const down = await eventually(
      async () => {
        const s = await sender(src);
        expect(s.state).toBe('down');
        return s;
      },
      DOWN_AFTER_MS + 10_000,
      100,
    );
    expect(down).toMatchObject({ state: 'down', reason: `missed_${DOWN_AFTER_MISSES}`, maintenance: true });
    // Past the down threshold and the delivery tolerance, and a margin: nothing came.
    await sleep(Math.max(0, kill.returnedAt + DOWN_AFTER_MS + DELIVERY_TOLERANCE_MS + QUIET_MS - Date.now()));
    expect((await hooksFor(src)).filter((h) => !notifiedBefore.has(h.body.id))).toEqual([]);
    expect(await notifyLines((l) => l.source === src && !notifiedBefore.has(l.id))).toEqual([]);
    const states = (await clientRecords()).filter((l) => l.event === 'state' && l.source === src);
    expect(states.map((l) => `${l.from}->${l.to}`).slice(-2)).toEqual(['up->late', 'late->down']);

    // Ending it needs the token as well.
    const del = (authorization: string) =>
      fetch(`${fx.clientUrl}/api/silences/${encodeURIComponent(silence.id)}`, {
        method: 'DELETE',
        headers: { authorization },
        signal: AbortSignal.timeout(5000),
      });
    expect((await del('Bearer wrong')).status).toBe(401);
    expect((await del(`Bearer ${token}`)).status).toBe(204);
    expect(await fx.getJson<unknown[]>('/api/silences')).toEqual([]);
    expect(await sender(src)).toMatchObject({ state: 'down', maintenance: false });
    timings.silencedWatched = Date.now() - kill.issuedAt;
  });

  it('the client SIGKILLed with a `down` pending in the outbox: after `docker compose start client` it is delivered', async () => {
    const src = source('crash');
    await clearSink();
    // The sink fails until told otherwise (well past the scenario); the client is killed meanwhile.
    await failSink(120_000);
    const kill = await killServer('crash');

    const failed = await eventually(
      async () => {
        const lines = await notifyLines((l) => l.source === src && l.outcome === 'failed');
        expect(lines.length).toBeGreaterThanOrEqual(1);
        return lines[0] as LogRecord;
      },
      DOWN_AFTER_MS + 10_000,
      200,
    );
    expect(failed).toMatchObject({ notification: 'down', attempt: 1, status: 500, target: TARGET });
    const id = failed.id as string;
    // In the outbox of the state file: pending, attempted.
    const row = JSON.parse(
      await fx.exec('client', [
        'node',
        '-e',
        "const { DatabaseSync } = require('node:sqlite');" +
          "const db = new DatabaseSync('/data/monitor.db', { readOnly: true });" +
          "console.log(JSON.stringify(db.prepare('SELECT id, target, source, event, status, attempts FROM outbox WHERE id = ?').all(process.argv[1])));",
        id,
      ]),
    ) as Array<Record<string, unknown>>;
    expect(row).toEqual([
      {
        id,
        target: queueKey(new URL(`${TARGET}${HOOK_PATH}`)),
        source: src,
        event: 'down',
        status: 'pending',
        attempts: expect.any(Number),
      },
    ]);
    expect(row[0]?.attempts).toBeGreaterThanOrEqual(1);

    const clientId = await fx.containerId('client');
    await fx.docker('kill', '-s', 'KILL', clientId);
    expect((await fx.inspect('client')).State).toMatchObject({ Status: 'exited', ExitCode: 137 });
    const beforeRestart = await notifyLines((l) => l.id === id);
    expect(beforeRestart.map((l) => l.outcome)).not.toContain('sent');
    const lastAttempt = Math.max(...beforeRestart.map((l) => l.attempt as number));

    const recoverIssuedAt = Date.now();
    await failSink(0);
    const startIssuedAt = Date.now();
    await fx.compose('start', 'client');
    await fx.refreshClientUrl();

    const delivered = await eventually(
      async () => {
        const found = (await hooksFor(src)).filter((h) => h.at >= startIssuedAt);
        expect(found.length).toBeGreaterThanOrEqual(1);
        return found[0] as Hook;
      },
      30_000,
      200,
    );
    await sleep(QUIET_MS);

    expectWebhook(delivered, src);
    expect(delivered.body).toMatchObject({ id, event: 'down', to: 'down' });
    const requests = await hooksFor(src);
    // The same notification throughout, sent successfully once: after the restart.
    expect(new Set(requests.map((h) => h.body.id))).toEqual(new Set([id]));
    expect(requests.filter((h) => h.at >= recoverIssuedAt)).toEqual([delivered]);
    for (const h of requests) expect(h.body).toEqual(delivered.body);

    const after = (await notifyLines((l) => l.id === id)).slice(beforeRestart.length);
    expect(after.length).toBeGreaterThanOrEqual(1);
    expect(after.at(-1)).toMatchObject({
      outcome: 'sent',
      status: 200,
      target: TARGET,
      source: src,
      notification: 'down',
    });
    expect(after.at(-1)?.attempt as number).toBeGreaterThan(lastAttempt);
    expect(await metric('sent')).toBeGreaterThanOrEqual(1);
    expect(await sender(src)).toMatchObject({ state: 'down' });
    Object.assign(timings, {
      crashKillToFirstFailure: ms(failed.time) - kill.issuedAt,
      crashStartToDelivered: delivered.at - startIssuedAt,
      crashAttemptsBeforeKill: lastAttempt,
    });
  });
});
