/**
 * The monitor, assembled: UDP receiver -> ingest -> tracker/history ->
 * HTTP, plus the two clocks (liveness ticks and the `mark` event). Starts
 * and stops as one: `startMonitor(config, logger)` returns its addresses and
 * `stop()`. It never reads process.env and never exits the process, so
 * tests and the benchmark run the real thing in-process.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { bindFailure } from '../shared/bind-failure.js';
import type { LogDestination } from '../shared/logger.js';
import type { Keyring } from '../shared/signing.js';
import { startThreadPool } from '../shared/thread-priority.js';
import { inTurns } from '../shared/turns.js';
import type { ClientConfig } from './config.js';
import { adminGuard } from './http/admin-auth.js';
import { type Status, toApiReceived, toApiSender } from './http/api.js';
import { monitorMetrics } from './http/metrics.js';
import { PAGE_DATAGRAM_ROWS, PAGE_SENDER_LIMIT } from './http/page.js';
import {
  jsonArrayInParts,
  urgentSummariesInParts,
  urgentViewsInParts,
  VIEW_PACES,
} from './http/senders-in-parts.js';
import { buildHttp, closeHttp } from './http/server.js';
import { createEventHub, JsonText } from './http/sse.js';
import { createHistory } from './ingest/history.js';
import { readCapacityDrops, readKernelSocketStats } from './ingest/kernel-drops.js';
import { createLogLimiter } from './ingest/log-limiter.js';
import { createOverrunWatch } from './ingest/overrun.js';
import { createIngest, type Ingest } from './ingest/pipeline.js';
import { type PreparedReceiver, prepareReceiver } from './ingest/receiver.js';
import { createReplayGuard } from './ingest/replay.js';
import { createMaintenance } from './notify/maintenance.js';
import { startNotifier } from './notify/notifier.js';
import { reasonText, type TestSubject } from './notify/payload.js';
import { peerSigner, startPeerBeacon } from './peers/peer-beacon.js';
import { createChangeCounts } from './publish/change-counts.js';
import { createStateChangeSink } from './publish/state-changes.js';
import { openSilencesTable } from './store/silences.js';
import { openStore } from './store/store.js';
import { createClockStepWatch } from './tracking/clock-steps.js';
import { createTracker, type Tracker } from './tracking/tracker.js';

/** Senders a step of a liveness pass judges: ~0.2 ms (~0.5 ms when it credits uptime). */
const JUDGE_STEP = 1000;

export interface MonitorOptions {
  keyring?: Keyring;
  /** The token writes (silences) need; null or absent: writes are refused. */
  adminToken?: string | null;
  /** What the log destination wrote and dropped so far (stdout back-pressure). */
  log?: Pick<LogDestination, 'dropped' | 'written'>;
  /** Liveness evaluation period. */
  tickMs?: number;
  /** Time an HTTP client has to send a whole request (REQUEST_TIMEOUT_MS when absent). */
  httpRequestTimeoutMs?: number;
  /** How long an answer being sent may wait for its client (tests shorten it). */
  httpResponseIdleMs?: number;
  /** How long a stop lets HTTP requests in flight finish (CLOSE_GRACE_MS when absent). */
  httpCloseGraceMs?: number;
  /** The socket threads' HAND_OVER_BUSY_SHARE unless given (tests: 0 has the tracking thread decode every JSON datagram while the queue is under half full). */
  handOverBusyShare?: number;
}

export interface Monitor {
  udp: { address: string; port: number };
  http: { address: string; port: number };
  recvBufferBytes: number;
  tracker: Tracker;
  ingest: Ingest;
  status(): Status;
  /**
   * Settles with the error when a socket thread dies (it never does on a
   * stop): a monitor that cannot hear must not go on as if it could, so the
   * process owner stops it (main.ts: as a fatal error, exit 1).
   */
  readonly died: Promise<Error>;
  /** `planned` false (a fatal error): no bye to the peers, who must see the death it is. */
  stop(how?: { planned: boolean }): Promise<void>;
}

/** How often liveness is judged: a sender is late or down at most this long after its threshold. */
export const LIVENESS_TICK_MS = 250;
/** Length of each sender's heartbeat bar. */
const HEARTBEAT_SLOTS = 50;
/** The monitor's own downtimes the status lists. */
const MONITOR_GAPS_SHOWN = 10;

export const VERSION: string = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8'),
).version;

