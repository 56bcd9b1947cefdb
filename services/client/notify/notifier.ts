/**
 * Tells someone. Every state change goes through `changes()` (from the one
 * state-change sink), which decides what to notify:
 *   silenced? -> flapping? -> NOTIFY_ON? (up only after a notified problem)
 *   -> told already? (the same event of the same incident: a restart that
 *      lost the state file's last write sees the change again; or, from a
 *      record behind a down told, a late on the way there)
 * A change a silence held back, and the state a flapping sender settles in
 * (also one that was flapping when the monitor stopped), are caught up
 * later: what the sender is then is told if it was not.
 * Each notification goes into the outbox, one row per webhook target,
 * before anything is sent. Delivery runs apart, per target, so a slow or dead
 * target delays neither the datagram path nor the other targets; failed
 * sends are retried with backoff until NOTIFY_MAX_AGE, then given up.
 * Alertmanager gets the set of firing alerts on every change and again every
 * ALERT_RESEND_INTERVAL, as Prometheus sends them, but for silenced senders;
 * a resolution is sent until every Alertmanager took it.
 */
import { randomUUID } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import type { Logger } from 'pino';
import {
  DOWN_EVENTS,
  type EvictReason,
  endsIncident,
  PROBLEM_EVENTS,
  type SenderNotifyEvent,
} from '../../shared/vocabulary.js';
import { MAX_DECLARED_SENDERS } from '../config/declared-senders.js';
import { atomically } from '../store/atomically.js';
import { type NotifiedRow, openNotifiedTable } from '../store/notified.js';
import { type LastNotification, type OutboxRow, openOutbox } from '../store/outbox.js';
import { recoveriesSince } from '../store/recoveries.js';
import type { WriteFailures } from '../store/write-failures.js';
import type { SenderState, SenderView, StateChange } from '../tracking/tracker.js';
import { postAlerts } from './alertmanager.js';
import { BACKOFF_DEFAULTS, nextAttemptAtMs } from './backoff.js';
import { createFlapDetector } from './flapping.js';
import { createHttpClient, type HttpClient } from './http-client.js';
import {
  ALERT_LIFETIME_RESENDS,
  ALERT_SEVERITY,
  alertmanagerAlert,
  eventOfChange,
  incidentKey,
  type Notification,
  type PayloadContext,
  type ResolvedState,
  type TestSubject,
  webhookBody,
} from './payload.js';
import { keyHost, queueKey, queuesMovedInPlace } from './queues.js';
import type { WebhookTarget } from './targets.js';
import { sendTestNotification, type TestDeps, type TestNotification } from './test-notification.js';
import { type PostOptions, postWebhook } from './webhook.js';

export interface NotifierConfig {
  webhooks: readonly WebhookTarget[];
  alertmanagers: readonly WebhookTarget[];
  notifyOn: readonly SenderNotifyEvent[];
  repeatMs: number | null;
  maxAgeMs: number;
  timeoutMs: number;
  queueMax: number;
  alertResendMs: number;
  flapThreshold: number;
  flapWindowMs: number;
  /** MAX_SENDERS: with the declared senders (kept beyond it), the senders the flap detector keeps. */
  maxSenders: number;
  /** This monitor, as the webhook's `monitor` field names it. */
  monitor: string;
  /** The Alertmanager `monitor` label: the same on redundant monitors, so Alertmanager sees one alert. */
  alertMonitor: string;
  /** Where people read more: links go to `${statusUrl}/senders/<source>`. */
  statusUrl: string;
  userAgent: string;
  /** The HTTP proxy every notification goes through (NOTIFY_PROXY_URL); null: none. */
  proxyUrl: URL | null;
}

export interface TargetStats {
  sent: number;
  failed: number;
  retried: number;
  givenUp: number;
  dropped: number;
}

export interface Notifier {
  /** Called with every state change, before it is logged: the notifications it makes are in the outbox on return. */
  changes(changes: readonly StateChange[]): void;
  /** The newest notification of a sender and its delivery status. */
  last(source: string): LastNotification | null;
  /** Per target label (webhooks and Alertmanagers). */
  readonly stats: ReadonlyMap<string, TargetStats>;
  /** Liveness-clock work: reminders, flapping that settled, silences that ended. */
  tick(nowMs: number): void;
  /**
   * A sender the monitor stopped tracking (`why`: evicted, forgotten by an
   * operator, not declared): its alert ends now, saying why, and nothing
   * more is said or remembered about it.
   */
  forget(source: string, why: EvictReason): void;
  /** Whether any webhook or Alertmanager is configured. */
  readonly hasTargets: boolean;
  /**
   * A test notification to every target, or to those labelled `only`, now,
   * once (test-notification.ts); naming a sender if given. Null when `only`
   * names no target.
   */
  test(subject: TestSubject | null, only: string | null): Promise<TestNotification | null>;
  stop(): Promise<void>;
}

export interface NotifierDeps {
  db: DatabaseSync;
  config: NotifierConfig;
  logger: Logger;
  now: () => number;
  /** The current view of a sender (for names, boot and sequence of an incident). */
  view(source: string): SenderView | undefined;
  /** Every sender (to rebuild the firing alerts at start). */
  views(): SenderView[];
  /** Whether a silence covers the sender now. */
  silenced(source: string, nowMs: number): boolean;
  /** Moves whenever the silences change (Maintenance.generation). */
  silencesGeneration(): number;
  /**
   * When a sender this run has not heard yet will have shown itself if it
   * lives (Tracker.showsByMs); null once heard. Until then its record may be
   * out of date: it may have come back while the monitor was away.
   */
  showsBy(source: string): number | null;
  /**
   * How far the monitor has heard everything (what the liveness tick judges
   * up to): a sender has shown itself by showsBy once this is past it, its
   * beat not left waiting in a queue.
   */
  heardThrough(): number;
  /** The previous run's last sign of life (the state file's), null without one: how long Alertmanager went without pushes. */
  previousRunAliveMs: number | null;
  /** The connections notifications go out on: createHttpClient()'s unless given (tests: a stub DNS). */
  http?: HttpClient;
  /** Where a write the state file refused is counted and logged (a full disk): the notifier keeps running. */
  writeFailures: WriteFailures;
}

