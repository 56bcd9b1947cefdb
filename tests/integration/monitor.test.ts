/**
 * Issue 3, the monitor's semantics, against the real compose stack: a
 * graceful stop is `stopped` (the beacon's bye), a crash goes `late` then
 * `down` at the configured thresholds, a restart is counted without charging
 * loss, scaled-out beacons are tracked apart, both /metrics pass promtool,
 * and a bad query is a 400 naming the parameter. One compose project, the
 * checks in sequence: each step starts from the state the previous one left.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import type { toApiSenderSummary } from '../../services/client/http/api.js';
import { LIVENESS_TICK_MS } from '../../services/client/monitor.js';
import { type ComposeFixture, type LogRecord, upCompose } from '../support/compose.js';
import { transitions, untilLogged } from '../support/log-lines.js';
import { setUpSuite } from '../support/suite-setup.js';
import { eventually, untilDown, untilSender } from '../support/udp.js';

const INTERVAL_MS = 1000;
const LATE_GRACE_MS = 1000;
const DOWN_AFTER_MISSES = 2;
/** After the last beat's send time: `late`, then `down` (tracker.ts liveness). */
const LATE_AFTER_MS = INTERVAL_MS + LATE_GRACE_MS;
const DOWN_AFTER_MS = LATE_AFTER_MS + (DOWN_AFTER_MISSES - 1) * INTERVAL_MS;
/** How long after a threshold its state line may be written: a liveness tick, and a loaded machine's delay. */
const LOG_TOLERANCE_MS = LIVENESS_TICK_MS + 500;
/** untilDown()'s poll step on top of it. */
const POLL_TOLERANCE_MS = LOG_TOLERANCE_MS + 100;

// What /api/senders lists (summaries; a sender of its own has its heartbeat bar too, unused here).
type ApiSender = ReturnType<typeof toApiSenderSummary>;

const ms = (iso: unknown) => Date.parse(String(iso));

/** Pipes text to `promtool check metrics`; its exit code and output. */
async function promtool(text: string): Promise<{ code: number | null; output: string }> {
  const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  child.stdin.end(text);
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, output };
}