export async function startMonitor(
  config: ClientConfig,
  logger: Logger,
  options: MonitorOptions = {},
): Promise<Monitor> {
  // Before any of the monitor's threads starts (and lowers itself): the pool keeps the caller's priority.
  await startThreadPool();
  const keyring = options.keyring ?? new Map();
  // Made first, so that they load their code while the state file is read; bound once it is back.
  const socketThreads = prepareReceiver({
    host: config.udpHost,
    port: config.udpPort,
    recvBufferBytes: config.recvBufferBytes,
    threads: config.udpWorkers,
    queueBytes: config.udpQueueBytes,
    coalesceMs: config.udpCoalesceMs,
    classifier: {
      maxBytes: config.maxDatagramBytes,
      keys: [...keyring],
      requireAuth: config.requireAuth,
      allowFrom: config.allowFrom,
    },
    ...(options.handOverBusyShare === undefined ? {} : { handOverBusyShare: options.handOverBusyShare }),
  });
  /**
   * What the start has opened so far: closed last-first if it fails before
   * the monitor is whole. (A running monitor's stop() has an order of its
   * own, for clients and peers a failed start never had.)
   */
  const opened: Array<() => Promise<void>> = [() => socketThreads.abandon()];
  try {
    return await assembleMonitor(config, logger, { ...options, keyring }, socketThreads, opened);
  } catch (err) {
    // Whatever failed (the state file, most often), nothing the start opened outlives it,
    // and the error that stopped it is the one reported.
    for (const close of opened.reverse()) {
      await close().catch((closeErr: unknown) =>
        logger.fatal({ event: 'fatal', err: closeErr }, 'giving up the start: a part would not close'),
      );
    }
    throw err;
  }
}

