/**
 * The notifier's decisions on a fake clock, against a real state file (its
 * outbox and `notified` table) and real HTTP receivers: what a silence holds
 * back and catches up, what a restart must neither repeat nor forget, a
 * receiver's Retry-After, and what Alertmanager is sent around silences and
 * evictions. Webhooks go to a port nobody listens on unless a test says
 * otherwise, so the outbox keeps every row to read.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHttpClient, type HttpClient } from '../../services/client/notify/http-client.js';
import {
  FINISHED_KEPT_AT_LEAST,
  MAX_RESOLVED_ALERTS,
  type Notifier,
  type NotifierConfig,
  startNotifier,
} from '../../services/client/notify/notifier.js';
import { queueKey } from '../../services/client/notify/queues.js';
import { MIGRATIONS } from '../../services/client/store/schema.js';
import { openStateFile, STATE_FILE_NAME, type StateFile } from '../../services/client/store/state-file.js';
import { createWriteFailures, type WriteFailures } from '../../services/client/store/write-failures.js';
import type { SenderState, SenderView, StateChange } from '../../services/client/tracking/tracker.js';
import { dnsStub, lookupVia } from '../support/dns-stub.js';
import { startForwardProxy } from '../support/forward-proxy.js';
import { captureLogs } from '../support/log-capture.js';
import { freshDataDir } from '../support/monitor.js';

const T0 = Date.parse('2026-12-05T06:00:00Z');
// Every line the notifier writes is checked against the log schema (after each test).
const logger = captureLogs('client', 'debug').logger;
const nowhere = { url: new URL('http://127.0.0.1:9/hook'), label: 'http://127.0.0.1:9' };

/** NOTIFY_ON as the configuration's default has it. */
const TOLD_BY_DEFAULT: NotifierConfig['notifyOn'] = ['down', 'never_seen', 'up'];
/** NOTIFY_ON with a late and a stopped told too. */
const TOLD_LATE_AND_STOPPED: NotifierConfig['notifyOn'] = ['down', 'up', 'late', 'stopped'];

const config = (over: Partial<NotifierConfig> = {}): NotifierConfig => ({
  webhooks: [nowhere],
  alertmanagers: [],
  notifyOn: TOLD_BY_DEFAULT,
  repeatMs: null,
  maxAgeMs: 86_400_000,
  timeoutMs: 500,
  queueMax: 10_000,
  alertResendMs: 60_000,
  flapThreshold: 3,
  flapWindowMs: 10_000,
  maxSenders: 1000,
  monitor: 'm',
  alertMonitor: 'm',
  statusUrl: 'http://m',
  userAgent: 'test',
  proxyUrl: null,
  ...over,
});

