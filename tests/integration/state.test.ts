/**
 * Issue 10, "A monitor you can rely on", against the real compose stack plus
 * a plain-text sender (tests/fixtures/text-sender.compose.yml): the state
 * file on the monitor-data volume carries senders, incidents and counters
 * across a restart, a SIGKILL and `compose down`; a restarted monitor never
 * marks a sender down at start; a declared sender that never shows up goes
 * down at its threshold; plain text is a sender like any other; a corrupt
 * state file stops start-up with one line and is left as it was.
 *
 * One compose project, the checks in sequence: each starts from the state
 * the previous one left (the last one breaks the state file on purpose).
 */
import { createSocket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { Status, toApiIncident, toApiSenderSummary } from '../../services/client/http/api.js';
import { LIVENESS_TICK_MS } from '../../services/client/monitor.js';
import { encodedBeat } from '../support/builders.js';
import { type ComposeFixture, type LogRecord, upCompose } from '../support/compose.js';
import { transitions, untilLogged } from '../support/log-lines.js';
import { setUpSuite } from '../support/suite-setup.js';
import { eventually, untilDown, untilSender } from '../support/udp.js';

// What /api/senders lists (summaries; a sender of its own has its heartbeat bar too, unused here).
type ApiSender = ReturnType<typeof toApiSenderSummary>;
type ApiIncident = ReturnType<typeof toApiIncident>;

/** BEACON_INTERVAL=1s; the plain-text sender's period too. */
const INTERVAL_MS = 1000;
/** LATE_GRACE=auto (compose default): max(1 s, interval / 2). */
const GRACE_MS = 1000;
/** DOWN_AFTER_MISSES (compose default). */
const DOWN_AFTER_MISSES = 3;
/** From the expected arrival (or a restarted monitor's start): late, then down. */
const LATE_AFTER_MS = INTERVAL_MS + GRACE_MS;
const DOWN_AFTER_MS = LATE_AFTER_MS + (DOWN_AFTER_MISSES - 1) * INTERVAL_MS;
/** The monitor evaluates liveness every 250 ms: a change is dated at its threshold and logged on the next tick. */
const TICK_MS = LIVENESS_TICK_MS;
/** A `state` line's time after its threshold, at most: one tick, plus scheduling slack. */
const LOG_TOLERANCE_MS = TICK_MS + 250;
/** A beat's delay over the best of its boot, on loopback between containers, at most. */
const JITTER_MS = 50;
/** What a client polling the API every POLL_MS sees after the threshold, at most: a tick, a poll, slack. */
const POLL_MS = 100;
const POLL_TOLERANCE_MS = TICK_MS + POLL_MS + 250;

/** A fixed beacon id (BEACON_SOURCE): the server keeps it when `compose down` recreates its container. */
const BEACON = 'beacon';
/**
 * Declared, never started: EXPECTED_SENDERS=ghost=2s/8s (a grace of 8 s, so that the first answer of a
 * fresh start, on a busy 2-core machine, comes well before its threshold).
 */
const GHOST = 'ghost';
const GHOST_INTERVAL_MS = 2000;
const GHOST_GRACE_MS = 8000;
const GHOST_DOWN_AFTER_MS = GHOST_INTERVAL_MS + GHOST_GRACE_MS;
const STATE_FILE = '/data/monitor.db';

/** The host-side load of the SIGKILL scenario: protocol beats to the published UDP port on 127.0.0.1. */
const LOAD_SOURCE = 'host-load';
const LOAD_EVERY_MS = 20;
const LOAD_PER_SECOND = 1000 / LOAD_EVERY_MS;
const LOAD_COUNT = 300;
const LOAD_MAX_MS = 10_000;

const ms = (iso: unknown) => Date.parse(String(iso));
const incidentText = (i: ApiIncident) => `${i.from}->${i.to}:${i.reason}`;

/**
 * Protocol beats from the host to 127.0.0.1:port (the monitor's published UDP
 * port), one every LOAD_EVERY_MS, bounded by LOAD_COUNT and LOAD_MAX_MS:
 * it stops by itself. `sentAt` holds each datagram's send time.
 */
function startLoad(port: number): { sentAt: number[]; done: Promise<void> } {
  const socket = createSocket('udp4');
  socket.on('error', () => {});
  const sentAt: number[] = [];
  const began = Date.now();
  const done = new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (sentAt.length >= LOAD_COUNT || Date.now() - began >= LOAD_MAX_MS) {
        clearInterval(timer);
        socket.close(() => resolve());
        return;
      }
      const seq = sentAt.length;
      sentAt.push(Date.now());
      const payload = encodedBeat(seq, { source: LOAD_SOURCE, boot: 'load-1', intervalMs: LOAD_EVERY_MS });
      socket.send(payload, port, '127.0.0.1', () => {});
    }, LOAD_EVERY_MS);
  });
  return { sentAt, done };
}