describe('monitor semantics (issue 3): docker compose stop, kill, start, scale', () => {
  let fx: ComposeFixture;
  /** The first beacon's sender id: its container's host name (BEACON_SOURCE is empty). */
  let source: string;
  const timings: Record<string, number> = {};

  const sender = async (src = source) => {
    const list = await fx.getJson<ApiSender[]>('/api/senders');
    const found = list.find((s) => s.source === src);
    if (found === undefined) throw new Error(`sender ${src} not tracked: ${JSON.stringify(list)}`);
    return found;
  };
  /** `state` log events of the client for one sender, logged at or after `sinceMs`. */
  const stateEvents = async (src: string, sinceMs = 0): Promise<LogRecord[]> =>
    (await fx.logRecords('client')).filter(
      (l) => l.event === 'state' && l.source === src && ms(l.time) >= sinceMs,
    );

  setUpSuite(async () => {
    fx = await upCompose({
      environment: {
        BEACON_INTERVAL: '1s',
        MARK_INTERVAL: '1s',
        LATE_GRACE: '1s',
        DOWN_AFTER_MISSES: String(DOWN_AFTER_MISSES),
      },
    });
    source = (await fx.inspect('server')).Config.Hostname;
  });
  afterAll(async () => {
    console.info(`monitor timings (ms): ${JSON.stringify(timings)}`);
    await fx?.down();
  });

  it('tracks the beacon as up, with the thresholds compose configured', async () => {
    const s = await eventually(
      async () => {
        const s = await sender();
        expect(s).toMatchObject({ state: 'up', reason: 'first_beat', restarts: 0, lost: 0 });
        expect(s.received).toBeGreaterThanOrEqual(2);
        return s;
      },
      20_000,
      200,
    );
    expect(s.lastSeq).toBeGreaterThanOrEqual(1);
    const start = (await fx.logRecords('client')).find((l) => l.event === 'start');
    expect(start?.config).toMatchObject({ lateGraceMs: LATE_GRACE_MS, downAfterMisses: DOWN_AFTER_MISSES });
    expect(transitions(await stateEvents(source))).toEqual(['null->up:first_beat']);
  });

  it('answers a bad query with a 400 naming the parameter', async () => {
    const cases: Array<[string, string]> = [
      ['/api/datagrams?limit=abc', 'limit'],
      ['/api/datagrams?limit=0', 'limit'],
      ['/api/datagrams?limit=100000000', 'limit'],
      ['/api/datagrams?bogus=1', 'bogus'],
      [`/api/senders/${'x'.repeat(65)}`, 'source'],
    ];
    for (const [path, parameter] of cases) {
      const res = await fetch(fx.clientUrl + path, { signal: AbortSignal.timeout(5000) });
      const body = (await res.json()) as { error: string; parameter?: string; message: string };
      expect({ path, status: res.status, error: body.error, parameter: body.parameter }).toEqual({
        path,
        status: 400,
        error: 'bad_request',
        parameter,
      });
      expect(body.message).toContain(parameter);
    }
    const ok = await fetch(`${fx.clientUrl}/api/datagrams?limit=5`, { signal: AbortSignal.timeout(5000) });
    expect(ok.status).toBe(200);
  });

  it('docker kill: the sender goes late, then down, at the configured thresholds', async () => {
    const before = await sender();
    const killedAt = Date.now();
    await fx.docker('kill', await fx.containerId('server'));

    // Poll the API (it shows the state the latest liveness tick judged) and note when each state is first seen.
    const { firstSeen } = await untilDown(sender, DOWN_AFTER_MS + 5 * INTERVAL_MS);
    const after = await sender();
    expect(after).toMatchObject({ reason: `missed_${DOWN_AFTER_MISSES}`, lost: before.lost, restarts: 0 });
    expect((await fx.inspect('server')).State).toMatchObject({ Status: 'exited', ExitCode: 137 });

    // The thresholds count from the send time of the last beat that arrived
    // (the client's `readable` line; the killed beacon may not have flushed its last lines).
    const lastBeat = (await fx.logRecords('client')).find(
      (l) => l.event === 'readable' && l.source === source && l.seq === after.lastSeq,
    );
    const lastBeatMs = ms(lastBeat?.sentAt);
    expect(Math.abs(ms(after.expectedAt) - lastBeatMs - INTERVAL_MS)).toBeLessThan(50);

    const events = await untilLogged(
      () => stateEvents(source, killedAt),
      (found) =>
        expect(transitions(found)).toEqual(['up->late:no_beat', `late->down:missed_${DOWN_AFTER_MISSES}`]),
    );
    const [late, down] = events.map((e) => ms(e.time)) as [number, number];
    timings.killToLate = late - killedAt;
    timings.lastBeatToLate = late - lastBeatMs;
    timings.killToDown = down - killedAt;
    timings.lastBeatToDown = down - lastBeatMs;
    // Never before the thresholds (expected arrival + grace, then N - 1 intervals on), and at the first
    // liveness tick after them, in the log and in what a client of the API saw. Nor before the thresholds
    // counted from the last beat's send time, a bound the monitor's own figures do not make: its least
    // delay is never below 0 (one clock, the host's).
    const lateAt = ms(after.expectedAt) + LATE_GRACE_MS;
    const downAt = lateAt + (DOWN_AFTER_MISSES - 1) * INTERVAL_MS;
    for (const [seen, due, fromLastBeat, tolerance] of [
      [late, lateAt, LATE_AFTER_MS, LOG_TOLERANCE_MS],
      [down, downAt, DOWN_AFTER_MS, LOG_TOLERANCE_MS],
      [firstSeen.late ?? Number.NaN, lateAt, LATE_AFTER_MS, POLL_TOLERANCE_MS],
      [firstSeen.down ?? Number.NaN, downAt, DOWN_AFTER_MS, POLL_TOLERANCE_MS],
    ] as const) {
      expect(seen - due).toBeGreaterThanOrEqual(0);
      expect(seen - (lastBeatMs + fromLastBeat)).toBeGreaterThanOrEqual(0);
      expect(seen - due).toBeLessThanOrEqual(tolerance);
    }
  });

  it('started again: up, one restart counted, no loss charged across the restart', async () => {
    const before = await sender();
    expect(before.state).toBe('down');
    const startedAt = Date.now();
    await fx.compose('start', 'server');
    const after = await eventually(
      async () => {
        const s = await sender();
        expect(s).toMatchObject({ state: 'up', reason: 'restart', restarts: 1 });
        // A few beats of the new boot, so a wrongly charged gap would show.
        expect(s.received).toBeGreaterThanOrEqual(before.received + 3);
        return s;
      },
      30_000,
      200,
    );
    expect(after.boot).not.toBe(before.boot);
    expect(after.lost).toBe(before.lost);
    timings.startToUp = ms(after.stateSince) - startedAt;

    const records = await fx.logRecords('client');
    const restarts = records.filter((l) => l.event === 'restart' && l.source === source);
    expect(restarts.map((l) => l.boot)).toEqual([after.boot]);
    expect(transitions(await stateEvents(source, startedAt))).toEqual(['down->up:restart']);
  });

  it('docker compose stop: stopped (the bye) within one interval, and never late or down after it', async () => {
    await eventually(async () => expect((await sender()).state).toBe('up'), 10_000, 100);
    const stopAt = Date.now();
    await fx.compose('stop', 'server');
    timings.composeStopCommand = Date.now() - stopAt;
    const stopped = await untilSender(() => sender(), { state: 'stopped', reason: 'bye' }, 10_000);
    timings.stopToStopped = ms(stopped.stateSince) - stopAt;
    // The bye within an interval of the server's taking the signal (its `stop` line), not of the compose
    // command, whose own start-up is not the service's.
    const tookSignalAt = ms((await fx.logRecords('server')).findLast((l) => l.event === 'stop')?.time);
    expect(tookSignalAt).toBeGreaterThanOrEqual(stopAt - 1);
    expect(ms(stopped.stateSince) - tookSignalAt).toBeLessThan(INTERVAL_MS);
    expect((await fx.inspect('server')).State).toMatchObject({ Status: 'exited', ExitCode: 0 });
    expect(transitions(await stateEvents(source, stopAt))).toEqual(['up->stopped:bye']);

    // Absence can only be shown by letting the time pass: wait out the `down`
    // threshold counted from the bye (plus two liveness ticks), then look again.
    // A stopped sender expects nothing (expectedAt null): the threshold is the
    // one its next beat would have had, counted from the bye's arrival.
    expect(stopped.expectedAt).toBeNull();
    const downThreshold =
      ms(stopped.lastSeen) + INTERVAL_MS + LATE_GRACE_MS + (DOWN_AFTER_MISSES - 1) * INTERVAL_MS;
    expect(Number.isFinite(downThreshold)).toBe(true);
    await new Promise((r) => setTimeout(r, Math.max(0, downThreshold + 500 - Date.now())));
    expect(await sender()).toMatchObject({ state: 'stopped', reason: 'bye', lost: stopped.lost });
    expect(transitions(await stateEvents(source, stopAt))).toEqual(['up->stopped:bye']);
  });

  it('--scale server=3: three senders tracked, all up', async () => {
    const scaledAt = Date.now();
    await fx.compose(
      'up',
      '--detach',
      '--no-build',
      '--no-recreate',
      '--scale',
      'server=3',
      '--wait',
      '--wait-timeout',
      '60',
      'server',
    );
    const sources = await Promise.all(
      [1, 2, 3].map(async (i) => (await fx.inspect('server', i)).Config.Hostname),
    );
    expect(sources[0]).toBe(source);
    const all = await eventually(
      async () => {
        const list = await fx.getJson<ApiSender[]>('/api/senders');
        expect(list.map((s) => s.source).sort()).toEqual([...sources].sort());
        expect(list.map((s) => s.state)).toEqual(['up', 'up', 'up']);
        return list;
      },
      30_000,
      200,
    );
    for (const s of all) expect(s.lost).toBe(0);
    expect(all.find((s) => s.source === source)?.restarts).toBe(2);
    expect(transitions(await stateEvents(source, scaledAt))).toEqual(['stopped->up:restart']);
    for (const added of sources.slice(1)) {
      expect(transitions(await stateEvents(added as string))).toEqual(['null->up:first_beat']);
    }
  });

  it("the client's and every beacon's live /metrics pass promtool check metrics", async () => {
    const clientText = await (
      await fetch(`${fx.clientUrl}/metrics`, { signal: AbortSignal.timeout(5000) })
    ).text();
    for (const i of [1, 2, 3]) {
      const src = (await fx.inspect('server', i)).Config.Hostname;
      expect(clientText).toContain(`udp_monitor_sender_state{source="${src}",state="up"} 1`);
    }
    expect(clientText).toContain('udp_monitor_senders{state="up"} 3');
    const checks = [{ what: 'client', ...(await promtool(clientText)) }];
    for (const i of [1, 2, 3]) {
      const url = `http://${await fx.ipAddress('server', i)}:8081/metrics`;
      const text = await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text();
      expect(text).toMatch(/beacon_datagrams_sent_total\{[^}]*kind="beat"[^}]*\} [1-9]/);
      checks.push({ what: `server-${i}`, ...(await promtool(text)) });
    }
    expect(checks).toEqual(checks.map(({ what }) => ({ what, code: 0, output: '' })));
  });
});