/** A sender new to the monitor, up: decide() returns at once for it. */
const isFirstSight = (c: StateChange): boolean => c.from === null && c.to === 'up';

interface FiringAlert {
  sinceMs: number;
  reason: string;
  resolvedAtMs: number | null;
  /** What ended it (the state the sender changed to, and why; `forgotten`: an operator let it go). */
  resolvedTo: { state: ResolvedState; reason: string } | null;
}

/** A webhook and the name of its queue in the outbox (queueKey). */
interface WebhookQueue {
  target: WebhookTarget;
  key: string;
}

const DELIVERY_PERIOD_MS = 500;
/** Outbox rows dropped or given up kept per target at least (NOTIFY_QUEUE_MAX when more), to show what became of them. */
export const FINISHED_KEPT_AT_LEAST = 1000;
/** Resolutions waiting for an Alertmanager to take them, at most (the firing alerts are MAX_SENDERS at most). */
export const MAX_RESOLVED_ALERTS = 10_000;
const BATCH = 16;
const KEEP_DONE_MS = 7 * 86_400_000;

export function startNotifier(deps: NotifierDeps): Notifier {
  const { db, config, now } = deps;
  const log = deps.logger.child({ component: 'notify' });
  const outbox = openOutbox(db);
  const notified = openNotifiedTable(db);
  // One entry for each tracked sender at most (a sender forgotten is forgotten here too): none that flaps
  // is ever made room for, whatever MAX_SENDERS is, or its settling would never be told.
  const flaps = createFlapDetector({
    threshold: config.flapThreshold,
    windowMs: config.flapWindowMs,
    // Declared senders are kept beyond MAX_SENDERS (tracker.ts): room for them all too.
    maxSources: config.maxSenders + MAX_DECLARED_SENDERS,
  });
  const stats = new Map<string, TargetStats>();
  const statsOf = (label: string): TargetStats => {
    let s = stats.get(label);
    if (s === undefined) {
      s = { sent: 0, failed: 0, retried: 0, givenUp: 0, dropped: 0 };
      stats.set(label, s);
    }
    return s;
  };
  for (const t of config.webhooks) statsOf(t.label);
  for (const t of config.alertmanagers) statsOf(t.label);
  const queues: readonly WebhookQueue[] = config.webhooks.map((target) => ({
    target,
    key: queueKey(target.url),
  }));
  const labelOfKey = new Map(queues.map((q) => [q.key, q.target.label]));
  /** A queue as logs, metrics and the API name it: a configured URL's label; another's host part only. */
  const queueName = (key: string): string => labelOfKey.get(key) ?? keyHost(key);
  /** The queues being drained, by key. */
  const busy = new Set<string>();
  /** Per queue, the outbox rows whose attempt is in flight: never dropped by a full queue meanwhile. */
  const sending = new Map<string, Set<number>>();
  const sendingOf = (key: string): Set<number> => {
    let s = sending.get(key);
    if (s === undefined) {
      s = new Set();
      sending.set(key, s);
    }
    return s;
  };
  const notifying = config.webhooks.length > 0 || config.alertmanagers.length > 0;
  /**
   * Notifications (webhooks) are told, and what was told remembered, only
   * with a webhook to tell them to: a run without one records nothing as
   * told, so a later run with one tells what is still so (Alertmanager's
   * alerts are the firing set, pushed whole).
   */
  const hasWebhooks = config.webhooks.length > 0;
  /** Per target, rows dropped or given up kept at most, besides those pruned by age. */
  const finishedKept = Math.max(config.queueMax, FINISHED_KEPT_AT_LEAST);
  // What the configuration changed since the last start, in one unit with its record. A release
  // before schema 4 queued by label: the URL that has the label now takes its rows, as that release
  // would have sent them to it (once). A URL changed in place takes its old queue. The rows left for
  // a URL the configuration no longer names would never be sent and would stay for good: given up.
  const keys = queues.map((q) => q.key);
  const { handedOver, givenUp } = atomically(db, () => {
    const last = outbox.lastConfigured();
    if (last.byLabel) for (const q of queues) outbox.retarget(q.target.label, q.key);
    // At the first start on an older file no queue was recorded, so none is new: that release gave
    // up what waited for a URL no longer configured, and so does this start.
    const added = last.byLabel ? [] : keys.filter((k) => !last.keys.has(k));
    const moves = queuesMovedInPlace([...outbox.orphaned(keys).keys()], added);
    const handedOver = moves.map(([from, to]) => ({ to, count: outbox.handOver(from, to, now()) }));
    const givenUp = outbox.giveUpUnconfigured(keys, now());
    outbox.recordConfigured(keys);
    return { handedOver, givenUp };
  });
  for (const { to, count } of handedOver) {
    const target = queueName(to);
    log.warn(
      { event: 'notify', target, outcome: 'moved', count },
      `${count} notifications waiting for a URL no longer configured go to ${target}, the one new URL on its host`,
    );
  }
  for (const [key, count] of givenUp) {
    const target = queueName(key);
    log.warn(
      { event: 'notify', target, outcome: 'given_up', count, error: 'target no longer configured' },
      `${count} notifications for ${target} given up: the target is no longer configured`,
    );
  }
  const http = deps.http ?? createHttpClient({ proxyUrl: config.proxyUrl });
  /** How every POST goes out: webhooks, Alertmanager pushes and tests alike. */
  const postOptions: PostOptions = {
    timeoutMs: config.timeoutMs,
    userAgent: config.userAgent,
    dispatcher: http.dispatcher,
  };
  const payload: PayloadContext = { monitor: config.monitor, statusUrl: config.statusUrl };
  const testDeps: TestDeps = {
    webhooks: config.webhooks,
    alertmanagers: config.alertmanagers,
    payload,
    alertMonitor: config.alertMonitor,
    severity: ALERT_SEVERITY,
    alertResendMs: config.alertResendMs,
    post: postOptions,
    log,
    stopped: () => stopped,
  };
  let stopped = false;
  /**
   * Senders whose state may not have been told, each with whether it is
   * where a flapping settled (`settling`): whose change a silence held back,
   * looked at again whenever the silences change; and, at the first tick,
   * those the start finds so (filled below: a silence may have ended while
   * the monitor was stopped, a flapping may have settled).
   */
  const toCatchUp = new Map<string, boolean>();
  let caughtUpGeneration = Number.NaN;
  /**
   * Senders whose catch-up waits for them to show themselves (catchUp()),
   * each with its `settling`; and the earliest time to look at them again.
   */
  const notShownYet = new Map<string, boolean>();
  let notShownUntilMs = Number.POSITIVE_INFINITY;
  /**
   * Senders told a problem that the restart's record predates (the state
   * file's write of the change told was lost: a crash within its delay),
   * each with the incident key its record gives (`recordKey`: an older last
   * beat, when the beats before the change were not written either). While
   * the sender's last beat is the record's, a problem is the incident told
   * (keyFor()): a dead sender going down again tells nothing new. One that
   * the restart has up is told up once this run hears it with another last
   * beat than both.
   */
  const recordBehind = new Map<string, string>();
  /**
   * Senders whose change (or catch-up) was decided while the state file
   * refused the write that records it (a full disk): nothing of it was told
   * or recorded. Each with its `settling`, caught up (catchUp()) by the next
   * tick whose write goes through: told what it is then, if that was not
   * said. One entry per tracked sender at most (forget() lets go of one).
   */
  const unrecorded = new Map<string, boolean>();
  /** One of those maps is to ask again of `source`: where a flapping settled stays so, whoever asks. */
  const askAgain = (map: Map<string, boolean>, source: string, settling = false): void => {
    map.set(source, settling || map.get(source) === true);
  };
  /** Runs a write of the notifications' records: false when the file refused it (write-failures.ts). */
  const recorded = (write: () => void): boolean => deps.writeFailures.tried(write);
  /**
   * A sender the start restored and this run has not heard yet: when to
   * look at it again, as far as the monitor has read (the time it will have
   * shown itself if it lives; before the socket is bound, at once: the next
   * tick); null once it has shown itself (or was heard).
   */
  const notShownUntil = (source: string): number | null => {
    const showsBy = deps.showsBy(source);
    const heardMs = deps.heardThrough();
    if (showsBy === null || showsBy <= heardMs) return null;
    return Number.isFinite(showsBy) ? showsBy : heardMs;
  };
  // Told flapping, and changed within a window: flapping still, until quiet for a window after its last
  // change. Quiet for longer (it settled, in a state not told perhaps, while this or an earlier run
  // went on), it is no longer flapping: caught up, as where it settled, at the first tick.
  if (hasWebhooks) {
    for (const r of notified.withEvent('flapping')) {
      const sinceMs = deps.view(r.source)?.stateSinceMs;
      if (sinceMs === undefined) continue;
      if (now() - sinceMs < config.flapWindowMs) flaps.resume(r.source, sinceMs);
      else askAgain(toCatchUp, r.source, true);
    }
  }

  /**
   * The notification of `event` for change `c`. `previous` is what was last
   * told of the sender and `v` its view, both read once by the caller (a
   * view is built afresh on each read).
   */
  function notification(
    event: SenderNotifyEvent,
    c: StateChange,
    key: string,
    previous: NotifiedRow | null,
    v: SenderView | undefined,
  ): Notification {
    return {
      fromSinceMs: endsIncident(event, previous?.event ?? null) ? (previous?.atMs ?? null) : null,
      flap:
        event === 'flapping'
          ? { changes: flaps.changesInWindow(c.source, c.atMs), windowMs: config.flapWindowMs }
          : null,
      id: randomUUID(),
      event,
      source: c.source,
      displayName: v?.displayName ?? null,
      from: c.from,
      to: c.to,
      reason: c.reason,
      atMs: c.atMs,
      sinceMs: v?.stateSinceMs ?? c.atMs,
      incidentKey: key,
    };
  }

  /**
   * The incident key. A problem opens an incident, named by the sender's
   * last beat; an up or a stopped answers it with its key, and a reminder
   * repeats it. A flapping notice goes on with a problem told within the
   * flapping window before it (the incident it interrupts), and the problem
   * a flapping sender settles in (`settling`) with the flapping's; and a
   * problem of a sender whose last beat is still that of a record behind
   * the problem told (recordBehind: a lost write) with the problem told.
   * Nothing else goes on with what was told before: with `up` not in
   * NOTIFY_ON an outage that came back is never answered, and the next one,
   * or the next flapping, is a new incident.
   */
  function keyFor(
    event: SenderNotifyEvent,
    source: string,
    previous: NotifiedRow | null,
    v: SenderView | undefined,
    { atMs = now(), settling = false }: { atMs?: number; settling?: boolean } = {},
  ): string {
    const interrupted =
      event === 'flapping' && answers(previous) && atMs - (previous?.atMs ?? 0) <= config.flapWindowMs;
    const goesOn =
      endsIncident(event, previous?.event ?? null) ||
      event === 'reminder' ||
      interrupted ||
      (settling && previous?.event === 'flapping' && PROBLEM_EVENTS.has(event));
    if (goesOn) return previous?.incidentKey ?? incidentKey(source, null, null, 'down');
    const key = incidentKey(
      source,
      v?.boot ?? null,
      v?.lastSeq ?? null,
      event === 'never_seen' ? 'never_seen' : 'down',
      v?.lastSeenMs ?? null,
    );
    // The record behind what was told, and no beat since: the same incident.
    if (answers(previous) && recordBehind.get(source) === key) return previous.incidentKey;
    return key;
  }

  /**
   * What was last told of the sender was this event of this incident (or,
   * from a record behind a down told, this is a late on the way there): a
   * change seen again (a restart that lost the state file's last write) has
   * nothing new to say. A key names one incident where the last beat does (a
   * protocol sender's boot and seq, a plain-text sender's last arrival) or
   * for never_seen.
   */
  function told(
    previous: NotifiedRow | null,
    event: SenderNotifyEvent,
    key: string,
    v: SenderView | undefined,
  ): boolean {
    if (previous === null || previous.incidentKey !== key) return false;
    // Late on the way down again, from a record behind the down told (a lost write): that down was told.
    if (event === 'late' && recordBehind.has(previous.source) && DOWN_EVENTS.has(previous.event)) return true;
    if (previous.event !== event) return false;
    return event === 'never_seen' || (v?.lastSeq ?? null) !== null || (v?.lastSeenMs ?? null) !== null;
  }
  /** `up` answers a problem that was told; with nothing told, there is nothing to answer. */
  const answers = (previous: NotifiedRow | null | undefined): previous is NotifiedRow =>
    previous != null && PROBLEM_EVENTS.has(previous.event);
  /** The incident key the sender's last beat gives, whatever was told. */
  const lastBeatKey = (source: string, v: SenderView): string => keyFor('down', source, null, v);

  /**
   * Whether `event` is told, `previous` being what was last told of the
   * sender. NOTIFY_ON says, but `up` is told only when it answers a problem
   * told, and `stopped` is told whenever it does, listed or not: a sender
   * told down that signs off must not leave its receivers' incident open.
   */
  function wanted(event: SenderNotifyEvent, previous: NotifiedRow | null): boolean {
    if (!mayTell(event)) return false;
    if (event === 'up') return answers(previous);
    if (event === 'stopped') return config.notifyOn.includes('stopped') || answers(previous);
    return true;
  }
  /** Whether `event` can be told at all, whatever was told before (no need to look that up otherwise). */
  const mayTell = (event: SenderNotifyEvent): boolean =>
    event === 'stopped' || config.notifyOn.includes(event);

  /**
   * Whether a change counts towards flapping: it enters or leaves a state
   * that NOTIFY_ON tells. A sender that goes from up to late and back, with
   * `late` not told, changes nothing anyone hears of: no flapping notice for
   * it, and no real outage held back behind one.
   */
  const tells = (state: StateChange['from']): boolean => {
    switch (state) {
      case 'down':
        return config.notifyOn.includes('down') || config.notifyOn.includes('never_seen');
      case 'late':
      case 'stopped':
        return config.notifyOn.includes(state);
      default:
        return false;
    }
  };
  const countsForFlapping = (c: StateChange): boolean => tells(c.from) || tells(c.to);

  /** Records the notification as what was last told of its sender, and hands it on. */
  function tell(n: Notification): Notification {
    notified.set(n.source, { state: n.to, event: n.event, incidentKey: n.incidentKey, atMs: n.atMs });
    return n;
  }

  /**
   * What the sender is now, told if it was not: after a silence held its
   * changes back, or once its flapping settled (`settling`); after the up
   * it came back with, when that is a new incident. None: nothing
   * to say, or a silence covers it (it is held for when the silences change),
   * or a problem of a sender this run has not heard yet (held until it has
   * had the time to show itself).
   */
  function catchUp(source: string, nowMs: number, settling = false): Notification[] {
    const v = deps.view(source);
    // Flapping: it is told where it settles, once it does (flaps.tick()).
    if (v === undefined || flaps.isFlapping(source, nowMs)) return [];
    if (deps.silenced(source, nowMs)) {
      askAgain(toCatchUp, source, settling);
      return [];
    }
    const change: StateChange = { source, from: null, to: v.state, reason: v.reason, atMs: nowMs };
    const event = eventOfChange(change);
    const previous = notified.get(source);
    if (event === null || !wanted(event, previous)) return [];
    // A problem, and the sender not heard by this run yet: its record (down, say, after a silence that ended
    // while the monitor was away) may be out of date, the sender back since. Told, if still so, once it has
    // had the time to show itself. (An up is so: the record holds a beat after what was told.)
    const lookAgainMs = event === 'up' ? null : notShownUntil(source);
    if (lookAgainMs !== null) {
      askAgain(notShownYet, source, settling);
      notShownUntilMs = Math.min(notShownUntilMs, lookAgainMs);
      return [];
    }
    // This very state was told, since it began (under whatever key it was told: a stopped that ended a
    // problem's incident, a late a flapping settled in): nothing to say. Not a flapping notice: where the
    // sender settles is told after it.
    if (
      previous !== null &&
      previous.event !== 'flapping' &&
      previous.state === v.state &&
      previous.atMs >= v.stateSinceMs
    )
      return [];
    // What the receivers were last told is what the sender is, this very incident: nothing to say. (Told
    // up, and down here: a restart that lost the write of that up sees the sender as it was before it,
    // and tells the down again. If the sender lives, that is a repeat its next beat answers; were it
    // dead, saying nothing would leave the receivers with its up for good. And a down of another outage
    // than the one told, its up not told, is news.)
    const key = keyFor(event, source, previous, v, { atMs: nowMs, settling });
    if (event !== 'up' && told(previous, event, key, v)) return [];
    // Up since before the problem told (the restart lost the write of that change): when it came back
    // is not known, only that it is back now. (Not a flapping's: where it settles began at its last change.)
    if (
      event === 'up' &&
      previous !== null &&
      previous.event !== 'flapping' &&
      v.stateSinceMs <= previous.atMs
    ) {
      return [tell(backUp(previous, v, nowMs))];
    }
    return [
      ...endOfOutageBefore(event, key, previous, v, nowMs),
      tell(notification(event, change, key, previous, v)),
    ];
  }

  /**
   * A problem of a new incident (`key`) while the outage told last is open:
   * the sender came back in between (its last beat moved on), its up not
   * told (a silence held it back, say). That up is told first, or the
   * receivers' incident would stay open for good; dated `atMs`, the new
   * problem's time (or the catch-up's), so it never comes after it.
   */
  function endOfOutageBefore(
    event: SenderNotifyEvent,
    key: string,
    previous: NotifiedRow | null,
    v: SenderView | undefined,
    atMs: number,
  ): Notification[] {
    if (event === 'up' || previous === null || key === previous.incidentKey) return [];
    // Not after a flapping notice: where a flapping settles goes on with its key.
    if (previous.event === 'flapping' || !wanted('up', previous)) return [];
    return [tell(backUp(previous, v, atMs))];
  }

  /**
   * The up that ends the incident `previous` told, for a sender that came
   * back at a time not known (a silence held it back, or the restart lost
   * the write of the problem told): dated `atMs`, how long the problem
   * lasted not said.
   */
  function backUp(previous: NotifiedRow, v: SenderView | undefined, atMs: number): Notification {
    const change: StateChange = {
      source: previous.source,
      from: previous.state as SenderState,
      to: 'up',
      reason: 'beat',
      atMs,
    };
    return {
      ...notification('up', change, previous.incidentKey, previous, v),
      sinceMs: atMs,
      fromSinceMs: null,
    };
  }

  function enqueue(list: readonly Notification[]): void {
    if (list.length === 0 || queues.length === 0) return;
    const entries = list.flatMap((n) =>
      queues.map((q) => ({
        id: n.id,
        target: q.key,
        source: n.source,
        event: n.event,
        body: JSON.stringify(webhookBody(n, payload)),
        createdAtMs: now(),
      })),
    );
    outbox.enqueue(entries);
    for (const { target: t, key } of queues) {
      const dropped = outbox.trim(key, config.queueMax, now(), sendingOf(key));
      if (dropped > 0) {
        // Dropped rows are kept as the others are (the API shows a sender's last one), but not without
        // bound: a flood of changes into a dead target makes them as fast as it makes changes.
        outbox.trimFinished(key, finishedKept);
        statsOf(t.label).dropped += dropped;
        log.warn(
          { event: 'notify', target: t.label, outcome: 'dropped', count: dropped },
          `${dropped} notifications for ${t.label} dropped: NOTIFY_QUEUE_MAX reached`,
        );
      }
    }
    queueMicrotask(deliverAll);
  }

  function decide(c: StateChange): Notification[] {
    const nowMs = now();
    const event = eventOfChange(c);
    if (event === null) return [];
    if (deps.silenced(c.source, nowMs)) {
      askAgain(toCatchUp, c.source);
      return [];
    }
    // A sender's first appearance is no flap: only changes of a sender already known count, and
    // only those that enter or leave a state told. While flapping, nothing is told: a change that
    // does not count (a late beat's up, with late not told) neither, or it would close the incident
    // the flapping notice opened. Where it settles is told once it does.
    const counts = c.from !== null && c.from !== 'pending' && countsForFlapping(c);
    const flap = counts
      ? flaps.record(c.source, c.atMs)
      : flaps.isFlapping(c.source, c.atMs)
        ? 'ongoing'
        : 'normal';
    if (flap === 'ongoing') return [];
    if (flap === 'started') {
      const v = deps.view(c.source);
      const key = keyFor('flapping', c.source, notified.get(c.source), v, { atMs: c.atMs });
      return [tell(notification('flapping', c, key, null, v))];
    }
    // `up` only after a notified problem; a sender new to the monitor (from null) has none: no lookup.
    if (isFirstSight(c) || !mayTell(event)) return [];
    const previous = notified.get(c.source);
    if (!wanted(event, previous)) return [];
    const v = deps.view(c.source);
    const key = keyFor(event, c.source, previous, v);
    if (event !== 'up' && told(previous, event, key, v)) return [];
    return [
      ...endOfOutageBefore(event, key, previous, v, c.atMs),
      tell(notification(event, c, key, previous, v)),
    ];
  }

  // --- webhooks: the outbox, drained per target -----------------------------

  /**
   * The outcomes of attempts (sent, failed, given up) the state file refused
   * to record (a full disk), by outbox row: written again before each
   * delivery, and until then their rows are not sent again. At most a row
   * of each queue's (NOTIFY_QUEUE_MAX each) a target took or refused; a
   * restart meanwhile sends those again, under the same id.
   */
  const unrecordedOutcomes = new Map<number, () => void>();
  /** Records an attempt's outcome, or keeps it for the next delivery if the file refuses it. */
  function recordOutcome(seq: number, write: () => void): void {
    if (!recorded(write)) unrecordedOutcomes.set(seq, write);
  }
  /** Writes the outcomes kept: true once none is left. */
  function recordKeptOutcomes(): boolean {
    for (const [seq, write] of unrecordedOutcomes) {
      if (!recorded(write)) return false;
      unrecordedOutcomes.delete(seq);
    }
    return true;
  }

  async function deliver({ target, key }: WebhookQueue): Promise<void> {
    if (busy.has(key) || stopped) return;
    busy.add(key);
    try {
      recordKeptOutcomes();
      // Stopped (meanwhile, too): the state file may be closed.
      while (!stopped) {
        // (The rows whose outcome waits to be recorded are due still, and left out.)
        const kept = unrecordedOutcomes.size;
        const rows = outbox
          .due(key, now(), BATCH + kept)
          .filter((row) => kept === 0 || !unrecordedOutcomes.has(row.seq))
          .slice(0, BATCH);
        if (rows.length === 0) return;
        const beingSent = sendingOf(key);
        for (const row of rows) beingSent.add(row.seq);
        // Each leaves the set as its attempt ends: a settled one no longer counts as being sent.
        await Promise.all(rows.map((row) => attempt(target, row).finally(() => beingSent.delete(row.seq))));
      }
    } finally {
      busy.delete(key);
    }
  }

  async function attempt(target: WebhookTarget, row: OutboxRow): Promise<void> {
    const s = statsOf(target.label);
    const attemptNo = row.attempts + 1;
    const outcome = await postWebhook(target, JSON.parse(row.body) as object, row.id, postOptions);
    // Stopped meanwhile: the state file may be closed. The row stays pending and is sent after the restart.
    if (stopped) return;
    const atMs = now();
    const base = {
      event: 'notify',
      target: target.label,
      id: row.id,
      source: row.source,
      notification: row.event,
      attempt: attemptNo,
    };
    if (outcome.ok) {
      recordOutcome(row.seq, () => outbox.sent(row.seq, atMs, attemptNo));
      s.sent++;
      log.info(
        { ...base, outcome: 'sent', status: outcome.status, ms: Math.round(outcome.ms) },
        `notified ${target.label}`,
      );
      return;
    }
    s.failed++;
    const tooOld = atMs - row.createdAtMs >= config.maxAgeMs;
    if (!outcome.retryable || tooOld) {
      recordOutcome(row.seq, () => outbox.givenUp(row.seq, atMs, attemptNo, outcome.error));
      s.givenUp++;
      log.error(
        { ...base, outcome: 'given_up', status: outcome.status, error: outcome.error },
        `notification to ${target.label} given up`,
      );
      return;
    }
    const retryAtMs = nextAttemptAtMs(attemptNo, row.createdAtMs, atMs, {
      ...BACKOFF_DEFAULTS,
      maxAgeMs: config.maxAgeMs,
      retryAfterMs: outcome.retryAfterMs ?? null,
    });
    const delay = retryAtMs - atMs;
    recordOutcome(row.seq, () => outbox.retry(row.seq, attemptNo, retryAtMs, outcome.error));
    s.retried++;
    log.warn(
      { ...base, outcome: 'failed', status: outcome.status, error: outcome.error, retryInMs: delay },
      `notification to ${target.label} failed; retrying`,
    );
  }

  function deliverAll(): void {
    for (const q of queues) void deliver(q);
  }

  // --- Alertmanager: the firing set, pushed on change and periodically ------

  // Down senders, silenced or not: a silenced one is left out of the pushes until its silence ends.
  const firing = new Map<string, FiringAlert>();
  /**
   * Restored down senders whose alert this run has not pushed as firing yet.
   * Its record may be out of date: the sender may have come back while the
   * monitor was away, and an alert pushed now would fire at Alertmanager
   * anew if Alertmanager had ended it meanwhile (or never had it: the sender
   * was silenced then), a page. So each waits until its sender has had the
   * time to show itself (deps.showsBy): one that beats by then is not
   * pushed as firing (its end is, as any); one that does not is down as this
   * run sees it, and is pushed then. But while the previous run's alert
   * may still fire at Alertmanager, it is pushed by keepAliveDue() at the
   * latest, so that a dead sender's alert never lapses and fires anew (a
   * second page).
   */
  const unpushedRestored = new Set<string>();
  /**
   * When to look at the held ones again, as far as the monitor has read
   * (notShownUntil(); +Infinity: none held): tick() pushes then.
   */
  let heldUntilMs = Number.POSITIVE_INFINITY;
  /**
   * The previous run pushed at least every resend interval until it was last
   * alive, and a push fires for ALERT_LIFETIME_RESENDS of them: its alerts
   * fire at least until 3 intervals after its end. A start before that pushes
   * the held ones again by 2 intervals after it (`keepAliveAtMs`; a start
   * later than that, at once), so they never lapse; a start later still has
   * none to keep (null). On the wall clock, as Alertmanager's endsAt.
   */
  const previousEndMs = deps.previousRunAliveMs;
  const keepAliveAtMs =
    previousEndMs !== null && now() < previousEndMs + (ALERT_LIFETIME_RESENDS - 1) * config.alertResendMs
      ? previousEndMs + (ALERT_LIFETIME_RESENDS - 2) * config.alertResendMs
      : null;
  const keepAliveDue = (nowMs: number): boolean => keepAliveAtMs !== null && nowMs >= keepAliveAtMs;
  for (const v of deps.views()) {
    if (v.state === 'down') {
      firing.set(v.source, {
        sinceMs: v.stateSinceMs,
        reason: v.reason,
        resolvedAtMs: null,
        resolvedTo: null,
      });
      unpushedRestored.add(v.source);
    }
    // Down, or late or stopped where NOTIFY_ON tells them: a silence may have held it back (one under a
    // silence still waits for its end; one that ended while the monitor was stopped is told now), and
    // catchUp() says only what was not said. An up held back is one told a problem before (below). Only
    // those states are looked at: the start does not check every sender against every silence (seconds at
    // 50,000 senders and 1,000 silences).
    const mayBeHeldBack =
      v.state === 'down' || ((v.state === 'late' || v.state === 'stopped') && mayTell(v.state));
    if (mayBeHeldBack) askAgain(toCatchUp, v.source);
  }
  // The previous run's resolutions Alertmanager may not have taken (it was unreachable then, or the
  // monitor stopped first): its alert would fire until its endsAt, ALERT_LIFETIME_RESENDS intervals after
  // its last push. Sent again, as any resolution: one Alertmanager took already, or an alert it never had,
  // notifies nobody.
  if (config.alertmanagers.length > 0) {
    for (const r of recoveriesSince(db, now() - ALERT_LIFETIME_RESENDS * config.alertResendMs)) {
      const v = deps.view(r.source);
      if (v === undefined || v.state === 'down' || firing.has(r.source)) continue;
      firing.set(r.source, {
        sinceMs: r.downAtMs,
        reason: r.downReason,
        resolvedAtMs: r.atMs,
        resolvedTo: { state: r.to, reason: r.reason },
      });
    }
  }
  // Told a problem, and changed since (a state newer than what was told): a silence that ended while
  // the monitor was stopped held back what it became (its up, say). Caught up too; catchUp() says only
  // what was not said. Told a problem, and in another state since before it: the state file's last
  // write did not reach the change told (a crash within its delay), and the restart has the sender as
  // it was before (recordBehind). If it lives and is up, no change will ever say so (a beat while up
  // changes nothing), and the receivers would keep the problem for good: its up is told once this run
  // hears it beat. If it does not, it goes down again, the incident told.
  if (hasWebhooks) {
    for (const event of PROBLEM_EVENTS) {
      for (const r of notified.withEvent(event)) {
        const v = deps.view(r.source);
        if (v === undefined || v.state === r.state) continue;
        if (v.stateSinceMs > r.atMs) askAgain(toCatchUp, r.source);
        else if (event !== 'flapping') recordBehind.set(r.source, lastBeatKey(r.source, v));
      }
    }
  }
  /** A push is asked for this turn already (a storm of changes makes one). */
  let pushSoon = false;
  /** The push in flight: one at a time, as Prometheus' notifier sends, so a later push never lands first. */
  let pushing: Promise<void> | null = null;
  /** Changes came while a push was in flight: one more push follows it, with them. */
  let pushAgain = false;

  /** The silences as of the last push made for their change (the first push leaves out who they cover). */
  let pushedGeneration = deps.silencesGeneration();

  /** Pushes the firing set now, or right after the push in flight. */
  function push(): void {
    if (pushing !== null) {
      pushAgain = true;
      return;
    }
    pushing = pushAlerts().finally(() => {
      pushing = null;
      if (pushAgain && !stopped) {
        pushAgain = false;
        push();
      }
    });
  }

  function trackAlerts(c: StateChange): void {
    if (c.to === 'down') {
      firing.set(c.source, { sinceMs: c.atMs, reason: c.reason, resolvedAtMs: null, resolvedTo: null });
    } else {
      resolve(c.source, c.atMs, c.to, c.reason);
    }
  }

  /** The sender's firing alert ends at `atMs`, with what ended it: pushed with its end, then let go. */
  function resolve(source: string, atMs: number, state: ResolvedState, reason: string): boolean {
    const f = firing.get(source);
    if (f === undefined || f.resolvedAtMs !== null) return false;
    f.resolvedAtMs = atMs;
    f.resolvedTo = { state, reason };
    return true;
  }

  /**
   * Resolutions no Alertmanager took are sent again, but not for ever, nor
   * without bound while they keep failing (evictions during a flood each
   * make one): one whose alert every Alertmanager has ended by itself (its
   * last firing push ended it 4 resend intervals on) is let go; beyond
   * MAX_RESOLVED_ALERTS, the oldest are.
   */
  function letGoOfOldResolutions(nowMs: number): void {
    const resolved: Array<[string, number]> = [];
    for (const [source, f] of firing) {
      if (f.resolvedAtMs === null) continue;
      if (nowMs - f.resolvedAtMs >= ALERT_LIFETIME_RESENDS * config.alertResendMs) firing.delete(source);
      else resolved.push([source, f.resolvedAtMs]);
    }
    if (resolved.length <= MAX_RESOLVED_ALERTS) return;
    resolved.sort((a, b) => a[1] - b[1]);
    for (const [source] of resolved.slice(0, resolved.length - MAX_RESOLVED_ALERTS)) firing.delete(source);
  }

  async function pushAlerts(): Promise<void> {
    if (config.alertmanagers.length === 0 || stopped) return;
    const nowMs = now();
    letGoOfOldResolutions(nowMs);
    // Silenced senders are left out; a silenced one's resolution is not sent either (Alertmanager
    // ends its alert at endsAt).
    // Each with whether this push ends it: a resolution that comes while the push is in flight was not in it.
    const pushed: Array<[string, FiringAlert, boolean]> = [];
    let nextHeldMs = Number.POSITIVE_INFINITY;
    const keepAlive = keepAliveDue(nowMs);
    for (const [source, f] of firing) {
      // Back (or let go) before it was pushed as firing: its end is pushed as any (harmless to an
      // Alertmanager that has no such alert).
      if (f.resolvedAtMs !== null) unpushedRestored.delete(source);
      else if (unpushedRestored.has(source)) {
        const lookAgainMs = keepAlive ? null : notShownUntil(source);
        if (lookAgainMs !== null) {
          nextHeldMs = Math.min(nextHeldMs, lookAgainMs);
          continue;
        }
        unpushedRestored.delete(source);
      }
      if (!deps.silenced(source, nowMs)) pushed.push([source, f, f.resolvedAtMs !== null]);
      else if (f.resolvedAtMs !== null) firing.delete(source);
    }
    heldUntilMs = nextHeldMs;
    const alerts = pushed.map(([source, f]) =>
      alertmanagerAlert({
        source,
        displayName: deps.view(source)?.displayName ?? null,
        state: f.resolvedTo?.state ?? 'down',
        reason: f.resolvedTo?.reason ?? f.reason,
        sinceMs: f.sinceMs,
        monitor: config.alertMonitor,
        statusUrl: config.statusUrl,
        severity: ALERT_SEVERITY,
        resolvedAtMs: f.resolvedAtMs,
        resendIntervalMs: config.alertResendMs,
        nowMs,
      }),
    );
    const outcomes = await Promise.all(
      config.alertmanagers.map(async (target) => {
        const s = statsOf(target.label);
        const outcome = await postAlerts(target.url, alerts as object[], postOptions);
        // Stopped meanwhile (its lookup cancelled, perhaps): nothing to count, and the restart pushes again.
        if (stopped) return false;
        const base = { event: 'notify', target: target.label, alerts: alerts.length };
        if (outcome.ok) {
          s.sent++;
          log.debug({ ...base, outcome: 'sent', status: outcome.status }, `alerts pushed to ${target.label}`);
        } else {
          s.failed++;
          log.warn(
            { ...base, outcome: 'failed', status: outcome.status, error: outcome.error },
            `alerts push to ${target.label} failed; sent again within ${config.alertResendMs} ms`,
          );
        }
        return outcome.ok;
      }),
    );
    // Resolved alerts are forgotten once every Alertmanager took their end; until then they are
    // sent again with it (an entry replaced meanwhile, by a new down, stays; one resolved meanwhile
    // goes with the next push).
    if (outcomes.every(Boolean)) {
      for (const [source, f, ended] of pushed) if (ended && firing.get(source) === f) firing.delete(source);
    }
  }

  const deliveryTimer = setInterval(deliverAll, DELIVERY_PERIOD_MS);
  deliveryTimer.unref();
  const alertTimer = setInterval(push, config.alertResendMs);
  alertTimer.unref();
  const pruneTimer = setInterval(() => {
    // Refused (a full disk): pruned the next hour.
    recorded(() => {
      outbox.prune(now() - KEEP_DONE_MS);
      for (const q of queues) outbox.trimFinished(q.key, finishedKept);
    });
  }, 3_600_000);
  pruneTimer.unref();
  // After the start has let go of the senders it lets go (monitor.ts: their ends go with this push).
  if (firing.size > 0) queueMicrotask(push);

  /**
   * Once a second: what flapping that settled, records behind a problem told,
   * silences that changed and writes the file refused leave to tell, and the
   * reminders due.
   */
  function catchUpAndRemind(nowMs: number, taken: Map<string, boolean>): void {
    const list: Notification[] = [];
    /** A sender off one of the lists, told what it is now if that was not said; in `taken` should the write fail. */
    const take = (source: string, settling = false) => {
      askAgain(taken, source, settling);
      list.push(...catchUp(source, nowMs, settling));
    };
    // Decided while the file refused the record (a full disk): caught up now.
    const refused = [...unrecorded];
    unrecorded.clear();
    for (const [source, settling] of refused) take(source, settling);
    // Stable again: say where it settled, if that was not said (a silence may hold it back still).
    for (const source of flaps.tick(nowMs)) take(source, true);
    // The record behind a problem told (a lost write): up, and heard by this run with a last beat other
    // than its record's and the incident told's, it is told up at last. Told anything but a problem
    // since, the record no longer matters.
    for (const [source, recordKey] of recordBehind) {
      // Not heard by this run (a dead sender, for as long as it stays so): nothing to read.
      if (deps.showsBy(source) !== null) continue;
      const previous = notified.get(source);
      const v = deps.view(source);
      if (v === undefined || !answers(previous)) {
        recordBehind.delete(source);
        continue;
      }
      if (v.state !== 'up') continue;
      const key = lastBeatKey(source, v);
      if (key === recordKey || key === previous.incidentKey) continue;
      recordBehind.delete(source);
      take(source);
    }
    // Had the time to show themselves: told what they are now, if that was not said.
    if (deps.heardThrough() >= notShownUntilMs) {
      notShownUntilMs = Number.POSITIVE_INFINITY;
      const due = [...notShownYet];
      notShownYet.clear();
      // (One still to show is added back, with its time.)
      for (const [source, settling] of due) take(source, settling);
    }
    const generation = deps.silencesGeneration();
    if (generation !== caughtUpGeneration) {
      caughtUpGeneration = generation;
      for (const [source, settling] of [...toCatchUp]) {
        if (deps.silenced(source, nowMs)) continue; // (checked here: a catch-up would add it back)
        toCatchUp.delete(source);
        take(source, settling);
      }
    }
    if (config.repeatMs !== null) {
      for (const r of notified.due(nowMs - config.repeatMs)) {
        const v = deps.view(r.source);
        // Not heard by this run yet: it may have come back while the monitor was away (reminded later if not).
        if (v?.state !== 'down' || deps.silenced(r.source, nowMs) || notShownUntil(r.source) !== null)
          continue;
        const change: StateChange = {
          source: r.source,
          from: 'down',
          to: 'down',
          reason: v.reason,
          atMs: nowMs,
        };
        list.push(notification('reminder', change, r.incidentKey, r, v));
        notified.reminded(r.source, nowMs);
      }
    }
    enqueue(list);
  }

  return {
    changes(changes) {
      // Nobody to tell: nothing to decide or remember (a storm of changes costs no rows).
      if (!notifying) return;
      // The firing set lives in memory (pushed whole): it follows every change, whatever the file does.
      if (config.alertmanagers.length > 0) {
        for (const c of changes) trackAlerts(c);
        if (!pushSoon) {
          pushSoon = true;
          setImmediate(() => {
            pushSoon = false;
            push();
          });
        }
      }
      if (!hasWebhooks) return;
      const decideAll = () => {
        const list: Notification[] = [];
        for (const c of changes) list.push(...decide(c));
        enqueue(list);
      };
      // What was told (notified) and the rows that tell it (outbox): both, or neither, in a unit
      // that takes the write lock. Not for first sights only (a flood of new senders), which
      // notify nothing and read nothing. Refused (a full disk): caught up once the file takes writes.
      if (changes.every(isFirstSight)) decideAll();
      else if (!recorded(() => atomically(db, decideAll)))
        for (const c of changes) askAgain(unrecorded, c.source);
    },
    last(source) {
      const l = outbox.last(source);
      return l && { ...l, target: queueName(l.target) };
    },
    stats,
    tick(nowMs) {
      if (hasWebhooks) {
        // The senders this catch-up takes off its lists: back to be caught up if the file refuses it.
        const taken = new Map<string, boolean>();
        if (!recorded(() => atomically(db, () => catchUpAndRemind(nowMs, taken))))
          for (const [source, settling] of taken) askAgain(unrecorded, source, settling);
      }
      // A held alert's sender has had the time to show itself, or its alert is to be kept: pushed if still down.
      const holding = heldUntilMs !== Number.POSITIVE_INFINITY;
      const released = deps.heardThrough() >= heldUntilMs || (holding && keepAliveDue(nowMs));
      if (released && config.alertmanagers.length > 0) {
        heldUntilMs = Number.POSITIVE_INFINITY;
        push();
      }
      // The silences changed (one ended, say): the firing set is pushed now, with the senders they
      // no longer cover, rather than at the next resend.
      const generation = deps.silencesGeneration();
      if (generation !== pushedGeneration) {
        pushedGeneration = generation;
        if (config.alertmanagers.length > 0) push();
      }
    },
    forget(source, why) {
      // Its alert ends now (pushed with its end, then let go), rather than at the endsAt of the last push.
      if (resolve(source, now(), 'forgotten', why)) push();
      toCatchUp.delete(source);
      notShownYet.delete(source);
      recordBehind.delete(source);
      flaps.forget(source);
      unrecorded.delete(source);
      // Refused (a full disk): its row stays behind, read again only if the source comes back (its first
      // sight tells nothing; a later change is judged against it, as after a lost write: keyFor(), told()).
      recorded(() => notified.delete(source));
    },
    hasTargets: hasWebhooks || config.alertmanagers.length > 0,
    test(subject, only) {
      return sendTestNotification(testDeps, randomUUID(), subject, only, now());
    },
    async stop() {
      stopped = true;
      clearInterval(deliveryTimer);
      clearInterval(alertTimer);
      clearInterval(pruneTimer);
      http.close();
    },
  };
}