describe('the state file (issue 10): restarts, kills, compose down, declared and plain-text senders', () => {
  let fx: ComposeFixture;
  const timings: Record<string, number> = {};

  const senders = () => fx.getJson<ApiSender[]>('/api/senders');
  const sender = async (source: string) => {
    const list = await senders();
    const found = list.find((s) => s.source === source);
    if (found === undefined) throw new Error(`sender ${source} not listed: ${JSON.stringify(list)}`);
    return found;
  };
  const incidents = (source: string) =>
    fx.getJson<ApiIncident[]>(`/api/senders/${encodeURIComponent(source)}/incidents?limit=1000`);
  const status = () => fx.getJson<Status>('/api/status');

  /** Every log line of the service's container (all its runs), each checked against the log schema. */
  const validRecords = (service: string): Promise<LogRecord[]> => fx.logRecords(service);
  /** The lines of the container's current (or last) run: those written since it was last started. */
  const runRecords = async (service: string): Promise<LogRecord[]> => {
    const startedAt = ms((await fx.inspect(service)).State.StartedAt);
    return (await validRecords(service)).filter((l) => ms(l.time) >= startedAt);
  };
  const only = (lines: LogRecord[], event: string, extra: (l: LogRecord) => boolean = () => true) => {
    const found = lines.filter((l) => l.event === event && extra(l));
    expect(found, `one ${event} line`).toHaveLength(1);
    return found[0] as LogRecord;
  };
  const stateLines = (lines: LogRecord[], source: string) =>
    lines.filter((l) => l.event === 'state' && l.source === source);
  /** The monitor's published UDP port (it changes when the client container starts again). */
  const udpPort = async () =>
    Number((await fx.compose('port', '--protocol', 'udp', 'client', '5000')).trim().split(':').pop());

  setUpSuite(async () => {
    fx = await upCompose({
      environment: {
        BEACON_INTERVAL: '1s',
        BEACON_SOURCE: BEACON,
        EXPECTED_SENDERS: `${GHOST}=2s/8s`,
      },
      overrides: ['tests/fixtures/text-sender.compose.yml'],
    });
  });
  afterAll(async () => {
    console.info(`state timings (ms) and counts: ${JSON.stringify(timings)}`);
    await fx?.down();
  });

  it('plain text on the network: a sender of kind text keyed by its IP, `readable` text lines and no exception; killed: late, then down', async () => {
    const ip = await fx.ipAddress('texter');
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // Up from its first datagram; its interval is inferred once three gaps have arrived.
    const up = await eventually(
      async () => {
        const s = await sender(ip);
        expect(s).toMatchObject({ kind: 'text', state: 'up', declared: false, boot: null, lastSeq: null });
        expect(s.intervalMs).not.toBeNull();
        return s;
      },
      30_000,
      200,
    );
    expect(Math.abs((up.intervalMs as number) - INTERVAL_MS)).toBeLessThan(100);
    expect(up.received).toBeGreaterThanOrEqual(4);

    // What it sent is the asctime text, kept as text.
    const datagrams =
      await fx.getJson<Array<{ from: string; kind: string; text: string | null }>>('/api/datagrams?limit=50');
    const its = datagrams.filter((d) => d.from.startsWith(`${ip}:`));
    expect(its.length).toBeGreaterThanOrEqual(3);
    for (const d of its) {
      expect(d.kind).toBe('text');
      expect(d.text).toMatch(/^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$/);
    }

    const fromIp = (l: LogRecord) => l.from === ip || String(l.from).startsWith(`${ip}:`);
    const lines = await untilLogged(
      () => validRecords('client'),
      (all) => expect(all.filter(fromIp).length).toBeGreaterThanOrEqual(up.received),
    );
    const fromIt = lines.filter(fromIp);
    expect(fromIt.filter((l) => l.event !== 'readable')).toEqual([]);
    // 25 bytes: the 24 characters of asctime and its newline (the API shows the text without it).
    for (const l of fromIt)
      expect(l).toMatchObject({ event: 'readable', kind: 'text', source: ip, bytes: 25 });
    expect(lines.filter((l) => l.event === 'exception')).toEqual([]);
    expect(transitions(stateLines(lines, ip))).toEqual(['null->up:first_beat']);

    const killedAt = Date.now();
    await fx.compose('kill', 'texter');
    const { sender: down, firstSeen } = await untilDown(() => sender(ip), DOWN_AFTER_MS + 5000, POLL_MS);
    expect(down).toMatchObject({ kind: 'text', reason: `missed_${DOWN_AFTER_MISSES}` });
    const interval = down.intervalMs as number;
    // Dated at the thresholds: expected arrival (last arrival + interval) + grace, then N - 1 intervals on.
    const lateAt = ms(down.expectedAt) + GRACE_MS;
    const downAt = lateAt + (DOWN_AFTER_MISSES - 1) * interval;
    expect(ms(down.expectedAt) - ms(down.lastSeen)).toBe(interval);
    const [toDown, toLate] = await incidents(ip);
    expect([toDown, toLate].map((i) => i && incidentText(i))).toEqual([
      `late->down:missed_${DOWN_AFTER_MISSES}`,
      'up->late:no_beat',
    ]);
    expect([ms(toLate?.at), ms(toDown?.at)]).toEqual([lateAt, downAt]);

    const after = await untilLogged(
      async () => stateLines(await validRecords('client'), ip).filter((l) => ms(l.time) >= killedAt),
      (found) =>
        expect(transitions(found)).toEqual(['up->late:no_beat', `late->down:missed_${DOWN_AFTER_MISSES}`]),
    );
    const [lateLine, downLine] = after.map((l) => ms(l.time)) as [number, number];
    expect(lateLine - lateAt).toBeGreaterThanOrEqual(0);
    expect(lateLine - lateAt).toBeLessThanOrEqual(LOG_TOLERANCE_MS);
    expect(downLine - downAt).toBeGreaterThanOrEqual(0);
    expect(downLine - downAt).toBeLessThanOrEqual(LOG_TOLERANCE_MS);
    expect((firstSeen.down ?? Number.NaN) - downAt).toBeLessThanOrEqual(POLL_TOLERANCE_MS);
    Object.assign(timings, {
      textKillToLate: lateLine - killedAt,
      textKillToDown: downLine - killedAt,
      textLastSeenToDown: downLine - ms(down.lastSeen),
    });
  });

  it("docker kill the server, then stop and start the client: still listed, down once N of its beats the monitor's absence did not hide are missed, and not before bind + interval + grace (bind: its socket bound again, once the file is read); the gap is the monitor's downtime, left out of uptime", async () => {
    const before = await untilSender(() => sender(BEACON), { state: 'up' }, 20_000, 200);
    const listedBefore = (await senders()).map((s) => s.source).sort();
    const beaconIncidents = await incidents(BEACON);
    const firstUp = beaconIncidents.at(-1) as ApiIncident;
    expect(beaconIncidents.map(incidentText)).toEqual(['null->up:first_beat']);

    await fx.docker('kill', await fx.containerId('server'));
    const stopAt = Date.now();
    await fx.compose('stop', 'client');
    const stopReturnedAt = Date.now();
    // What the stopping monitor last knew of the beacon (up, or late already).
    const storedState = (stateLines(await validRecords('client'), BEACON).at(-1)?.to ?? 'none') as string;
    expect(['up', 'late']).toContain(storedState);
    // Away long enough that the beacon's own deadlines (last beat + 4 s) all pass meanwhile:
    // a monitor that judged it by them would mark it down at once.
    await sleep(DOWN_AFTER_MS);

    const startAt = Date.now();
    await fx.compose('start', 'client');
    await fx.refreshClientUrl();
    const first = await eventually(async () => ({ list: await senders(), at: Date.now() }), 20_000, 50);
    // Every sender is still listed, the beacon with the state it had: a restart never marks down at start.
    expect(first.list.map((s) => s.source).sort()).toEqual(listedBefore);
    const restored = first.list.find((s) => s.source === BEACON);
    expect(restored).toMatchObject({ state: storedState, firstSeen: before.firstSeen, boot: before.boot });
    expect(restored?.received).toBeGreaterThanOrEqual(before.received);
    const { sender: down, firstSeen: firstSeenState } = await untilDown(
      () => sender(BEACON),
      DOWN_AFTER_MS + 10_000,
      POLL_MS,
    );
    expect(down).toMatchObject({ reason: `missed_${DOWN_AFTER_MISSES}`, firstSeen: before.firstSeen });
    expect(down.received).toBeGreaterThanOrEqual(before.received);

    // The gap: from the stopping run's clean stop to this run's start.
    const { monitorDowntime, stateFile } = await status();
    expect(stateFile).toMatchObject({ path: STATE_FILE, failures: 0 });
    expect(stateFile.writes).toBeGreaterThan(0);
    expect(monitorDowntime).toHaveLength(1);
    const gap = monitorDowntime[0] as Status['monitorDowntime'][number];
    const [gapFrom, gapTo] = [ms(gap.from), ms(gap.to)];
    expect(gapFrom).toBeGreaterThanOrEqual(stopAt);
    expect(gapFrom).toBeLessThanOrEqual(stopReturnedAt);
    expect(gapTo).toBeGreaterThanOrEqual(startAt);
    expect(gapTo).toBeLessThanOrEqual(first.at);
    // `seconds` is rounded to a tenth: within half of one (50 ms) of the gap, compared in whole
    // milliseconds (in floating point seconds a gap of x.x50 s was 0.05000000000000071 away).
    expect(Math.abs(Math.round(gap.seconds * 1000) - (gapTo - gapFrom))).toBeLessThanOrEqual(50);

    const run = await runRecords('client');
    expect(only(run, 'state_file')).toMatchObject({
      file: STATE_FILE,
      senders: listedBefore.length,
      monitorDownMs: gapTo - gapFrom,
      cleanStop: true,
    });
    const ready = ms(only(run, 'listening', (l) => l.protocol === 'http').time);

    // This run's changes of the beacon. The file's watermark (the `state_file` line): every beat the
    // stopping run heard before it is in the file. The beacon's own deadline: its last beat + N missed
    // beats + grace (its last arrival, less a few ms of jitter over its best delay).
    const watermark = ms(only(run, 'state_file').recordedUntil);
    expect(watermark).toBeGreaterThanOrEqual(stopAt - INTERVAL_MS);
    expect(watermark).toBeLessThanOrEqual(stopReturnedAt);
    const ownDownAt = ms(restored?.lastSeen) + DOWN_AFTER_MS;
    const udpListening = ms(only(run, 'listening', (l) => l.protocol === 'udp').time);
    const afterRestart = await incidents(BEACON);
    const lines = stateLines(run, BEACON);
    const [downIncident] = afterRestart;
    expect(downIncident && incidentText(downIncident)).toMatch(/->down:missed_3$/);
    const downAt = ms(downIncident?.at);
    expect(downAt).toBeGreaterThanOrEqual(ownDownAt - JITTER_MS);
    let boundAt: number;
    if (downAt < gapTo) {
      // Due down while the stopping run still watched (its stop took that long after the kill): the
      // start marks it down at its first tick, dated at that deadline, before the restart.
      expect(ownDownAt - JITTER_MS).toBeLessThan(watermark);
      expect(downAt).toBeLessThanOrEqual(ownDownAt);
      expect(transitions(lines)).toEqual([`${storedState}->down:missed_${DOWN_AFTER_MISSES}`]);
      expect(ms(lines[0]?.time) - udpListening).toBeLessThanOrEqual(LOG_TOLERANCE_MS);
      boundAt = udpListening;
    } else {
      // Its beats due after the watermark (less the grace) were hidden by the monitor's absence: late
      // no earlier than the moment the socket was bound (after the start, gap.to, once the file is read;
      // at or before the UDP `listening` line) + interval + grace, down once N of its beats due since
      // are missed, + grace; so no later than N intervals + grace after it.
      const fresh = afterRestart.filter((i) => ms(i.at) >= gapTo);
      expect(fresh.map(incidentText)).toEqual(
        storedState === 'up'
          ? [`late->down:missed_${DOWN_AFTER_MISSES}`, 'up->late:no_beat']
          : [`late->down:missed_${DOWN_AFTER_MISSES}`],
      );
      boundAt = storedState === 'up' ? ms(fresh[1]?.at) - LATE_AFTER_MS : downAt - DOWN_AFTER_MS;
      if (storedState === 'up') {
        expect(boundAt).toBeGreaterThanOrEqual(gapTo);
        expect(boundAt).toBeLessThanOrEqual(udpListening);
      }
      expect(downAt).toBeGreaterThanOrEqual(gapTo + LATE_AFTER_MS);
      expect(downAt).toBeLessThanOrEqual(udpListening + DOWN_AFTER_MS + INTERVAL_MS);
      expect(transitions(lines)).toEqual(fresh.map(incidentText).reverse());
      for (const l of lines) expect(ms(l.time)).toBeGreaterThanOrEqual(gapTo + LATE_AFTER_MS);
    }
    const downLine = ms(lines.at(-1)?.time);
    expect(downLine - Math.max(downAt, udpListening)).toBeLessThanOrEqual(LOG_TOLERANCE_MS);
    // Counted from the client being ready again (its HTTP `listening` line, after its start).
    expect(downLine - ready).toBeLessThanOrEqual(DOWN_AFTER_MS + INTERVAL_MS + LOG_TOLERANCE_MS);
    expect((firstSeenState.down ?? Number.NaN) - ready).toBeLessThanOrEqual(
      DOWN_AFTER_MS + INTERVAL_MS + POLL_TOLERANCE_MS,
    );

    // Uptime over the last hour: available from its first beat to the gap and from the socket bound
    // again to `down` (late still counts as available), unavailable since; the gap itself and the
    // time the start took to read the file (until bound) are left out.
    await sleep(3000);
    const readFrom = Date.now();
    const { uptime } = await sender(BEACON);
    const readTo = Date.now();
    const available = gapFrom - ms(firstUp.at) + Math.max(0, downAt - boundAt);
    const percent = (a: number, u: number) => (a * 100) / (a + u);
    const lowest = percent(available, readTo - downAt);
    const highest = percent(available, readFrom - downAt);
    expect(uptime.h1).toBeGreaterThanOrEqual(lowest - 0.01);
    expect(uptime.h1).toBeLessThanOrEqual(highest + 0.01);
    Object.assign(timings, {
      monitorGap: gapTo - gapFrom,
      restartReadyToDown: downLine - ready,
      restartStartToDown: downLine - gapTo,
      uptimeH1: uptime.h1 as number,
      uptimeIfGapCountedUp: percent(available + gapTo - gapFrom, readFrom - downAt),
      uptimeIfGapCountedDown: percent(available, readFrom - downAt + gapTo - gapFrom),
    });
  });

  it('docker kill -s KILL the client under load, then docker compose start client: it reopens its file (cleanStop false) and its counters go on', async () => {
    await fx.compose('start', 'server');
    const server0 = await eventually(
      async () => {
        const s = await sender(BEACON);
        expect(s).toMatchObject({ state: 'up', reason: 'restart' });
        return s;
      },
      30_000,
      200,
    );
    const load = startLoad(await udpPort());
    try {
      await eventually(
        async () => expect((await sender(LOAD_SOURCE)).received).toBeGreaterThanOrEqual(LOAD_PER_SECOND),
        10_000,
        100,
      );
      // Read 1.5 s before the kill: what was counted then must survive it.
      const readAt = Date.now();
      const [server, loaded] = [await sender(BEACON), await sender(LOAD_SOURCE)];
      await sleep(1500);
      const killedAt = Date.now();
      await fx.docker('kill', '--signal', 'KILL', await fx.containerId('client'));
      // The process may still count and write while the kill command runs: the upper bounds
      // are read after it returns, the lower bounds before it was issued.
      const killReturnedAt = Date.now();
      const sentBeforeKill = load.sentAt.filter((t) => t <= killReturnedAt).length;
      expect((await fx.inspect('client')).State).toMatchObject({ Status: 'exited', ExitCode: 137 });
      await load.done;
      expect(load.sentAt.at(-1)).toBeGreaterThan(killReturnedAt);

      const startAt = Date.now();
      await fx.compose('start', 'client');
      await fx.refreshClientUrl();
      await fx.waitHealthy('client', 1, 30_000);
      timings.sigkillStartToHealthy = Date.now() - startAt;

      const run = await runRecords('client');
      expect(only(run, 'state_file')).toMatchObject({ file: STATE_FILE, cleanStop: false });
      const opened = only(run, 'state_file');
      expect(opened.senders).toBeGreaterThanOrEqual(2);
      expect(opened.monitorDownMs).toBeGreaterThan(0);

      const loadAfter = await sender(LOAD_SOURCE);
      const serverAfter = await sender(BEACON);
      // At most about a second of counts is lost with the process (the file is written once a second).
      expect(loadAfter.received).toBeGreaterThanOrEqual(loaded.received - LOAD_PER_SECOND);
      expect(loadAfter.received).toBeLessThanOrEqual(sentBeforeKill);
      expect(loadAfter.firstSeen).toBe(loaded.firstSeen);
      expect(serverAfter.received).toBeGreaterThanOrEqual(server.received - 1);
      expect(serverAfter).toMatchObject({
        firstSeen: server0.firstSeen,
        boot: server.boot,
        restarts: server.restarts,
      });
      expect(serverAfter.lastSeq as number).toBeGreaterThanOrEqual(server.lastSeq as number);

      // The gap: from the killed run's last write (at most a second before the kill) to this start.
      const [gap] = (await status()).monitorDowntime;
      expect(ms(gap?.from)).toBeGreaterThanOrEqual(killedAt - 1500);
      expect(ms(gap?.from)).toBeLessThanOrEqual(killReturnedAt);
      expect(ms(gap?.to)).toBeGreaterThanOrEqual(startAt);
      expect(opened.monitorDownMs).toBe(ms(gap?.to) - ms(gap?.from));
      Object.assign(timings, {
        loadReadBeforeKill: loaded.received,
        loadSentBeforeKill: sentBeforeKill,
        loadRestored: loadAfter.received,
        loadSentTotal: load.sentAt.length,
        sigkillLastWriteBeforeKill: killedAt - ms(gap?.from),
        sigkillReadToKill: killedAt - readAt,
      });
    } finally {
      await load.done;
    }
  });

  it("docker compose down, then up: the beacon's incidents, received count and first seen carry on; down -v, then up: it starts empty", async () => {
    const before = await untilSender(() => sender(BEACON), { state: 'up' }, 20_000, 200);
    const history = await incidents(BEACON);
    expect(history.length).toBeGreaterThanOrEqual(3);

    const downAt = Date.now();
    await fx.compose('down', '--timeout', '3');
    const upAt = Date.now();
    await fx.compose('up', '--detach', '--no-build', '--wait', '--wait-timeout', '60');
    const upReturnedAt = Date.now();
    await fx.refreshClientUrl();
    timings.composeDownUp = upReturnedAt - downAt;

    // A new container: its log is this run's only.
    const run = await validRecords('client');
    const opened = only(run, 'state_file');
    expect(opened).toMatchObject({ file: STATE_FILE, cleanStop: true });
    expect(opened.senders).toBeGreaterThanOrEqual(3);
    const after = await eventually(
      async () => {
        const s = await sender(BEACON);
        expect(s).toMatchObject({ state: 'up', reason: 'restart' });
        expect(s.received).toBeGreaterThan(before.received);
        return s;
      },
      30_000,
      200,
    );
    // A new container, a new boot of the same beacon: one more restart, the rest carries on.
    expect(after).toMatchObject({ firstSeen: before.firstSeen, restarts: before.restarts + 1 });
    expect(after.boot).not.toBe(before.boot);
    const historyAfter = await incidents(BEACON);
    expect(historyAfter.slice(historyAfter.length - history.length)).toEqual(history);
    const [gap] = (await status()).monitorDowntime;
    expect(ms(gap?.from)).toBeGreaterThanOrEqual(downAt);
    expect(ms(gap?.from)).toBeLessThanOrEqual(upAt);
    expect(ms(gap?.to)).toBeGreaterThanOrEqual(upAt);
    expect(ms(gap?.to)).toBeLessThanOrEqual(upReturnedAt);

    // The volume removed: nothing carries on.
    await fx.compose('down', '--volumes', '--timeout', '3');
    const freshAt = Date.now();
    await fx.compose('up', '--detach', '--no-build', '--wait', '--wait-timeout', '60');
    await fx.refreshClientUrl();
    expect(only(await validRecords('client'), 'state_file')).toMatchObject({
      file: STATE_FILE,
      senders: 0,
      monitorDownMs: null,
      cleanStop: null,
    });
    const empty = await status();
    expect(empty.monitorDowntime).toEqual([]);
    expect(ms(empty.startedAt)).toBeGreaterThanOrEqual(freshAt);
    const anew = await eventually(
      async () => {
        const s = await sender(BEACON);
        expect(s).toMatchObject({ state: 'up', reason: 'first_beat', restarts: 0 });
        return s;
      },
      30_000,
      200,
    );
    expect(ms(anew.firstSeen)).toBeGreaterThanOrEqual(freshAt);
    expect(anew.received).toBeLessThan(before.received);
    const newHistory = await incidents(BEACON);
    expect(newHistory.map(incidentText)).toEqual(['null->up:first_beat']);
    expect((await senders()).map((s) => s.source)).not.toContain(LOAD_SOURCE);
  });

  it('a declared sender that never starts (EXPECTED_SENDERS=ghost=2s/8s): pending from the start, down (never_seen) at interval + grace after the socket is bound', async () => {
    // A fresh start, so the first answer of the API comes before the ghost's threshold.
    await fx.compose('down', '--volumes', '--timeout', '3');
    await fx.compose('up', '--detach', '--no-build');
    await fx.refreshClientUrl();
    const first = await eventually(async () => ({ ghost: await sender(GHOST), at: Date.now() }), 20_000, 50);
    const startedAt = ms((await status()).startedAt);
    expect(first.at - startedAt).toBeLessThan(GHOST_DOWN_AFTER_MS);
    expect(first.ghost).toMatchObject({
      kind: 'protocol',
      declared: true,
      displayName: null,
      state: 'pending',
      intervalMs: GHOST_INTERVAL_MS,
      firstSeen: null,
      received: 0,
    });
    timings.ghostFirstAnswerAfterStart = first.at - startedAt;

    const down = await eventually(
      async () => {
        const s = await sender(GHOST);
        expect(s.state).toBe('down');
        return s;
      },
      GHOST_DOWN_AFTER_MS + 10_000,
      POLL_MS,
    );
    expect(down).toMatchObject({ reason: 'never_seen', firstSeen: null });
    const downAt = ms(down.stateSince);
    expect((await incidents(GHOST)).map((i) => ({ text: incidentText(i), at: ms(i.at) }))).toEqual([
      { text: 'pending->down:never_seen', at: downAt },
    ]);

    // The API shows the change before docker's log may have its line: wait for the line.
    const run = await untilLogged(
      () => validRecords('client'),
      (all) => expect(all.filter((l) => l.event === 'state' && l.source === GHOST)).toHaveLength(1),
    );
    // Dated at the threshold: interval + grace after the socket was bound (the UDP `listening` line comes
    // right after), which is after the monitor's start (reading the state file came between).
    const udpListening = ms(only(run, 'listening', (l) => l.protocol === 'udp').time);
    expect(downAt).toBeGreaterThanOrEqual(startedAt + GHOST_DOWN_AFTER_MS);
    expect(downAt).toBeLessThanOrEqual(udpListening + GHOST_DOWN_AFTER_MS);
    const line = only(run, 'state', (l) => l.source === GHOST);
    expect(transitions([line])).toEqual(['pending->down:never_seen']);
    // The `start` line is written before the monitor's start, the HTTP `listening` line after it.
    const startLine = ms(only(run, 'start').time);
    const stateFileLine = ms(only(run, 'state_file').time);
    const ready = ms(only(run, 'listening', (l) => l.protocol === 'http').time);
    expect(ms(line.time) - startLine).toBeGreaterThanOrEqual(GHOST_DOWN_AFTER_MS);
    expect(ms(line.time) - ready).toBeLessThanOrEqual(GHOST_DOWN_AFTER_MS + LOG_TOLERANCE_MS);
    Object.assign(timings, {
      ghostDownAfterStartLine: ms(line.time) - startLine,
      ghostDownAfterStateFileLine: ms(line.time) - stateFileLine,
      ghostDownAfterReady: ms(line.time) - ready,
    });
  });

  it('a corrupt state file stops start-up: exit code 1, one state_file_error line naming the file, and the file left as it was', async () => {
    const garbage = 'garbage: this is not a SQLite database\n';
    const inVolume = (script: string) =>
      fx.compose('run', '--rm', '--no-deps', '--entrypoint', 'node', 'client', '-e', script);
    const listing =
      "const fs = require('node:fs');" +
      "console.log(JSON.stringify({ files: fs.readdirSync('/data').sort().map((f) => [f, fs.statSync('/data/' + f).size])," +
      ` content: fs.readFileSync('${STATE_FILE}', 'utf8') }));`;

    await fx.compose('stop', 'client');
    const written = JSON.parse(
      await inVolume(
        `require('node:fs').writeFileSync('${STATE_FILE}', ${JSON.stringify(garbage)}); ${listing}`,
      ),
    ) as { files: Array<[string, number]>; content: string };
    expect(written.content).toBe(garbage);

    const startAt = Date.now();
    await fx.compose('start', 'client');
    const state = await eventually(
      async () => {
        const { State } = await fx.inspect('client');
        expect(State.Status).toBe('exited');
        return State;
      },
      20_000,
      100,
    );
    timings.corruptStartToExit = ms(state.FinishedAt) - startAt;
    expect(state.ExitCode).toBe(1);

    const run = await runRecords('client');
    const error = only(run, 'state_file_error');
    expect(error).toMatchObject({ level: 'fatal', file: STATE_FILE });
    expect(error.msg).toContain(`state file ${STATE_FILE} is unreadable (`);
    expect(error.msg).toContain(`To start afresh, move it away (mv ${STATE_FILE} `);
    expect(run.filter((l) => l.event === 'listening' || l.event === 'fatal')).toEqual([]);
    // The last line it wrote, judged by the lines' own time: the `start` line, written
    // through the buffered logger, can reach the stream after this synchronous one.
    expect(Math.max(...run.map((l) => ms(l.time)))).toBe(ms(error.time));

    // Left as it was: the same files, the garbage still in it.
    expect(JSON.parse(await inVolume(listing))).toEqual(written);
  });
});
