/**
 * Issue 5, faults, against the real compose stack: the client killed with
 * SIGKILL mid-stream and started again, the beacon cut off its network for
 * several intervals and reconnected, and SIGTERM to each service. One
 * compose project, the checks in sequence.
 */

import { afterAll, describe, expect, it } from 'vitest';
import type { toApiSenderSummary } from '../../services/client/http/api.js';
import { type ComposeFixture, type LogRecord, upCompose } from '../support/compose.js';
import { transitions, untilLogged } from '../support/log-lines.js';
import { setUpSuite } from '../support/suite-setup.js';
import { eventually, untilDown, untilSender } from '../support/udp.js';

const INTERVAL_MS = 1000;
/** The default of DOWN_AFTER_MISSES: this file runs the compose defaults but for the interval. */
const DOWN_AFTER_MISSES = 3;
/** SIGTERM to exit, at most (issue 5); whole seconds, as `docker stop --time` takes them. */
const STOP_BUDGET_MS = 2000;

// What /api/senders lists (summaries; a sender of its own has its heartbeat bar too, unused here).
type ApiSender = ReturnType<typeof toApiSenderSummary>;

const ms = (iso: unknown) => Date.parse(String(iso));

describe('faults (issue 5): kill -9, network cut, SIGTERM', () => {
  let fx: ComposeFixture;
  let source: string;
  let serverId: string;
  const timings: Record<string, number> = {};

  const sender = async () => {
    const list = await fx.getJson<ApiSender[]>('/api/senders');
    const found = list.find((s) => s.source === source);
    if (found === undefined) throw new Error(`sender ${source} not tracked: ${JSON.stringify(list)}`);
    return found;
  };
  const senderUp = (minReceived = 2) =>
    eventually(
      async () => {
        const s = await sender();
        expect(s.state).toBe('up');
        expect(s.received).toBeGreaterThanOrEqual(minReceived);
        return s;
      },
      30_000,
      200,
    );
  const stateEvents = async (sinceMs: number) =>
    (await fx.logRecords('client')).filter(
      (l) => l.event === 'state' && l.source === source && ms(l.time) >= sinceMs,
    );

  setUpSuite(async () => {
    fx = await upCompose({
      environment: { BEACON_INTERVAL: '1s', MARK_INTERVAL: '1s' },
    });
    const server = await fx.inspect('server');
    source = server.Config.Hostname;
    serverId = server.Id;
  });
  afterAll(async () => {
    console.info(`faults timings (ms) and counts: ${JSON.stringify(timings)}`);
    await fx?.down();
  });

  it('kill -s KILL the client mid-stream, start it again: healthy, counting resumes, the server never crashed', async () => {
    const before = await senderUp(3);
    const serverBefore = await fx.inspect('server');
    const clientId = await fx.containerId('client');

    const killedAt = Date.now();
    await fx.docker('kill', '--signal', 'KILL', clientId);
    expect((await fx.inspect('client')).State).toMatchObject({ Status: 'exited', ExitCode: 137 });
    // The beacon meets the dead client (its name no longer resolves) and keeps going.
    await eventually(
      async () => {
        const errors = (await fx.logRecords('server')).filter(
          (l) => l.event === 'exception' && ms(l.time) >= killedAt,
        );
        expect(errors.length).toBeGreaterThanOrEqual(1);
      },
      10_000,
      200,
    );

    const startedAt = Date.now();
    await fx.docker('start', clientId);
    await fx.refreshClientUrl();
    await fx.waitHealthy('client', 1, 30_000);
    timings.clientStartToHealthy = Date.now() - startedAt;
    // Counting resumes: the restored record (its seq where the file had it) is not enough, a beat
    // sent after the restart must be tracked.
    const resumed = await eventually(
      async () => {
        const s = await senderUp(3);
        expect(s.lastSeq).toBeGreaterThan((before.lastSeq as number) + 2);
        return s;
      },
      30_000,
      200,
    );
    // A new process that remembers the sender (the state file): the same boot, its seq went on, and
    // the beats sent while the monitor itself was away are not charged as lost.
    expect(resumed).toMatchObject({ reason: 'first_beat', boot: before.boot, restarts: 0, lost: 0 });
    const health = await fetch(`${fx.clientUrl}/healthz`, { signal: AbortSignal.timeout(5000) });
    expect(health.status).toBe(200);

    const serverAfter = await fx.inspect('server');
    expect(serverAfter.State).toMatchObject({
      Status: 'running',
      StartedAt: serverBefore.State.StartedAt,
      Health: { Status: 'healthy' },
    });
    expect(serverAfter.RestartCount).toBe(0);
    const serverLog = await fx.logRecords('server');
    expect(serverLog.filter((l) => l.event === 'start').map((l) => l.boot)).toEqual([before.boot]);
    expect(serverLog.filter((l) => l.level === 'fatal' || l.level === 'error')).toEqual([]);
    expect((await fx.logRecords('client')).filter((l) => l.event === 'start')).toHaveLength(2);
  });

  it('network disconnect of the server for several intervals: late, then down; reconnect: up, lost = the beats missed (±1)', async () => {
    const before = await senderUp();
    const disconnectedAt = Date.now();
    await fx.docker('network', 'disconnect', fx.network, serverId);
    expect(await fx.ipAddress('server')).toBe('');

    const { firstSeen } = await untilDown(sender, 15_000);
    timings.disconnectToLate = (firstSeen.late ?? Number.NaN) - disconnectedAt;
    timings.disconnectToDown = (firstSeen.down ?? Number.NaN) - disconnectedAt;
    await untilLogged(
      () => stateEvents(disconnectedAt),
      (found) =>
        expect(transitions(found)).toEqual(['up->late:no_beat', `late->down:missed_${DOWN_AFTER_MISSES}`]),
    );

    // The seq the beacon's next beat will carry: every beat of the outage is below it.
    const probe = await fx.exec('server', [
      'node',
      '-e',
      "fetch('http://127.0.0.1:8081/healthz').then((r) => r.json()).then((j) => console.log(j.nextSeq))",
    ]);
    const nextSeq = Number(probe.trim());
    // The clock is read before the command: beats flow again while it is still
    // returning, and the `down->up` line can be written before it has returned.
    const reconnectedAt = Date.now();
    await fx.docker('network', 'connect', fx.network, serverId);
    timings.outage = reconnectedAt - disconnectedAt;
    const lastSeq = before.lastSeq as number;
    const window = Array.from({ length: nextSeq - lastSeq - 1 }, (_, i) => lastSeq + 1 + i);
    expect(window.length).toBeGreaterThanOrEqual(DOWN_AFTER_MISSES);

    // Wait until the beacon has settled the fate of every beat of the outage
    // (a `send` or an `exception` line) and the client has seen beats after it.
    // A `dns_error` that names an address is not a fate: the beat then went
    // to the name's last address, and its own send line follows.
    const isFate = (l: Record<string, unknown>) =>
      l.event === 'send' ||
      (l.event === 'exception' && !(l.reason === 'dns_error' && l.address !== undefined));
    const settled = await eventually(
      async () => {
        const fate = new Map<number, string>();
        for (const l of await fx.logRecords('server')) {
          const seq = l.seq as number;
          if (window.includes(seq) && isFate(l)) {
            expect(fate.has(seq), `seq ${seq} logged twice`).toBe(false);
            fate.set(seq, l.event === 'send' ? `sent ${String(l.time)}` : String(l.reason));
          }
        }
        expect(fate.size).toBe(window.length);
        const s = await sender();
        expect(s.state).toBe('up');
        expect(s.lastSeq).toBeGreaterThanOrEqual(nextSeq);
        return { fate, after: s };
      },
      30_000,
      250,
    );
    // Beats missed: those of the outage the client had not received when the reconnect began.
    const onTime = new Set(
      (await fx.logRecords('client'))
        .filter((l) => l.event === 'readable' && l.source === source && ms(l.time) < reconnectedAt)
        .map((l) => l.seq as number),
    );
    const missed = window.filter((seq) => !onTime.has(seq));
    const notSent = window.filter((seq) => !settled.fate.get(seq)?.startsWith('sent'));
    const lost = settled.after.lost - before.lost;
    const afterReconnect = await stateEvents(reconnectedAt);
    Object.assign(timings, {
      outageBeats: window.length,
      outageBeatsMissed: missed.length,
      outageBeatsNotSent: notSent.length,
      outageLostCounted: lost,
      reconnectToUp: ms(afterReconnect[0]?.time) - reconnectedAt,
      stateEventsAfterReconnect: afterReconnect.length,
    });
    const fates = Object.fromEntries(settled.fate);
    // The accounting: exactly the beats the beacon never sent are lost.
    expect.soft(Math.abs(lost - notSent.length), `lost ${lost}, not sent ${notSent}`).toBeLessThanOrEqual(1);
    // Issue 5: the beats missed while cut off are lost, not delivered late in a burst.
    expect
      .soft(Math.abs(lost - missed.length), `lost ${lost}, missed ${missed}: ${JSON.stringify(fates)}`)
      .toBeLessThanOrEqual(1);
    // Up again, once: no flapping while the backlog drains.
    expect.soft(transitions(afterReconnect)).toEqual(['down->up:beat']);

    // The beacon itself kept running and healthy through the outage.
    const server = await fx.inspect('server');
    expect(server.State).toMatchObject({
      Status: 'running',
      Health: { Status: 'healthy', FailingStreak: 0 },
    });
    expect(server.RestartCount).toBe(0);
  });

  /**
   * `docker stop --time 2`: Docker sends SIGTERM and, if the container has
   * not exited 2 s later by its own timer, SIGKILL (exit code 137). So exit
   * code 0 is Docker's word that the service exited within the budget of
   * issue 5, timed from the signal's delivery. A stopwatch here times the
   * daemon's bookkeeping too: on a busy CI machine Docker recorded the
   * server's exit 2.3 s after its `stop` line, with exit code 0, which the
   * service gives only when its stop ended inside its own 1.8 s limit (quiet
   * runs: 16-250 ms). That figure, `stop` line to Docker's FinishedAt, is
   * still printed beside the others.
   */
  const terminate = async (service: string) => {
    const id = await fx.containerId(service);
    const signalledAt = Date.now();
    await fx.docker('stop', '--time', String(STOP_BUDGET_MS / 1000), id);
    const { State } = await fx.inspect(service);
    expect(State.Status).toBe('exited');
    const lines = await fx.logRecords(service);
    const tookSignalAt = ms(lines.findLast((l) => l.event === 'stop')?.time);
    expect(tookSignalAt).toBeGreaterThanOrEqual(signalledAt - 1);
    return {
      exitCode: State.ExitCode,
      tookMs: ms(State.FinishedAt) - tookSignalAt,
      signalledAt,
      tookSignalAt,
      lines,
    };
  };

  /**
   * The last line a stopping service wrote is one `stopped` line, after its
   * one `stop` line. Judged by the lines' own `time`, not by their order in
   * the stream: the shutdown flush can write the last two lines swapped
   * (reported; see the report of this file's author).
   */
  const finalLine = (lines: LogRecord[], signalledAt: number) => {
    const since = lines.filter((l) => ms(l.time) >= signalledAt - 1);
    expect(since.filter((l) => l.event === 'stop')).toHaveLength(1);
    const stopped = since.filter((l) => l.event === 'stopped');
    expect(stopped).toHaveLength(1);
    const last = stopped[0] as LogRecord;
    expect(Math.max(...since.map((l) => ms(l.time)))).toBe(ms(last.time));
    expect(ms(last.time)).toBeGreaterThanOrEqual(ms(since.find((l) => l.event === 'stop')?.time));
    expect(last.durationMs).toBeLessThan(STOP_BUDGET_MS);
    return last;
  };

  it('SIGTERM to the server: exit 0 in under 2 s, a final `stopped` line, and its bye reaches the client', async () => {
    await senderUp();
    const { exitCode, tookMs, signalledAt, tookSignalAt, lines } = await terminate('server');
    timings.serverSigtermToExit = tookMs;
    expect(exitCode).toBe(0);
    const stop = lines.findLast((l) => l.event === 'stop');
    expect(stop).toMatchObject({ reason: 'SIGTERM', signal: 'SIGTERM' });
    const bye = lines.findLast((l) => l.event === 'send' && l.kind === 'bye');
    expect(bye).toBeDefined();
    timings.serverStoppedDurationMs = finalLine(lines, signalledAt).durationMs as number;

    const stopped = await untilSender(sender, { state: 'stopped', reason: 'bye' }, 5000);
    expect(stopped.lastSeq).toBe(bye?.seq);
    // From the server's taking the signal (its `stop` line), not from the docker command: the CLI's own
    // start-up is not the service's.
    expect(ms(stopped.stateSince) - tookSignalAt).toBeLessThan(INTERVAL_MS);
    const received = (await fx.logRecords('client')).filter(
      (l) => l.event === 'readable' && l.kind === 'bye' && l.source === source,
    );
    expect(received.map((l) => l.seq)).toEqual([bye?.seq]);
  });

  it('SIGTERM to the client: exit 0 in under 2 s and a final `stopped` line', async () => {
    const { exitCode, tookMs, signalledAt, lines } = await terminate('client');
    timings.clientSigtermToExit = tookMs;
    expect(exitCode).toBe(0);
    expect(lines.findLast((l) => l.event === 'stop')).toMatchObject({ reason: 'SIGTERM', signal: 'SIGTERM' });
    timings.clientStoppedDurationMs = finalLine(lines, signalledAt).durationMs as number;
  });
});