async function assembleMonitor(
  config: ClientConfig,
  logger: Logger,
  options: MonitorOptions & { keyring: Keyring },
  socketThreads: PreparedReceiver,
  opened: Array<() => Promise<void>>,
): Promise<Monitor> {
  // The socket threads stamp datagrams with the wall clock: so does everything else.
  const now = Date.now;
  const { keyring } = options;
  const log = options.log ?? { dropped: () => 0, written: () => 0 };
  const startedAtMs = now();
  const shape = { sequenceWindow: config.sequenceWindow, heartbeatSlots: HEARTBEAT_SLOTS };
  const tracker = createTracker({
    maxSenders: config.maxSenders,
    lateGraceMs: config.lateGraceMs,
    downAfterMisses: config.downAfterMisses,
    stoppedTimeoutMs: config.stoppedTimeoutMs,
    ...shape,
  });
  // Before the socket opens: every known sender is back, every declared one listed.
  // Until when the tracker knows everything the monitor heard, for the state file's watermark: the last
  // liveness check's time (drops before it are blind times already: overrun.ts), or the start of a
  // blind time not every sender has taken in yet. 0 until the socket is bound.
  let checkedUntilMs = 0;
  const store = openStore(config.dataDir, tracker, shape, logger, now, config.stateSyncMs, () =>
    Math.min(checkedUntilMs, tracker.blindSinceMs()),
  );
  // A start that fails before the monitor observed anything leaves the file as it found it: a run it
  // recorded would count the time before it as watched (senders credited with uptime nobody saw).
  let observing = false;
  opened.push(() => (observing ? store.stop() : store.abandon()));
  const monitorName = config.monitorName === '' ? hostname() : config.monitorName;
  // The boot of this monitor's beats to its peers: one of them come back to it is known by it.
  const peerBoot = randomBytes(8).toString('hex');
  // A monitor never tracks itself. A list shared by monitors that watch each other names every one of them:
  // none expects beats from itself. And a record of its own name (a release before 13bc84e beat to itself when
  // its peers were listed by IP address) would go down for good now that it no longer does.
  const isSelf = (d: { source: string; kind: string }) => d.kind === 'protocol' && d.source === monitorName;
  const selfRecord = tracker.view(monitorName, startedAtMs);
  if (selfRecord !== undefined && isSelf(selfRecord)) tracker.forgetSender(monitorName);
  const history = createHistory(config.historySize);
  // A batch carries no more datagrams than the page has rows for (five batches a second).
  const hub = createEventHub({ maxClients: config.sseMaxClients, maxSamples: PAGE_DATAGRAM_ROWS });
  opened.push(() => hub.close());
  const limiter = createLogLimiter(config.exceptionLogLimit);
  const maintenance = createMaintenance(openSilencesTable(store.db), tracker, now, store.writeFailures);
  opened.push(async () => maintenance.stop());
  const notifier = startNotifier({
    db: store.db,
    config: {
      webhooks: config.webhooks,
      alertmanagers: config.alertmanagerUrls,
      notifyOn: config.notifyOn,
      repeatMs: config.notifyRepeat,
      maxAgeMs: config.notifyMaxAge,
      timeoutMs: config.notifyTimeout,
      queueMax: config.notifyQueueMax,
      alertResendMs: config.alertResendInterval,
      flapThreshold: config.flapThreshold,
      flapWindowMs: config.flapWindow,
      maxSenders: config.maxSenders,
      monitor: monitorName,
      alertMonitor: config.alertMonitorLabel === '' ? monitorName : config.alertMonitorLabel,
      statusUrl: config.publicUrl ?? `http://${hostname()}:${config.httpPort}`,
      userAgent: `udp-time-service/${VERSION}`,
      proxyUrl: config.notifyProxyUrl?.url ?? null,
    },
    logger,
    now,
    view: (source) => tracker.view(source, now()),
    views: () => tracker.views(now()),
    silenced: (source, atMs) => maintenance.covering(source, atMs) !== null,
    silencesGeneration: () => maintenance.generation,
    showsBy: (source) => tracker.showsByMs(source),
    heardThrough: () => checkedUntilMs,
    previousRunAliveMs: store.previousRunAliveMs,
    writeFailures: store.writeFailures,
  });
  opened.push(() => notifier.stop());
  // The declarations, once the notifications know every stored sender (its alert firing, its incident
  // told): those taken off the list before they were heard from, and the senders a MAX_SENDERS lowered
  // since the file was written left no room for, are let go as any eviction, their alerts ended.
  const letGoAtStart = tracker.declare(
    config.declared.filter((d) => !isSelf(d)),
    startedAtMs,
  );
  // UNDECLARED_SENDERS=ignore refuses the datagrams of senders nobody declared: one kept from an earlier run
  // (or taken off the list) could never beat again, and would go down and notify. It is let go too.
  if (config.undeclaredSenders === 'ignore') {
    for (const { source } of [...tracker.all()]) {
      if (tracker.isDeclared(source)) continue;
      tracker.forgetSender(source);
      letGoAtStart.push({ source, reason: 'undeclared' });
    }
  }
  for (const { source, reason } of letGoAtStart) {
    notifier.forget(source, reason);
    logger.warn(
      { event: 'evict', source, reason },
      `sender ${source} let go at start: ${reasonText(reason)}`,
    );
  }
  /** A state change since the page's last snapshot: the next tick sends one. */
  let changedSinceSnapshot = false;
  const changeCounts = createChangeCounts();
  const stateChanged = createStateChangeSink(logger, hub, [
    store.writeBehind.changes,
    (changes) => {
      // A sender new to the monitor may fall under a silence already.
      for (const c of changes) if (c.from === null) maintenance.adopt(c.source, c.atMs);
    },
    notifier.changes,
    changeCounts.record,
    () => {
      changedSinceSnapshot = true;
    },
  ]);
  const replay =
    keyring.size > 0
      ? createReplayGuard({
          window: config.replayWindow,
          maxClockSkewMs: config.maxClockSkewMs,
          maxSources: config.maxSenders,
          maxBoots: 4,
        })
      : null;
  // The boots the previous run tracked: its restart locks out no sender whose clock drifted meanwhile.
  if (replay !== null) {
    for (const s of tracker.all())
      if (s.kind === 'protocol' && s.firstSeenMs !== null)
        replay.seed(s.source, s.boot, s.sequence.highest, s.baseDelayMs);
  }
  const ingest = createIngest({
    replay,
    tracker,
    history,
    ignoreUndeclared: config.undeclaredSenders === 'ignore',
    self: config.peerMonitors.length === 0 ? null : { source: monitorName, boot: peerBoot },
    limiter,
    logger,
    stateChanged,
    senderEvicted: (source) => notifier.forget(source, 'max_senders'),
    // Converted for the page only while someone is watching, and only the rows a batch sends.
    publish: (entry) => {
      if (hub.clients > 0) hub.publish('datagram', () => toApiReceived(entry));
    },
  });

  const { promise: died, resolve: deafened } = Promise.withResolvers<Error>();

  const udp = {
    host: { variable: 'UDP_HOST', value: config.udpHost },
    port: { variable: 'UDP_PORT', value: config.udpPort },
  };
  /**
   * The wall clock set ahead: the time it skipped was not watched (clock-steps.ts). Looked at before each
   * batch of datagrams is handled (a datagram stamped after the step is judged by it) and at each tick.
   */
  const clockSteps = createClockStepWatch();
  const lookAtClocks = (): void => {
    const nowMs = now();
    const stepMs = clockSteps.look(nowMs, performance.now());
    if (stepMs === 0) return;
    if (stepMs > 0) tracker.blind(nowMs - stepMs, nowMs);
    logger.warn(
      { event: 'clock_step', stepMs: Math.round(stepMs) },
      `the wall clock stepped ${Math.round(stepMs)} ms${stepMs > 0 ? ': that time is not judged' : ''}`,
    );
  };
  // The network namespace's full-buffer drops before the socket is made (overrun.ts).
  const capacityBeforeSocket = readCapacityDrops();
  const receiver = await socketThreads
    .bind({
      beforeBatch: lookAtClocks,
      readable: ingest.readable,
      exception: ingest.socketError,
      died: deafened,
    })
    .catch((err: unknown) => Promise.reject(bindFailure(err, udp)));
  opened.push(() => receiver.stop());
  tracker.listening(now());
  observing = true;
  // Linux doubles SO_RCVBUF for bookkeeping: less than twice the asked size
  // there means net.core.rmem_max capped it.
  const granted = receiver.recvBufferBytes;
  const short = granted < config.recvBufferBytes * (process.platform === 'linux' ? 2 : 1);
  logger[short ? 'warn' : 'info'](
    {
      event: 'listening',
      protocol: 'udp',
      address: receiver.address.address,
      port: receiver.address.port,
      recvBufferBytes: granted,
      recvBufferAsked: config.recvBufferBytes,
    },
    short
      ? `udp receive buffer ${granted} bytes is smaller than the ${config.recvBufferBytes} asked (raise net.core.rmem_max)`
      : `udp listening on ${receiver.address.address}:${receiver.address.port}`,
  );

  const kernel = () => readKernelSocketStats(receiver.address.port);
  function status(): Status {
    const counts = tracker.stateCounts();
    return {
      service: 'client',
      version: VERSION,
      startedAt: new Date(startedAtMs).toISOString(),
      uptimeSeconds: Math.round((now() - startedAtMs) / 1000),
      udp: {
        address: receiver.address.address,
        port: receiver.address.port,
        recvBufferBytes: granted,
        threads: config.udpWorkers,
        queueDrops: receiver.queueDrops(),
      },
      totals: {
        datagrams: ingest.stats.datagrams,
        bytes: ingest.stats.bytes,
        accepted: ingest.stats.accepted,
        text: ingest.stats.text,
        exceptions: Object.fromEntries(ingest.stats.exceptions),
      },
      lastDatagramAt:
        ingest.stats.lastDatagramAtMs === null ? null : new Date(ingest.stats.lastDatagramAtMs).toISOString(),
      senders: {
        total: tracker.size,
        byState: counts,
      },
      kernel: kernel(),
      stateFile: {
        path: store.path,
        writes: store.writeBehind.stats.writes,
        failures: store.writeFailures.count,
      },
      monitorDowntime: store.monitorGaps(MONITOR_GAPS_SHOWN).map((g) => ({
        from: new Date(g.fromMs).toISOString(),
        to: new Date(g.toMs).toISOString(),
        seconds: Math.round((g.toMs - g.fromMs) / 100) / 10,
      })),
    };
  }

  /** How far behind the clock the latest liveness tick judged (set by it, below). */
  let judgementLagMs = 0;
  let httpConnectionsRefused = 0;
  let httpResponsesCut = 0;
  const metrics = monitorMetrics({
    ingest: ingest.stats,
    senders: (take) => urgentSummariesInParts(tracker, config.metricsSenderSeries, now, take),
    timings: tracker.timings,
    stateCounts: () => tracker.stateCounts(),
    stateChanges: changeCounts.entries,
    evictions: () => tracker.evictions,
    sseEventsDropped: () => hub.dropped,
    notifications: notifier.stats,
    store: {
      get writes() {
        return store.writeBehind.stats.writes;
      },
      // Of every writer: the sync, the notifications' records, the silences.
      get failures() {
        return store.writeFailures.count;
      },
      get incidentsDropped() {
        return store.writeBehind.stats.incidentsDropped;
      },
      get lastWriteMs() {
        return store.writeBehind.stats.lastWriteMs;
      },
    },
    kernel,
    socketThreads: () => receiver.stats(),
    queueDrops: () => receiver.queueDrops(),
    socketWakeups: () => receiver.wakeups(),
    decodedOnMain: () => receiver.decodedOnMain(),
    socketBatches: () => receiver.batches(),
    judgementLagMs: () => judgementLagMs,
    logLinesDropped: log.dropped,
    logBytesWritten: log.written,
    sseClients: () => hub.clients,
    httpConnectionsRefused: () => httpConnectionsRefused,
    httpResponsesCut: () => httpResponsesCut,
    recvBufferBytes: granted,
  });

  const app = await buildHttp({
    version: VERSION,
    historySize: config.historySize,
    markIntervalMs: config.markIntervalMs,
    tracker,
    history,
    hub,
    metrics,
    status,
    incidents: (source, limit) => store.incidents(source, limit),
    lastNotification: (source) => notifier.last(source),
    maintenance,
    admin: adminGuard(options.adminToken ?? null),
    testNotification: async ({ source, target }) => {
      let subject: TestSubject | null = null;
      if (source !== null) {
        const view = tracker.view(source, now());
        if (view === undefined) return 'unknown_sender';
        subject = { source, displayName: view.displayName, state: view.state, sinceMs: view.stateSinceMs };
      }
      if (!notifier.hasTargets) return 'no_targets';
      return (await notifier.test(subject, target)) ?? 'unknown_target';
    },
    forgetSender: (source) => {
      if (tracker.isDeclared(source)) return 'declared';
      if (!tracker.forgetSender(source)) return 'unknown';
      // Its row and its incidents go with the state file's next write (the tracker's removals).
      notifier.forget(source, 'forgotten');
      return 'forgotten';
    },
    ready: () => receiver.bound() && app.server.listening,
    now,
    logger,
    requestTimeoutMs: options.httpRequestTimeoutMs,
    // Room for SSE_MAX_CLIENTS live updates besides HTTP_MAX_CONNECTIONS: one limit of both together.
    maxConnections: config.httpMaxConnections + config.sseMaxClients,
    connectionRefused: () => {
      httpConnectionsRefused++;
    },
    responseCut: () => {
      httpResponsesCut++;
    },
    responseIdleMs: options.httpResponseIdleMs,
  });
  opened.push(() => closeHttp(app, options.httpCloseGraceMs));
  await app.listen({ port: config.httpPort, host: config.httpHost }).catch((err: unknown) =>
    Promise.reject(
      bindFailure(err, {
        host: { variable: 'HTTP_HOST', value: config.httpHost },
        port: { variable: 'HTTP_PORT', value: config.httpPort },
      }),
    ),
  );
  const httpAddress = app.server.address() as { address: string; port: number };
  logger.info(
    { event: 'listening', protocol: 'http', address: httpAddress.address, port: httpAddress.port },
    `status page on http://${httpAddress.address}:${httpAddress.port}/`,
  );

  // Who watches the watchman: beats of this monitor's own to its peers.
  const peers = startPeerBeacon(
    {
      peers: config.peerMonitors,
      intervalMs: config.peerInterval,
      source: monitorName,
      boot: peerBoot,
      signer: peerSigner(keyring),
      own: receiver.address,
    },
    logger,
  );

  // Liveness is evaluated every tick; the page gets a senders snapshot once a
  // second (it ticks "last heard" by itself), and at the next tick after a
  // state change (a new sender shows at once) once none is being built, the
  // most urgent senders first.
  const tickMs = options.tickMs ?? LIVENESS_TICK_MS;
  const snapshotEvery = Math.max(1, Math.round(1000 / tickMs));
  let ticks = 0;
  const overruns = createOverrunWatch(
    () => ({
      queueDrops: receiver.queueDrops(),
      kernelDrops: kernel()?.drops ?? 0,
      capacityDrops: readCapacityDrops(),
    }),
    (fromMs, nowMs, dropped, { queueDrops, kernelDrops }) => {
      tracker.blind(fromMs, nowMs);
      logger.warn(
        { event: 'overrun', dropped, queueDrops, kernelDrops },
        `${dropped} datagrams dropped: the monitor fell behind (its queue or the kernel's receive buffer was full); silence until now is not judged`,
      );
    },
    (count) => ingest.discardedByKernel(count),
    capacityBeforeSocket,
  );
  /**
   * How far the monitor has heard everything: what the socket threads have read and handed over (read
   * before their drop counts: overrun.ts), the drops since taken as a blind time. The liveness tick
   * judges up to it, and the state file's watermark goes no further (checkedUntilMs).
   */
  const heardThrough = (nowMs: number): number => {
    const untilMs = Math.min(nowMs, receiver.heardUntil());
    overruns.check(nowMs, untilMs);
    checkedUntilMs = untilMs;
    return untilMs;
  };
  // A pass over 50,000 senders takes ~10 ms (and ~25 ms when it credits uptime): it runs a
  // step at a time, between the socket threads' batches, timers and requests (shared/turns.ts).
  let judging = false;
  let stopping = false;
  const judge = (untilMs: number): void => {
    if (judging) return; // the pass before is not done yet: the next tick judges
    judging = true;
    const pass = tracker.pass(untilMs);
    const step = () => {
      if (stopping) return true;
      const changes = pass.step(JUDGE_STEP);
      if (changes.length > 0) stateChanged(changes);
      return pass.done;
    };
    // A throw is not caught: as in a timer, it ends the process.
    void inTurns(step).finally(() => {
      judging = false;
    });
  };
  // The page's snapshot: its most urgent senders, built and serialized a part at a time (~9 ms of
  // the loop at 50,000 senders in one go, every second), then the counts with them. One at a time: a
  // tick that finds one under way leaves the next to a later tick.
  let snapshotting = false;
  const snapshot = (): void => {
    snapshotting = true;
    const array = jsonArrayInParts();
    const building = urgentViewsInParts(
      tracker,
      PAGE_SENDER_LIMIT,
      now,
      (part) => array.add(part.map(toApiSender)),
      undefined,
      VIEW_PACES.snapshot,
    );
    // A throw is not caught: as in a timer, it ends the process.
    void building
      .then(() => {
        if (stopping) return;
        hub.publish('counts', tracker.stateCounts());
        hub.publish('senders', new JsonText(array.close()));
      })
      .finally(() => {
        snapshotting = false;
      });
  };
  const liveness = setInterval(() => {
    lookAtClocks();
    const nowMs = now();
    maintenance.tick(nowMs);
    // Silence is judged only up to what was read and handled: a beat still waiting on a socket thread,
    // or in the kernel for one, is not missing.
    const judgedUntilMs = heardThrough(nowMs);
    judgementLagMs = nowMs - judgedUntilMs;
    judge(judgedUntilMs);
    const second = ++ticks % snapshotEvery === 0;
    // Once a second: reminders and settled flapping.
    if (second) notifier.tick(nowMs);
    if (hub.clients > 0 && (second || changedSinceSnapshot) && !snapshotting) {
      changedSinceSnapshot = false;
      snapshot();
    }
  }, tickMs);

  let lastMarkDatagrams = 0;
  const mark = setInterval(() => {
    for (const { reason, suppressed } of limiter.rollover()) {
      logger.warn(
        { event: 'suppressed', reason, suppressed },
        `${suppressed} more ${reason} exceptions not logged`,
      );
    }
    const nowMs = now();
    const last = ingest.stats.lastDatagramAtMs;
    const sinceLastDatagramS = last === null ? null : Math.round((nowMs - last) / 100) / 10;
    const fresh = ingest.stats.datagrams - lastMarkDatagrams;
    lastMarkDatagrams = ingest.stats.datagrams;
    const counts = tracker.stateCounts();
    const states = counts;
    logger.info(
      {
        event: 'mark',
        sinceLastDatagramS,
        datagrams: ingest.stats.datagrams,
        datagramsSinceMark: fresh,
        states,
        logLinesDropped: log.dropped(),
      },
      fresh === 0 ? 'waiting...' : `${fresh} datagrams since last mark`,
    );
    hub.publish('mark', {
      at: new Date(nowMs).toISOString(),
      sinceLastDatagramS,
      datagramsSinceMark: fresh,
      states,
    });
  }, config.markIntervalMs);

  return {
    udp: { address: receiver.address.address, port: receiver.address.port },
    http: httpAddress,
    recvBufferBytes: granted,
    tracker,
    ingest,
    status,
    died,
    async stop(how = { planned: true }) {
      stopping = true;
      clearInterval(liveness);
      clearInterval(mark);
      maintenance.stop();
      // Its streams finished first: the server then finds their connections idle and closes them.
      await hub.close();
      // For the last write's watermark: read while the socket threads still answer (stopped, they vouch
      // for everything).
      heardThrough(now());
      await Promise.all([receiver.stop(), closeHttp(app, options.httpCloseGraceMs)]);
      // A bye to the peers first: they see a planned stop, not a death (after a fatal error, none).
      await peers?.stop(how);
      await notifier.stop();
      // After the socket closed: the last write holds every datagram counted.
      await store.stop();
    },
  };
}