/** A receiver that records each body and answers `status` (and `headers`), as a test sets them. */
async function receiver() {
  const bodies: unknown[] = [];
  const answer = { status: 200, headers: {} as Record<string, string>, delayMs: 0 };
  const load = { inFlight: 0, maxInFlight: 0 };
  const server: Server = createServer((req, res) => {
    load.inFlight++;
    load.maxInFlight = Math.max(load.maxInFlight, load.inFlight);
    res.on('close', () => load.inFlight--);
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      bodies.push(JSON.parse(body));
      setTimeout(() => res.writeHead(answer.status, answer.headers).end(), answer.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    target: { url: new URL(`http://127.0.0.1:${port}/`), label: `http://127.0.0.1:${port}` },
    bodies,
    answer,
    load,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe('the notifier, on a fake clock', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A world of senders (their views), silences (a flag per sender) and one state file. */
  function world(dataDir = freshDataDir()) {
    let file: StateFile = openStateFile(dataDir);
    file.beginRun(T0);
    const w = {
      t: T0,
      views: new Map<string, SenderView>(),
      silenced: new Set<string>(),
      generation: 0,
      /** Senders this run has not heard yet, and when they will have shown themselves (Tracker.showsByMs). */
      showsBy: new Map<string, number>(),
      /** How far the monitor has read and judged, when behind the clock (null: up to it). */
      heard: null as number | null,
      notifier: null as Notifier | null,
      start(over: Partial<NotifierConfig> = {}, http?: HttpClient): Notifier {
        const n = startNotifier({
          ...(http === undefined ? {} : { http }),
          db: file.db,
          config: config(over),
          logger,
          now: () => w.t,
          view: (source) => w.views.get(source),
          views: () => [...w.views.values()],
          silenced: (source) => w.silenced.has(source),
          silencesGeneration: () => w.generation,
          showsBy: (source) => w.showsBy.get(source) ?? null,
          heardThrough: () => w.heard ?? w.t,
          previousRunAliveMs: file.previousRun?.aliveAtMs ?? null,
          writeFailures,
        });
        w.notifier = n;
        return n;
      },
      /** The monitor stops (its notifier and file) and starts again on the same file, `awayMs` later. */
      async restart(over: Partial<NotifierConfig> = {}, awayMs = 0): Promise<Notifier> {
        await w.notifier?.stop();
        file.close(w.t);
        w.t += awayMs;
        file = openStateFile(dataDir);
        file.beginRun(w.t);
        return w.start(over);
      },
      silence(source: string, on: boolean) {
        if (on) w.silenced.add(source);
        else w.silenced.delete(source);
        w.generation++;
      },
      /** The sender is now `to`; the notifier hears of the change. */
      change(source: string, to: SenderState, from: SenderState | null = w.views.get(source)?.state ?? null) {
        const reason =
          to === 'down' ? 'missed_3' : to === 'up' ? 'beat' : to === 'stopped' ? 'bye' : 'no_beat';
        const previous = w.views.get(source);
        w.views.set(source, {
          ...(previous ?? { boot: 'b1', lastSeq: 7, displayName: null, maintenance: false }),
          source,
          state: to,
          reason,
          stateSinceMs: w.t,
        } as SenderView);
        const c: StateChange = { source, from, to, reason, atMs: w.t };
        w.notifier?.changes([c]);
      },
      /** A beat came: the sender's last seq one on (a later problem is a new incident). */
      beatAgain(source: string) {
        const v = w.views.get(source) as SenderView;
        w.views.set(source, { ...v, lastSeq: (v.lastSeq ?? 0) + 1 });
      },
      /** The sender changes to each state in turn, 100 ms apart, a beat coming before each up. */
      flap(source: string, tos: readonly SenderState[]) {
        for (const to of tos) {
          w.t += 100;
          if (to === 'up') w.beatAgain(source);
          w.change(source, to);
        }
      },
      /** The liveness clock's once-a-second work, for `seconds`. */
      tick(seconds: number) {
        for (let i = 0; i < seconds; i++) {
          w.t += 1000;
          w.notifier?.tick(w.t);
        }
      },
      told(source: string): Array<{ event: string; incidentKey: string; id: string }> {
        return file.db
          .prepare('SELECT id, event, body FROM outbox WHERE source = ? ORDER BY seq')
          .all(source)
          .map((r) => ({
            id: String(r.id),
            event: String(r.event),
            incidentKey: (JSON.parse(String(r.body)) as { incidentKey: string }).incidentKey,
          }));
      },
      /** The bodies told of `source`, in order. */
      bodies(source: string): Array<Record<string, unknown>> {
        return file.db
          .prepare('SELECT body FROM outbox WHERE source = ? ORDER BY seq')
          .all(source)
          .map((r) => JSON.parse(String(r.body)) as Record<string, unknown>);
      },
      get db() {
        return file.db;
      },
      /** Writes the state file refused so far. */
      get refusedWrites(): number {
        return writeFailures.count;
      },
    };
    /** The writes the state file refused, counted. */
    const writeFailures: WriteFailures = createWriteFailures(logger, file.path, () => w.t);
    cleanups.push(async () => {
      await w.notifier?.stop();
      file.close(w.t);
    });
    return w;
  }

  /** The data directory of a state file of schema 3, as that release left it: sender `s`'s `down` waiting, per [id, target]. */
  function schema3File(rows: ReadonlyArray<[id: string, target: string]>): string {
    const dataDir = freshDataDir();
    const old = new DatabaseSync(join(dataDir, STATE_FILE_NAME));
    old.exec(`${MIGRATIONS.slice(0, 3).join(';')}; PRAGMA user_version = 3`);
    const insert = old.prepare(
      `INSERT INTO outbox (id, target, source, event, body, created_at, next_attempt_at, status)
       VALUES (?, ?, 's', 'down', '{}', ?, ?, 'pending')`,
    );
    for (const [id, target] of rows) insert.run(id, target, T0, T0);
    old.close();
    return dataDir;
  }

  /** A world started with its notifier and sender `s` up (first seen: nothing told). */
  function senderUp() {
    const w = world();
    w.start();
    w.change('s', 'up');
    return w;
  }

  /** What was told of `s`: a down, then the up that answers it, with its key. */
  function expectDownThenItsUp(w: ReturnType<typeof world>) {
    const [down, up] = w.told('s');
    expect([down?.event, up?.event]).toEqual(['down', 'up']);
    expect(up?.incidentKey).toBe(down?.incidentKey);
  }

  it('its stop cancels a send whose receiver name waits on a silent DNS, which stays pending', async () => {
    const stub = await dnsStub('silent');
    cleanups.push(() => stub.close());
    const { names, asked } = lookupVia(stub, '127.0.0.1');
    const http = createHttpClient({ names });
    cleanups.push(() => http.close());
    const failedConnects: unknown[] = [];
    http.dispatcher.on('connectionError', (_origin, _targets, err) => failedConnects.push(err));
    const w = world();
    const named = { url: new URL('http://receiver.test:65000/hook'), label: 'http://receiver.test:65000' };
    w.start({ webhooks: [named] }, http);
    w.change('s', 'down', 'up');
    await vi.waitFor(() => expect(stub.names).toEqual(['receiver.test']), { timeout: 5000 });
    await w.notifier?.stop();
    // The probe waits 60 s: only the stop's cancel ends the connection attempt.
    await vi.waitFor(() => expect(failedConnects).toMatchObject([{ code: 'ECANCELLED' }]));
    expect(asked).toEqual([]);
    expect(w.db.prepare('SELECT status FROM outbox WHERE source = ?').all('s')).toEqual([
      { status: 'pending' },
    ]);
  });

  it('sends through the proxy its configuration names (NOTIFY_PROXY_URL)', async () => {
    const r = await receiver();
    cleanups.push(r.close);
    const proxy = await startForwardProxy();
    cleanups.push(() => proxy.close());
    const w = world();
    // A name no resolver knows: only the proxy, which sends every name to 127.0.0.1, reaches it.
    const named = {
      url: new URL(`http://receiver.invalid:${r.target.url.port}/`),
      label: 'http://receiver.invalid',
    };
    w.start({ webhooks: [named], proxyUrl: proxy.url });
    w.change('s', 'up');
    w.change('s', 'down');
    await expect.poll(() => r.bodies, { timeout: 5000 }).toMatchObject([{ event: 'down', source: 's' }]);
    expect(proxy.requests).toMatchObject([
      { method: 'POST', target: `http://receiver.invalid:${r.target.url.port}/` },
    ]);
  });

  it('tells a down a silence held back once the silence ends, and only once', () => {
    const w = senderUp();
    w.silence('s', true);
    w.t += 5000;
    w.change('s', 'down');
    w.tick(30);
    expect(w.told('s')).toEqual([]);
    w.silence('s', false);
    w.tick(30);
    expect(w.told('s').map((n) => n.event)).toEqual(['down']);
  });

  it("tells the up of a down told before a silence, when the sender came back during it, with the down's incident key", () => {
    const w = senderUp();
    w.change('s', 'down');
    w.silence('s', true);
    w.tick(5);
    w.beatAgain('s');
    w.change('s', 'up');
    w.tick(5);
    expect(w.told('s').map((n) => n.event)).toEqual(['down']);
    w.silence('s', false);
    w.tick(1);
    expectDownThenItsUp(w);
  });

  it('says nothing more after a silence over a sender that stayed down, as its down was told', () => {
    const w = senderUp();
    w.change('s', 'down');
    w.silence('s', true);
    w.tick(5);
    w.silence('s', false);
    w.tick(5);
    expect(w.told('s').map((n) => n.event)).toEqual(['down']);
  });

  it('catches up a silenced sender after a restart, when its silence ends', async () => {
    const w = senderUp();
    w.silence('s', true);
    w.change('s', 'down');
    (w.views.get('s') as SenderView).maintenance = true;
    await w.restart();
    w.tick(3);
    expect(w.told('s')).toEqual([]);
    w.silence('s', false);
    w.tick(1);
    expect(w.told('s').map((n) => n.event)).toEqual(['down']);
  });

  it('does not tell a down again when a restart sees the same incident go down again (the last write was lost)', async () => {
    const w = senderUp();
    w.change('s', 'down');
    // Killed before the state file had the down: the restart has it up, and it goes down again, never
    // heard by this run.
    w.views.set('s', { ...(w.views.get('s') as SenderView), state: 'up' });
    w.showsBy.set('s', w.t + 3000);
    await w.restart();
    w.tick(5);
    w.change('s', 'down');
    w.tick(5);
    expect(w.told('s').map((n) => n.event)).toEqual(['down']);
    // A new incident (a later last beat) is told.
    w.views.set('s', { ...(w.views.get('s') as SenderView), lastSeq: 9 });
    w.change('s', 'up');
    w.change('s', 'down');
    expect(w.told('s').map((n) => n.event)).toEqual(['down', 'up', 'down']);
  });

  it.each([
    ['down', TOLD_BY_DEFAULT],
    ['late', TOLD_LATE_AND_STOPPED],
  ] as const)(
    'tells the up of a %s told whose write a restart lost, once this run hears the sender: never leaves the problem as the last word',
    async (problem, notifyOn) => {
      const w = world();
      w.start({ notifyOn });
      w.change('s', 'up');
      w.t += 5000;
      // Straight from up (DOWN_AFTER_MISSES=1, a stall past both thresholds, or late): told.
      w.change('s', problem, 'up');
      const told = () => w.told('s').map((n) => n.event);
      expect(told()).toEqual([problem]);
      // Killed before the state file had the change: the restart has the sender up since before it.
      w.views.set('s', {
        ...(w.views.get('s') as SenderView),
        state: 'up',
        reason: 'beat',
        stateSinceMs: T0,
      });
      w.showsBy.set('s', w.t + 3000);
      await w.restart({ notifyOn });
      w.tick(2);
      // Not heard yet: it may be dead (its up would then be false).
      expect(told()).toEqual([problem]);
      // Heard, but only a late copy of a beat before the problem (no replay guard without keys): it may
      // be dead still.
      w.showsBy.delete('s');
      w.tick(2);
      expect(told()).toEqual([problem]);
      // Its beats come; while up, they change nothing.
      w.beatAgain('s');
      const answeredAt = w.t + 1000;
      w.tick(1);
      expect(told()).toEqual([problem, 'up']);
      const [opened, answered] = w.told('s');
      expect(answered?.incidentKey).toBe(opened?.incidentKey);
      // Dated when it is known to be back, never before the problem it answers; said to be back.
      const [openedBody, answeredBody] = w.bodies('s');
      expect(Date.parse(String(answeredBody?.since))).toBe(answeredAt);
      expect(Date.parse(String(answeredBody?.since))).toBeGreaterThan(Date.parse(String(openedBody?.at)));
      expect(answeredBody?.text).toContain('back UP');
      w.tick(30);
      expect(told()).toEqual([problem, 'up']);
    },
  );

  /**
   * Sender `s` told down after two beats the state file had not had yet
   * (STATE_SYNC_INTERVAL), the monitor killed before the down's write: the
   * restart has it up since before the down, its last beat 7 where the down
   * told names beat 9.
   */
  function downToldRecordBehind(notifyOn = TOLD_BY_DEFAULT) {
    const w = world();
    w.start({ notifyOn });
    w.change('s', 'up');
    w.t += 5000;
    w.beatAgain('s');
    w.beatAgain('s');
    w.change('s', 'down', 'up');
    expect(w.told('s').map((n) => n.event)).toEqual(['down']);
    const v = w.views.get('s') as SenderView;
    w.views.set('s', { ...v, state: 'up', reason: 'beat', stateSinceMs: T0, lastSeq: 7 });
    return w;
  }

  it.each([
    ['down', TOLD_BY_DEFAULT],
    ['late, then down', TOLD_LATE_AND_STOPPED],
  ] as const)(
    'keeps the incident told when the restart lost its write and its record is older still (beats not written): a dead sender going %s again tells nothing',
    async (way, notifyOn) => {
      const w = downToldRecordBehind(notifyOn);
      w.showsBy.set('s', w.t + 3000);
      await w.restart({ notifyOn });
      w.tick(5);
      // Never heard by this run: it goes down again, the incident told.
      if (way !== 'down') {
        w.change('s', 'late', 'up');
        w.tick(2);
      }
      w.change('s', 'down', way === 'down' ? 'up' : 'late');
      w.tick(5);
      expect(w.told('s').map((n) => n.event)).toEqual(['down']);
      // Back at last: its up answers that incident.
      w.views.set('s', { ...(w.views.get('s') as SenderView), lastSeq: 10 });
      w.change('s', 'up', 'down');
      expectDownThenItsUp(w);
    },
  );

  it("tells the up of a sender alive after a restart whose record is older than its told down once it beats again, and not for its record's own beat", async () => {
    const w = downToldRecordBehind();
    await w.restart(); // heard at once, but its last beat is the record's
    w.tick(3);
    expect(w.told('s').map((n) => n.event)).toEqual(['down']);
    w.views.set('s', { ...(w.views.get('s') as SenderView), lastSeq: 10 });
    w.tick(1);
    expectDownThenItsUp(w);
  });

  it('tells a down again after a restart that lost the write of its told up: never leaves its up as the last word', async () => {
    const w = senderUp();
    w.t += 5000;
    w.change('s', 'down');
    const downView = { ...(w.views.get('s') as SenderView) };
    w.t += 5000;
    w.views.set('s', { ...downView, lastSeq: 8 });
    w.change('s', 'up');
    expect(w.told('s').map((n) => n.event)).toEqual(['down', 'up']);
    // Killed before the state file had the up: the restart has it down still, its last beat the old one.
    // It may have died since: the receivers are told it is down, not left with its up.
    w.views.set('s', downView);
    await w.restart();
    w.tick(3);
    expect(w.told('s').map((n) => n.event)).toEqual(['down', 'up', 'down']);
    // Alive after all, its next beat answers the repeat.
    w.views.set('s', { ...downView, lastSeq: 9 });
    w.change('s', 'up', 'down');
    expect(w.told('s').map((n) => n.event)).toEqual(['down', 'up', 'down', 'up']);
  });

  it('records nothing as told in a run without webhooks: a later run with one tells the down that is still so', async () => {
    const w = world();
    w.views.set('s', {
      source: 's',
      state: 'down',
      reason: 'missed_3',
      stateSinceMs: w.t,
      boot: 'b1',
      lastSeq: 7,
      displayName: null,
      maintenance: false,
    } as SenderView);
    w.start({ webhooks: [] });
    w.tick(3);
    expect(w.db.prepare('SELECT COUNT(*) AS n FROM notified').get()).toEqual({ n: 0 });
    await w.restart(); // with a webhook
    w.tick(1);
    w.beatAgain('s');
    w.change('s', 'up');
    expect(w.told('s').map((n) => n.event)).toEqual(['down', 'up']);
  });

  it('tells the up a silence held back when the silence ended while the monitor was stopped, at the first tick', async () => {
    const w = senderUp();
    w.t += 5000;
    w.change('s', 'down');
    w.silence('s', true);
    w.t += 5000;
    w.views.set('s', { ...(w.views.get('s') as SenderView), lastSeq: 8, maintenance: true });
    w.change('s', 'up');
    w.tick(2);
    expect(w.told('s').map((n) => n.event)).toEqual(['down']);
    // Stopped; the silence ends meanwhile; the sender stays up.
    w.silence('s', false);
    w.views.set('s', { ...(w.views.get('s') as SenderView), maintenance: false });
    // Not heard by the new run yet: its up is told all the same (the record holds a beat after the down).
    w.showsBy.set('s', w.t + 60_000);
    await w.restart();
    w.tick(1);
    expectDownThenItsUp(w);
  });

  it('keeps flapping inside the incident it interrupts: the notice, where it settles and the up that ends it share its key', () => {
    const w = senderUp();
    // Beats came before each up: a new incident opens with a new last beat.
    w.flap('s', ['down', 'up', 'down', 'up', 'down']);
    expect(w.told('s').map((n) => n.event)).toEqual(['down', 'up', 'down', 'flapping']);
    w.tick(11); // quiet for FLAP_WINDOW: it settled, down
    w.t += 1000;
    w.beatAgain('s');
    w.change('s', 'up');
    const told = w.told('s');
    expect(told.map((n) => n.event)).toEqual(['down', 'up', 'down', 'flapping', 'down', 'up']);
    const [first, firstUp, ...second] = told.map((n) => n.incidentKey);
    expect(firstUp).toBe(first);
    // One incident from its second down to the up that ends it: nothing left open.
    expect(new Set(second).size).toBe(1);
    expect(second[0]).not.toBe(first);
  });

  it('tells where a sender that was flapping at a restart settled, a window after the start', async () => {
    const w = senderUp();
    for (const to of ['down', 'up', 'down', 'up', 'down'] as const) {
      w.t += 100;
      w.change('s', to);
    }
    expect(w.told('s').map((n) => n.event)).toEqual(['down', 'up', 'down', 'flapping']);
    await w.restart();
    // Still flapping after the start: its changes are part of the flapping told, not news.
    for (const to of ['up', 'down'] as const) {
      w.t += 100;
      w.change('s', to);
    }
    w.tick(9);
    expect(w.told('s')).toHaveLength(4);
    w.tick(2);
    expect(w.told('s').map((n) => n.event)).toEqual(['down', 'up', 'down', 'flapping', 'down']);
    w.tick(30);
    expect(w.told('s')).toHaveLength(5);
  });

  it("tells where a flapping sender settled while the monitor was away, once it has had the time to show itself: the flapping's incident", async () => {
    const w = senderUp();
    w.flap('s', ['down', 'up', 'down', 'up', 'down']);
    const told = () => w.told('s').map((n) => n.event);
    expect(told()).toEqual(['down', 'up', 'down', 'flapping']);
    await w.restart({}, 3_600_000); // down still, for all the record says
    w.showsBy.set('s', w.t + 3000);
    w.tick(2);
    expect(told()).toEqual(['down', 'up', 'down', 'flapping']);
    w.tick(1);
    // Dead all along: its down goes on with the flapping's key, no up made up before it.
    expect(told()).toEqual(['down', 'up', 'down', 'flapping', 'down']);
    const [flapping, settled] = w.told('s').slice(-2);
    expect(settled?.incidentKey).toBe(flapping?.incidentKey);
  });

  it('keeps where a flapping sender settled while the monitor was away through a silence at the start', async () => {
    const w = senderUp();
    w.flap('s', ['down', 'up', 'down', 'up', 'down']);
    w.silence('s', true);
    await w.restart({}, 3_600_000);
    w.tick(2);
    expect(w.told('s').map((n) => n.event)).toEqual(['down', 'up', 'down', 'flapping']);
    w.silence('s', false);
    w.tick(1);
    const [flapping, settled] = w.told('s').slice(-2);
    expect([flapping?.event, settled?.event]).toEqual(['flapping', 'down']);
    expect(settled?.incidentKey).toBe(flapping?.incidentKey);
  });

  it('holds a reminder of a sender the restart has not heard yet until it has had the time to show itself', async () => {
    const w = world();
    w.start({ repeatMs: 60_000 });
    w.change('s', 'up');
    w.change('s', 'down');
    await w.restart({ repeatMs: 60_000 }, 600_000);
    w.showsBy.set('s', w.t + 3000);
    w.tick(2);
    expect(w.told('s').map((n) => n.event)).toEqual(['down']);
    w.tick(1);
    expect(w.told('s').map((n) => n.event)).toEqual(['down', 'reminder']);
  });

  it('does not take a flapping that settled, untold, for one still going at a restart', async () => {
    const w = world();
    w.start({ notifyOn: ['down'] });
    w.change('s', 'up');
    for (const to of ['down', 'up', 'down', 'up', 'down', 'up'] as const) {
      w.t += 100;
      w.change('s', to);
    }
    expect(w.told('s').map((n) => n.event)).toEqual(['down', 'flapping']);
    w.tick(11); // settled in up, which NOTIFY_ON=down does not tell
    expect(w.told('s')).toHaveLength(2);
    w.t += 60_000;
    await w.restart({ notifyOn: ['down'] });
    w.tick(1);
    // A real outage after the restart is told at once, not held for a flapping long over.
    w.views.set('s', { ...(w.views.get('s') as SenderView), lastSeq: 20 });
    w.change('s', 'down');
    expect(w.told('s').map((n) => n.event)).toEqual(['down', 'flapping', 'down']);
  });

  it('tells every down of a plain-text sender whose last arrival is not known (its key names no incident), with NOTIFY_ON=down', () => {
    const w = world();
    w.start({ notifyOn: ['down'] });
    w.views.set('10.0.0.5', {
      boot: null,
      lastSeq: null,
      displayName: null,
      maintenance: false,
    } as unknown as SenderView);
    w.change('10.0.0.5', 'up', null);
    for (const to of ['down', 'up', 'down', 'up', 'down'] as const) {
      w.t += 60_000; // far apart: no flapping
      w.change('10.0.0.5', to);
    }
    expect(w.told('10.0.0.5').map((n) => n.event)).toEqual(['down', 'down', 'down']);
  });

  it('gives each incident of a plain-text sender a key of its own, named by its last arrival, its up the same', () => {
    const w = world();
    w.start();
    // Its view as it is, with its last arrival moved on.
    const text = (lastSeenMs: number) =>
      w.views.set('10.0.0.5', {
        ...w.views.get('10.0.0.5'),
        boot: null,
        lastSeq: null,
        lastSeenMs,
        displayName: null,
        maintenance: false,
      } as unknown as SenderView);
    text(w.t);
    w.change('10.0.0.5', 'up', null);
    for (let incident = 0; incident < 2; incident++) {
      w.t += 60_000;
      text(w.t - 30_000); // its last datagram, before it went down
      w.change('10.0.0.5', 'down');
      w.t += 60_000;
      text(w.t);
      w.change('10.0.0.5', 'up');
    }
    const told = w.told('10.0.0.5');
    expect(told.map((n) => n.event)).toEqual(['down', 'up', 'down', 'up']);
    const [down1, up1, down2, up2] = told.map((n) => n.incidentKey);
    expect(up1).toBe(down1);
    expect(up2).toBe(down2);
    expect(down2).not.toBe(down1);
  });

  it('catches up what a silence held back when it ends after a restart, a stopped too: the silences say who is silenced', async () => {
    const notifyOn: NotifierConfig['notifyOn'] = ['down', 'up', 'stopped'];
    const w = world();
    w.start({ notifyOn });
    w.change('s', 'up');
    w.silence('s', true);
    w.change('s', 'stopped'); // signed off during the maintenance window: held back
    // The monitor restarts inside the window: its senders' marks (views' maintenance) are not made yet.
    await w.restart({ notifyOn });
    w.tick(1);
    expect(w.told('s')).toEqual([]);
    w.silence('s', false);
    w.tick(1);
    expect(w.told('s').map((n) => n.event)).toEqual(['stopped']);
  });

  it('tells the late and the stopped a silence held back when the silence ended while the monitor was stopped, once', async () => {
    const notifyOn = TOLD_LATE_AND_STOPPED;
    const w = world();
    w.start({ notifyOn });
    w.change('l', 'up');
    w.change('s', 'up');
    w.silence('l', true);
    w.silence('s', true);
    w.change('l', 'late');
    w.change('s', 'stopped');
    w.tick(1);
    expect([...w.told('l'), ...w.told('s')]).toEqual([]);
    // Stopped; both silences end meanwhile; the senders are as they were.
    w.silence('l', false);
    w.silence('s', false);
    await w.restart({ notifyOn });
    w.tick(1);
    expect([w.told('l').map((n) => n.event), w.told('s').map((n) => n.event)]).toEqual([
      ['late'],
      ['stopped'],
    ]);
    // Told now: the next restart has nothing to say of them.
    await w.restart({ notifyOn });
    w.tick(1);
    expect([w.told('l').length, w.told('s').length]).toEqual([1, 1]);
  });

  it('tells where a flapping sender settled however many other senders changed meanwhile, past MAX_SENDERS (declared ones are kept beyond it)', () => {
    const w = world();
    w.start({ maxSenders: 2 });
    w.change('f', 'up');
    w.flap('f', ['down', 'up', 'down', 'up', 'down']);
    expect(w.told('f').map((n) => n.event)).toEqual(['down', 'up', 'down', 'flapping']);
    // Three others go down meanwhile: more senders with changes than MAX_SENDERS.
    for (const other of ['a', 'b', 'c']) {
      w.change(other, 'up');
      w.change(other, 'down');
    }
    w.tick(11); // quiet for FLAP_WINDOW: it settled, down
    expect(w.told('f').map((n) => n.event)).toEqual(['down', 'up', 'down', 'flapping', 'down']);
  });

  it('does not tell again after a restart a stopped it told as the end of a problem', async () => {
    const notifyOn = TOLD_LATE_AND_STOPPED;
    const w = world();
    w.start({ notifyOn });
    w.change('s', 'up');
    w.t += 1000;
    w.change('s', 'late');
    w.t += 1000;
    w.beatAgain('s');
    w.change('s', 'stopped'); // its bye: the late's incident ends
    const [late, stopped] = w.told('s');
    expect([late?.event, stopped?.event]).toEqual(['late', 'stopped']);
    expect(stopped?.incidentKey).toBe(late?.incidentKey);
    await w.restart({ notifyOn });
    w.tick(1);
    expect(w.told('s').map((n) => n.event)).toEqual(['late', 'stopped']);
  });

  it('with up not in NOTIFY_ON, an outage after a flapping that settled up is a new incident', () => {
    const w = world();
    w.start({ notifyOn: ['down'] });
    w.change('s', 'up');
    w.flap('s', ['down', 'up', 'down', 'up']);
    w.tick(11); // settled up: not told
    expect(w.told('s').map((n) => n.event)).toEqual(['down', 'down', 'flapping']);
    w.t += 3_600_000;
    w.change('s', 'down');
    const told = w.told('s');
    expect(told.map((n) => n.event)).toEqual(['down', 'down', 'flapping', 'down']);
    expect(told[3]?.incidentKey).not.toBe(told[2]?.incidentKey);
  });

  it('with up not in NOTIFY_ON, catches up a second outage a silence held back: not taken for the first', () => {
    const w = world();
    w.start({ notifyOn: ['down'] });
    w.change('s', 'up');
    w.t += 60_000;
    w.change('s', 'down');
    w.t += 60_000;
    w.beatAgain('s');
    w.change('s', 'up'); // not told
    w.silence('s', true);
    w.t += 60_000;
    w.change('s', 'down'); // held back
    w.silence('s', false);
    w.tick(1);
    const told = w.told('s');
    expect(told.map((n) => n.event)).toEqual(['down', 'down']);
    expect(told[1]?.incidentKey).not.toBe(told[0]?.incidentKey);
  });

  /** Told down, then back under a silence (its up held back), a minute ago. */
  function downThenBackUnderASilence() {
    const w = senderUp();
    w.t += 60_000;
    w.change('s', 'down');
    w.silence('s', true);
    w.t += 60_000;
    w.beatAgain('s');
    w.change('s', 'up'); // held back
    w.t += 60_000;
    return w;
  }

  it('ends a told outage with its up before a second one a silence held back: no incident left open', () => {
    const w = downThenBackUnderASilence();
    w.change('s', 'down'); // held back
    w.silence('s', false);
    w.tick(1);
    const told = w.told('s');
    expect(told.map((n) => n.event)).toEqual(['down', 'up', 'down']);
    const [first, back, second] = told;
    expect(back?.incidentKey).toBe(first?.incidentKey);
    expect(second?.incidentKey).not.toBe(first?.incidentKey);
    // When it came back is not known: told now, as an up from down, without how long the outage lasted.
    const body = JSON.parse(
      String(w.db.prepare("SELECT body FROM outbox WHERE source = 's' AND event = 'up'").get()?.body),
    ) as { from: string; at: string; text: string };
    expect(body.from).toBe('down');
    expect(Date.parse(body.at)).toBe(w.t);
    expect(body.text).toBe('`s` is back UP, was down (beat), seen by m.');
  });

  it('ends a told outage with its up before a second one that comes as its silence ends, before any catch-up', () => {
    const w = downThenBackUnderASilence();
    w.silence('s', false); // no tick yet: nothing caught up
    w.change('s', 'down');
    const told = w.told('s');
    expect(told.map((n) => n.event)).toEqual(['down', 'up', 'down']);
    expect(told[1]?.incidentKey).toBe(told[0]?.incidentKey);
    expect(told[2]?.incidentKey).not.toBe(told[0]?.incidentKey);
  });

  it('with up not in NOTIFY_ON, tells every outage, each a new incident', () => {
    const w = world();
    w.start({ notifyOn: ['down'] });
    w.change('s', 'up');
    for (let lastSeq = 8; lastSeq < 11; lastSeq++) {
      w.t += 60_000; // far apart: no flapping
      w.change('s', 'down');
      w.t += 60_000;
      w.views.set('s', { ...(w.views.get('s') as SenderView), lastSeq });
      w.change('s', 'up');
    }
    const told = w.told('s');
    expect(told.map((n) => n.event)).toEqual(['down', 'down', 'down']);
    expect(new Set(told.map((n) => n.incidentKey)).size).toBe(3);
  });

  it('tells at the first tick after a restart a down that a silence held back and that ended while the monitor was stopped', async () => {
    const w = senderUp();
    w.silence('s', true);
    w.change('s', 'down');
    await w.restart();
    w.silence('s', false); // ended meanwhile: the silences the monitor starts with no longer cover it
    w.generation = 0;
    w.tick(1);
    expect(w.told('s').map((n) => n.event)).toEqual(['down']);
    // And a down told before the stop is not told again at the start.
    await w.restart();
    w.tick(1);
    expect(w.told('s')).toHaveLength(1);
  });

  /**
   * Down under a silence, restarted 10 minutes later, the silence ended
   * meanwhile; not heard by the new run, which it shows itself to by 3 s on.
   */
  async function downHeldBackAcrossARestart() {
    const w = senderUp();
    w.silence('s', true);
    w.change('s', 'down');
    await w.restart({}, 600_000);
    w.silence('s', false);
    const showsBy = w.t + 3000; // the bind + interval + grace
    w.showsBy.set('s', showsBy);
    return { w, showsBy };
  }

  it('holds a catch-up at a restart until the sender has had the time to show itself: one back by then is not told down', async () => {
    const { w } = await downHeldBackAcrossARestart();
    w.tick(2);
    expect(w.told('s')).toEqual([]);
    // It came back while the monitor was away: its first beat is heard, and nothing was to be said.
    w.showsBy.delete('s');
    w.beatAgain('s');
    w.change('s', 'up');
    w.tick(5);
    expect(w.told('s')).toEqual([]);
  });

  it('tells the down a restart holds back once the sender has had the time to show itself and did not', async () => {
    const { w, showsBy } = await downHeldBackAcrossARestart();
    w.tick(2);
    expect(w.told('s')).toEqual([]);
    w.tick(1);
    expect(w.t).toBe(showsBy);
    expect(w.told('s').map((n) => n.event)).toEqual(['down']);
    w.tick(5);
    expect(w.told('s')).toHaveLength(1);
  });

  it("waits as long as the receiver's Retry-After asks (at most 5 min), never past NOTIFY_MAX_AGE", async () => {
    const r = await receiver();
    cleanups.push(r.close);
    r.answer.status = 429;
    r.answer.headers = { 'retry-after': '120' };
    const w = world();
    w.start({ webhooks: [r.target] });
    w.change('s', 'up');
    w.change('s', 'down');
    const row = () =>
      w.db.prepare('SELECT attempts, next_attempt_at FROM outbox WHERE source = ?').get('s') as {
        attempts: number;
        next_attempt_at: number;
      };
    await expect.poll(() => row().attempts, { timeout: 5000 }).toBe(1);
    expect(row().next_attempt_at).toBe(w.t + 120_000);

    const w2 = world();
    w2.start({ webhooks: [r.target], maxAgeMs: 60_000 });
    w2.change('s', 'up');
    w2.change('s', 'down');
    const row2 = () =>
      w2.db.prepare('SELECT attempts, next_attempt_at FROM outbox').get() as {
        attempts: number;
        next_attempt_at: number;
      };
    await expect.poll(() => row2().attempts, { timeout: 5000 }).toBe(1);
    expect(row2().next_attempt_at).toBe(w2.t + 60_000);
  });

  it('never drops a notification being sent for a full queue: only those waiting count against NOTIFY_QUEUE_MAX', async () => {
    const r = await receiver();
    cleanups.push(r.close);
    r.answer.delayMs = 300; // a slow receiver: a's down is in flight when b's comes
    const w = world();
    const n = w.start({ webhooks: [r.target], queueMax: 1 });
    w.change('a', 'up');
    w.change('a', 'down');
    await expect.poll(() => r.load.inFlight, { timeout: 5000 }).toBe(1);
    w.change('b', 'up');
    w.change('b', 'down');
    await expect.poll(() => r.bodies.length, { timeout: 5000 }).toBe(2);
    await expect
      .poll(() => w.db.prepare('SELECT source, status FROM outbox ORDER BY seq').all(), { timeout: 5000 })
      .toEqual([
        { source: 'a', status: 'sent' },
        { source: 'b', status: 'sent' },
      ]);
    expect(n.stats.get(r.target.label)).toMatchObject({ sent: 2, dropped: 0 });
  });

  it('drops, for a full queue, a problem with the up that answers it first, and an up whose problem was told last', async () => {
    const r = await receiver();
    cleanups.push(r.close);
    r.answer.delayMs = 400; // x's down is in flight while the rest come (within the 500 ms timeout)
    const w = world();
    w.start({ webhooks: [r.target], queueMax: 2 });
    w.change('x', 'up');
    w.change('x', 'down');
    await expect.poll(() => r.load.inFlight, { timeout: 5000 }).toBe(1);
    w.change('x', 'up');
    w.change('a', 'up');
    w.change('a', 'down');
    // One too many: a's down and up go together (the receiver is left with a up, as it is).
    w.change('a', 'up');
    w.change('b', 'up');
    w.change('b', 'down');
    // One too many: the up of x's told down stays; b's down, the oldest other row, goes.
    w.change('c', 'up');
    w.change('c', 'down');
    const rows = () =>
      w.db
        .prepare('SELECT source, event, status FROM outbox ORDER BY seq')
        .all()
        .map((row) => `${row.source}:${row.event}:${row.status}`);
    await expect
      .poll(rows, { timeout: 10_000 })
      .toEqual([
        'x:down:sent',
        'x:up:sent',
        'a:down:dropped',
        'a:up:dropped',
        'b:down:dropped',
        'c:down:sent',
      ]);
    expect(r.bodies.map((b) => (b as { source: string }).source)).toEqual(['x', 'x', 'c']);
    expect(w.notifier?.stats.get(r.target.label)).toMatchObject({ sent: 3, dropped: 3 });
  });

  it('gives up, at a start, the rows waiting for a target no longer configured; those of the others wait on', async () => {
    const other = { url: new URL('http://127.0.0.2:9/hook'), label: 'http://127.0.0.2:9' };
    const w = world();
    w.start({ webhooks: [nowhere, other] });
    w.change('s', 'up');
    w.change('s', 'down');
    await w.restart({ webhooks: [other] });
    const rows = w.db.prepare('SELECT target, status, last_error FROM outbox ORDER BY seq').all();
    expect(rows).toMatchObject([
      { target: queueKey(nowhere.url), status: 'given_up', last_error: 'target no longer configured' },
      { target: queueKey(other.url), status: 'pending' },
    ]);
  });

  it("keeps each URL's own queue when two on one host swap places, and when the first is removed", async () => {
    // One host, two paths: /a answers, /b does not yet. By labels, /b in first place would take /a's queue.
    const took: string[] = [];
    const answering = new Set(['/a']);
    const server = createServer((req, res) => {
      req.resume().on('end', () => {
        if (answering.has(req.url ?? '')) took.push(String(req.url));
        res.writeHead(answering.has(req.url ?? '') ? 200 : 503).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const a = { url: new URL(`${base}/a`), label: base };
    const b = { url: new URL(`${base}/b`), label: `${base}#2` };
    const w = world();
    w.start({ webhooks: [a, b] });
    w.change('s', 'up');
    w.change('s', 'down');
    await expect.poll(() => took, { timeout: 5000 }).toEqual(['/a']);
    const statusOf = (url: URL) =>
      w.db
        .prepare('SELECT status FROM outbox WHERE target = ? ORDER BY seq')
        .all(queueKey(url))
        .map((r) => r.status);
    await expect.poll(() => statusOf(b.url), { timeout: 5000 }).toEqual(['pending']);

    await w.restart({
      webhooks: [
        { ...b, label: base },
        { ...a, label: `${base}#2` },
      ],
    });
    answering.add('/b');
    w.t += 3_600_000; // past any retry's backoff
    await expect.poll(() => [...took].sort(), { timeout: 5000 }).toEqual(['/a', '/b']);
    // The receiver has the request before the monitor has its answer (and writes it down).
    await expect.poll(() => statusOf(b.url), { timeout: 5000 }).toEqual(['sent']);

    // /a stops answering: its up waits when /a is removed, and is given up; /b's goes on.
    answering.delete('/a');
    w.change('s', 'up');
    await w.restart({ webhooks: [{ ...b, label: base }] });
    await expect.poll(() => [...took].sort(), { timeout: 5000 }).toEqual(['/a', '/b', '/b']);
    expect(statusOf(a.url)).toEqual(['sent', 'given_up']);
    await expect.poll(() => statusOf(b.url), { timeout: 5000 }).toEqual(['sent', 'sent']);
  });

  it('hands the queue of a URL changed in place (its secret rotated) to the new URL, which is told what waits', async () => {
    // One host: the old secret's path is refused (503), the new one's answers.
    const took: string[] = [];
    const server = createServer((req, res) => {
      req.resume().on('end', () => {
        if (req.url === '/new-secret') took.push(req.url);
        res.writeHead(req.url === '/new-secret' ? 200 : 503).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const old = { url: new URL(`${base}/old-secret`), label: base };
    const rotated = { url: new URL(`${base}/new-secret`), label: base };
    const names = new Map([
      [queueKey(old.url), 'old'],
      [queueKey(rotated.url), 'rotated'],
      [queueKey(nowhere.url), 'nowhere'],
    ]);
    const w = world();
    w.start({ webhooks: [old, nowhere] });
    w.change('s', 'up');
    w.change('s', 'down');
    const rows = () =>
      w.db
        .prepare('SELECT target, status FROM outbox ORDER BY seq')
        .all()
        .map((r) => `${names.get(String(r.target)) ?? r.target}:${r.status}`);
    expect(rows()).toEqual(['old:pending', 'nowhere:pending']);
    // The old URL refused it once: its retry waits out a backoff on the test's clock, which stands still.
    const attempts = () =>
      Number(
        (
          w.db.prepare('SELECT attempts FROM outbox WHERE target = ?').get(queueKey(old.url)) as {
            attempts: number;
          }
        ).attempts,
      );
    await expect.poll(attempts, { timeout: 5000 }).toBe(1);

    await w.restart({ webhooks: [rotated, nowhere] });
    // Handed over, it is due at once: the new URL earned no backoff.
    await expect.poll(() => took, { timeout: 5000 }).toEqual(['/new-secret']);
    await expect.poll(rows, { timeout: 5000 }).toEqual(['rotated:sent', 'nowhere:pending']);
  });

  it("moves the rows an older release queued by label to the URL's own queue, at the first start only", async () => {
    // A state file of schema 3, as that release left it: the first URL of a host queued by its label,
    // the second by `#2`, and a removed one's rows too.
    const other = { url: new URL('http://127.0.0.1:9/other'), label: 'http://127.0.0.1:9#2' };
    const w = world(
      schema3File([
        ['n1', nowhere.label],
        ['n1', other.label],
        ['n1', 'http://127.0.0.3:9'],
      ]),
    );
    w.start({ webhooks: [nowhere, other] });
    const rows = () => w.db.prepare('SELECT target, status FROM outbox ORDER BY seq').all();
    expect(rows()).toEqual([
      { target: queueKey(nowhere.url), status: 'pending' },
      { target: queueKey(other.url), status: 'pending' },
      { target: 'http://127.0.0.3:9', status: 'given_up' },
    ]);
    expect(w.notifier?.last('s')?.target).toBe('http://127.0.0.3:9');
    // Later, a URL that has the removed one's label takes none of its rows: they were never its.
    const third = { url: new URL('http://127.0.0.3:9/third'), label: 'http://127.0.0.3:9' };
    await w.restart({ webhooks: [nowhere, other, third] });
    expect(rows()).toContainEqual({ target: 'http://127.0.0.3:9', status: 'given_up' });
  });

  it('gives up, at the first start on an older file, the rows of a URL removed then: no queue is new there', async () => {
    // Two URLs on one host, as schema 3 queued them (the second with a backlog of its own); the
    // second is removed at the upgrade.
    const w = world(
      schema3File([
        ['n1', nowhere.label],
        ['n2', `${nowhere.label}#2`],
      ]),
    );
    w.start({ webhooks: [nowhere] });
    expect(w.db.prepare('SELECT target, status FROM outbox ORDER BY seq').all()).toEqual([
      { target: queueKey(nowhere.url), status: 'pending' },
      { target: `${nowhere.label}#2`, status: 'given_up' },
    ]);
  });

  it('hands over no queue to a URL configured before, however long it has been quiet (no row of its own kept)', async () => {
    const quiet = { url: new URL('http://127.0.0.1:9/quiet'), label: 'http://127.0.0.1:9#2' };
    const w = world();
    w.start({ webhooks: [nowhere] });
    w.change('s', 'up');
    w.change('s', 'down');
    // quiet joins and is told nothing (nothing changes), then nowhere is removed: its queue is not quiet's.
    await w.restart({ webhooks: [nowhere, quiet] });
    await w.restart({ webhooks: [{ ...quiet, label: 'http://127.0.0.1:9' }] });
    expect(w.db.prepare('SELECT target, status FROM outbox ORDER BY seq').all()).toEqual([
      { target: queueKey(nowhere.url), status: 'given_up' },
    ]);
  });

  it('keeps at most FINISHED_KEPT_AT_LEAST (or NOTIFY_QUEUE_MAX) finished rows of a target, however many a full queue drops', () => {
    const w = world();
    w.start({ queueMax: 10 });
    for (let i = 0; i < FINISHED_KEPT_AT_LEAST + 500; i++) {
      w.change(`s${i}`, 'up');
      w.change(`s${i}`, 'down');
    }
    const count = (status: string) =>
      Number(
        (w.db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE status = ?').get(status) as { n: number }).n,
      );
    expect(count('pending')).toBeLessThanOrEqual(10 + 16);
    expect(count('dropped')).toBeLessThanOrEqual(FINISHED_KEPT_AT_LEAST);
    expect(w.notifier?.stats.get(nowhere.label)?.dropped).toBeGreaterThan(FINISHED_KEPT_AT_LEAST + 400);
  });

  it('makes no flapping notice of changes between up and late when NOTIFY_ON leaves late out', () => {
    const w = senderUp();
    for (let i = 0; i < 4; i++) {
      w.change('s', 'late');
      w.change('s', 'up');
    }
    // Its outage is told at once, not held back behind a flapping notice.
    w.change('s', 'late');
    w.change('s', 'down');
    expect(w.told('s').map((n) => n.event)).toEqual(['down']);
  });

  it('tells nothing of a flapping sender, a change that does not count (up after late) neither', () => {
    const w = senderUp();
    for (let i = 0; i < 2; i++) {
      w.change('s', 'down');
      w.change('s', 'up');
    }
    w.change('s', 'late');
    w.change('s', 'up');
    expect(w.told('s').map((n) => n.event)).toEqual(['down', 'up', 'down', 'flapping']);
  });

  it('counts changes between up and late towards flapping when NOTIFY_ON tells late', () => {
    const w = world();
    w.start({ notifyOn: ['down', 'up', 'late'] });
    w.change('s', 'up');
    for (let i = 0; i < 2; i++) {
      w.change('s', 'late');
      w.change('s', 'up');
    }
    // late, up, late: told; the 4th change (threshold 3) is one too many.
    expect(w.told('s').map((n) => n.event)).toEqual(['late', 'up', 'late', 'flapping']);
  });

  it('tells a sender told down that signs off as stopped, with the incident key of its down, stopped not listed', () => {
    const w = senderUp();
    w.change('s', 'down');
    w.t += 60_000;
    w.change('s', 'stopped');
    const told = w.told('s');
    expect(told.map((n) => n.event)).toEqual(['down', 'stopped']);
    expect(told[1]?.incidentKey).toBe(told[0]?.incidentKey);
    const body = JSON.parse(
      String(w.db.prepare("SELECT body FROM outbox WHERE event = 'stopped'").get()?.body),
    ) as { text: string };
    expect(body.text).toContain('at 06:01:00 UTC after 60 s down,');
    // Signed off while up, with stopped not listed: nothing to say, and no up to answer later.
    const u = senderUp();
    u.change('s', 'stopped');
    u.change('s', 'up');
    expect(u.told('s')).toEqual([]);
  });

  describe('Alertmanager', () => {
    const sources = (body: unknown) =>
      (body as Array<{ labels: { source: string } }>).map((a) => a.labels.source);

    async function alerting() {
      const am = await receiver();
      cleanups.push(am.close);
      const w = world();
      w.start({ webhooks: [], alertmanagers: [am.target], alertResendMs: 200 });
      return { am, w };
    }

    it('pushes one batch at a time, with what changed meanwhile in the next one', async () => {
      const { am, w } = await alerting();
      am.answer.delayMs = 300; // a slow Alertmanager
      for (let i = 0; i < 20; i++) {
        w.change(`s${i}`, 'up');
        w.change(`s${i}`, 'down');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await expect.poll(() => sources(am.bodies.at(-1) ?? []).length, { timeout: 5000 }).toBe(20);
      expect(am.load.maxInFlight).toBe(1);
      // Far fewer pushes than changes: those of a push's 300 ms went together in the next.
      expect(am.bodies.length).toBeLessThan(20);
    });

    it('leaves a silenced down sender out of the pushes, and pushes it again once the silence ends', async () => {
      const { am, w } = await alerting();
      w.change('a', 'up');
      w.change('b', 'up');
      w.silence('b', true);
      w.change('a', 'down');
      w.change('b', 'down');
      await expect.poll(() => sources(am.bodies.at(-1) ?? [])).toEqual(['a']);
      const silencedFrom = am.bodies.length - 1;
      await expect.poll(() => am.bodies.length).toBeGreaterThan(silencedFrom + 2);
      w.silence('b', false);
      await expect.poll(() => sources(am.bodies.at(-1)).sort()).toEqual(['a', 'b']);
      // Every push while b was silenced left it out.
      const whileSilenced = am.bodies.slice(silencedFrom, silencedFrom + 3).map(sources);
      expect(whileSilenced).toEqual([['a'], ['a'], ['a']]);
    });

    it('pushes a silenced down sender within a tick of its silence ending, not at the next resend', async () => {
      const am = await receiver();
      cleanups.push(am.close);
      const w = world();
      w.start({ webhooks: [], alertmanagers: [am.target], alertResendMs: 3_600_000 });
      w.change('a', 'up');
      w.silence('a', true);
      w.change('a', 'down');
      w.tick(1);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(am.bodies.flatMap(sources)).toEqual([]);
      w.silence('a', false);
      w.tick(1);
      await expect.poll(() => sources(am.bodies.at(-1) ?? [])).toEqual(['a']);
    });

    /** A world whose sender `a` is down, pushed as firing (resends far apart: pushes come from changes and ticks). */
    async function downPushed() {
      const am = await receiver();
      cleanups.push(am.close);
      const w = world();
      const over = { webhooks: [], alertmanagers: [am.target], alertResendMs: 60_000 };
      w.start(over);
      w.change('a', 'up');
      w.change('a', 'down');
      await expect.poll(() => sources(am.bodies.at(-1) ?? [])).toEqual(['a']);
      const before = am.bodies.length;
      /** The pushes since that fired `a` (an alert whose end is still to come). */
      const firedSince = () => am.bodies.slice(before).filter((b) => fires(b, 'a', w.t));
      let others = 0;
      /**
       * `seconds` of ticks, then every push asked for so far has arrived (another sender goes down, and the
       * push that says so is the last: pushes go one at a time, in order), and none of them fired `a`.
       */
      const firesNothingAfter = async (seconds: number): Promise<void> => {
        w.tick(seconds);
        const other = `x${++others}`;
        w.change(other, 'up');
        w.change(other, 'down');
        await expect.poll(() => sources(am.bodies.at(-1) ?? [])).toContain(other);
        expect(firedSince()).toEqual([]);
      };
      return {
        w,
        firedSince,
        /** The monitor starts again `awayMs` later; `a`, not heard yet, shows itself `showsAfterMs` after that. */
        async restartAway(awayMs: number, showsAfterMs: number): Promise<number> {
          const restartAt = w.t + awayMs;
          w.showsBy.set('a', restartAt + showsAfterMs);
          await w.restart(over, awayMs);
          return restartAt;
        },
        firesNothingAfter,
        /** Nothing fired `a` until `ms` after `restartAt`, and a push at that tick does. */
        async firesFirstAt(restartAt: number, ms: number): Promise<void> {
          await firesNothingAfter(ms / 1000 - 1);
          w.tick(1);
          expect(w.t).toBe(restartAt + ms);
          await expect.poll(() => firedSince().length).toBeGreaterThan(0);
        },
      };
    }
    /** Whether a body fires `source` (an alert whose end is still to come). */
    const fires = (body: unknown, source: string, nowMs: number) =>
      (body as Array<{ labels: { source: string }; endsAt: string }>).some(
        (x) => x.labels.source === source && Date.parse(x.endsAt) > nowMs,
      );

    it("after an absence longer than an alert's lifetime, pages no sender stored down that came back meanwhile", async () => {
      const { w, restartAway, firesNothingAfter } = await downPushed();
      // Away for 10 resend intervals: the alert ended at Alertmanager 4 after the last push.
      await restartAway(600_000, 3000);
      await firesNothingAfter(2);
      // Its beat: back, never pushed as firing (its end is, harmless to an Alertmanager that has no such alert).
      w.showsBy.delete('a');
      w.beatAgain('a');
      w.change('a', 'up');
      await firesNothingAfter(5);
    });

    it("after an absence longer than an alert's lifetime, pushes a sender still down once it has had the time to show itself", async () => {
      const pushed = await downPushed();
      const restartAt = await pushed.restartAway(600_000, 3000);
      await pushed.firesFirstAt(restartAt, 3000);
    });

    it("after a shorter absence, holds a sender stored down no longer than keeps the previous run's alert firing", async () => {
      const pushed = await downPushed();
      // Away 1 resend interval: the last push's alert fires at least until 3 after the previous run's end,
      // and is pushed again by 2 after it. The sender beats every 10 minutes: it shows itself later still.
      const restartAt = await pushed.restartAway(60_000, 600_000);
      await pushed.firesFirstAt(restartAt, 60_000);
    });

    it('holds a stored down while the monitor has not read as far as the sender would have shown itself by', async () => {
      const { w, firedSince, restartAway, firesNothingAfter } = await downPushed();
      const restartAt = await restartAway(600_000, 3000);
      w.heard = restartAt + 1000; // a backlog: its beat may be in it
      await firesNothingAfter(5);
      w.heard = restartAt + 3000;
      w.tick(1);
      await expect.poll(() => firedSince().length).toBeGreaterThan(0);
    });

    it('after an absence of 2 to 3 resend intervals, pushes a sender stored down at once: its alert still fires', async () => {
      const { firedSince, restartAway } = await downPushed();
      await restartAway(150_000, 600_000);
      await expect.poll(() => firedSince().length).toBeGreaterThan(0);
    });

    it('says what ended an alert: a sender that signed off is stopped, not up', async () => {
      const { am, w } = await alerting();
      w.change('a', 'up');
      w.change('a', 'down');
      await expect.poll(() => sources(am.bodies.at(-1) ?? [])).toEqual(['a']);
      w.change('a', 'stopped');
      type Alert = { annotations: { summary: string; description: string }; endsAt: string };
      const ended = () => am.bodies.flatMap((b) => b as Alert[]).find((x) => Date.parse(x.endsAt) <= w.t);
      await expect.poll(ended).toBeDefined();
      expect(ended()?.annotations.summary).toBe('a is stopped');
      expect(ended()?.annotations.description).toContain('it signed off (bye)');
    });

    it('sends a resolution again until Alertmanager took it', async () => {
      const { am, w } = await alerting();
      const resolutions = (from: number) =>
        am.bodies
          .slice(from)
          .filter((b) => (b as Array<{ endsAt: string }>).some((x) => Date.parse(x.endsAt) <= w.t)).length;
      w.change('a', 'up');
      w.change('a', 'down');
      await expect.poll(() => sources(am.bodies.at(-1) ?? [])).toEqual(['a']);
      am.answer.status = 503;
      const failingFrom = am.bodies.length;
      w.change('a', 'up');
      // Refused, and sent again with its end: twice at least.
      await expect.poll(() => resolutions(failingFrom)).toBeGreaterThanOrEqual(2);
      am.answer.status = 200;
      // Taken: then forgotten.
      await expect.poll(() => am.bodies.at(-1)).toEqual([]);
    });

    it("sends after a restart the resolution of the previous run's alert that Alertmanager had not taken, and not one older than an alert's lifetime", async () => {
      const am = await receiver();
      cleanups.push(am.close);
      const w = world();
      const over = { webhooks: [], alertmanagers: [am.target], alertResendMs: 10_000 };
      w.start(over);
      const incident = w.db.prepare(
        'INSERT INTO incidents (source, from_state, to_state, reason, at) VALUES (?, ?, ?, ?, ?)',
      );
      // `old` came back 5 resend intervals ago: its alert has ended by itself.
      incident.run('old', 'up', 'down', 'missed_3', w.t - 60_000);
      incident.run('old', 'down', 'up', 'beat', w.t - 50_000);
      w.change('old', 'up');
      w.change('a', 'up');
      w.change('a', 'down');
      incident.run('a', 'up', 'down', 'missed_3', w.t);
      await expect.poll(() => sources(am.bodies.at(-1) ?? [])).toEqual(['a']);
      am.answer.status = 503;
      const refusedFrom = am.bodies.length;
      w.t += 1000;
      w.change('a', 'up');
      incident.run('a', 'down', 'up', 'beat', w.t);
      await expect.poll(() => am.bodies.length).toBe(refusedFrom + 1);
      const endedAtMs = w.t;
      // (The next resend is 10 s away: what comes now is the next run's.)
      const restartedFrom = am.bodies.length;
      am.answer.status = 200;
      await w.restart(over, 5000);
      await expect
        .poll(() => am.bodies.slice(restartedFrom))
        .toMatchObject([[{ labels: { source: 'a' }, endsAt: new Date(endedAtMs).toISOString() }]]);
      expect(am.bodies.slice(restartedFrom)[0]).toHaveLength(1);
    });

    it('sends a resolution that came while a push was in flight: that push still said firing', async () => {
      const { am, w } = await alerting();
      w.change('a', 'up');
      w.change('a', 'down');
      await expect.poll(() => sources(am.bodies.at(-1) ?? [])).toEqual(['a']);
      am.answer.delayMs = 300;
      const from = am.bodies.length;
      // A push in flight: the receiver has its body (a firing) and answers 300 ms later.
      await expect.poll(() => am.bodies.length > from && am.load.inFlight === 1).toBe(true);
      w.change('a', 'up');
      type Alert = { labels: { source: string }; endsAt: string };
      const ended = () =>
        am.bodies
          .slice(from)
          .flatMap((b) => b as Alert[])
          .some((x) => x.labels.source === 'a' && Date.parse(x.endsAt) <= w.t);
      await expect.poll(ended, { timeout: 5000 }).toBe(true);
    });

    it('lets a resolution no Alertmanager takes go once Alertmanager has ended its alert itself, and keeps MAX_RESOLVED_ALERTS at most', async () => {
      const { am, w } = await alerting();
      am.answer.status = 500;
      const n = MAX_RESOLVED_ALERTS + 50;
      for (let i = 0; i < n; i++) {
        w.change(`s${i}`, 'up');
        w.change(`s${i}`, 'down');
        w.notifier?.forget(`s${i}`, 'max_senders');
        w.views.delete(`s${i}`);
      }
      const last = () => (am.bodies.at(-1) ?? []) as unknown[];
      await expect.poll(() => last().length, { timeout: 10_000 }).toBe(MAX_RESOLVED_ALERTS);
      // 4 resend intervals after: every firing push it had said ended by then.
      w.t += 4 * 200;
      await expect.poll(() => last().length, { timeout: 10_000 }).toBe(0);
    }, 30_000);

    it('forgets an evicted or forgotten sender: its alert ended at once, then no longer pushed', async () => {
      const { am, w } = await alerting();
      w.change('a', 'up');
      w.change('a', 'down');
      await expect.poll(() => sources(am.bodies.at(-1) ?? [])).toEqual(['a']);
      const pushed = am.bodies.length;
      w.notifier?.forget('a', 'max_senders');
      w.views.delete('a');
      await expect.poll(() => am.bodies.at(-1)).toEqual([]);
      // Between the two, a push that ends it: endsAt now, not resend x 4 later, saying why.
      type Alert = {
        labels: { source: string };
        endsAt: string;
        annotations: { summary: string; description: string };
      };
      const ended = am.bodies
        .slice(pushed)
        .flatMap((b) => b as Alert[])
        .filter((a) => a.labels.source === 'a');
      expect(ended.length).toBeGreaterThan(0);
      expect(Date.parse(ended[0]?.endsAt ?? '')).toBe(w.t);
      expect(ended[0]?.annotations.summary).toBe('a is no longer watched');
      expect(ended[0]?.annotations.description).toContain(
        'let go to make room: MAX_SENDERS reached (max_senders)',
      );
    });
  });

  it('records a notification as told only with its outbox rows: both, or neither', () => {
    const w = senderUp();
    // The outbox cannot take a row (here: gone); the write fails, and nothing of it stays.
    w.db.exec('ALTER TABLE outbox RENAME TO outbox_away');
    expect(() => w.change('s', 'down')).toThrow(/no such table: outbox/);
    expect(w.db.prepare('SELECT source FROM notified').all()).toEqual([]);
    w.db.exec('ALTER TABLE outbox_away RENAME TO outbox');
    w.change('s', 'down', 'up');
    expect(w.told('s').map((n) => n.event)).toEqual(['down']);
  });

  it('keeps running while the state file refuses the record of a down (read-only), and tells it once, when the file takes writes again', () => {
    const w = senderUp();
    w.db.exec('PRAGMA query_only = 1');
    w.change('s', 'down');
    // The catch-ups of the ticks meanwhile are refused too, and kept.
    w.tick(3);
    expect(w.refusedWrites).toBe(4);
    w.db.exec('PRAGMA query_only = 0');
    expect(w.told('s')).toEqual([]);
    w.tick(1);
    expect(w.told('s').map((n) => n.event)).toEqual(['down']);
    w.tick(3);
    w.beatAgain('s');
    w.change('s', 'up');
    expectDownThenItsUp(w);
  });

  it('tells where a sender is once the file takes writes again, not what it went through meanwhile', () => {
    const w = senderUp();
    w.db.exec('PRAGMA query_only = 1');
    w.change('s', 'down');
    w.beatAgain('s');
    w.change('s', 'up');
    w.db.exec('PRAGMA query_only = 0');
    w.tick(2);
    expect(w.told('s')).toEqual([]);
    expect(w.refusedWrites).toBe(2);
  });

  it('does not send again a notification whose sending the file refused to record, and records it once it can', async () => {
    const r = await receiver();
    cleanups.push(r.close);
    const w = world();
    w.start({ webhooks: [r.target] });
    w.change('s', 'up');
    r.answer.delayMs = 300;
    w.change('s', 'down');
    w.db.exec('PRAGMA query_only = 1');
    await expect.poll(() => w.refusedWrites, { timeout: 5000 }).toBe(1);
    expect(r.bodies).toMatchObject([{ event: 'down', source: 's' }]);
    // Three delivery periods: each finds the row still pending in the file, and leaves it.
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect(r.bodies).toHaveLength(1);
    w.db.exec('PRAGMA query_only = 0');
    const status = () => w.db.prepare('SELECT status FROM outbox WHERE source = ?').all('s');
    await expect.poll(status, { timeout: 5000 }).toEqual([{ status: 'sent' }]);
    expect(r.bodies).toHaveLength(1);
  });

  it('forgets what it told of an evicted sender', () => {
    const w = world();
    w.start();
    w.change('a', 'up');
    w.change('a', 'down');
    expect(w.db.prepare('SELECT source FROM notified').all()).toHaveLength(1);
    w.notifier?.forget('a', 'forgotten');
    expect(w.db.prepare('SELECT source FROM notified').all()).toEqual([]);
  });
});
