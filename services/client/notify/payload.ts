/**
 * What a notification says, built once per notification and sent as is to
 * every target: the webhook JSON body (with a one-sentence `text` that Slack
 * and Mattermost incoming webhooks show as the message) and the Alertmanager
 * API v2 alert. Pure: times are handed in.
 */
import { createHash } from 'node:crypto';
import { fmtDuration } from '../../shared/duration.js';
import {
  type EvictReason,
  evictReasonSchema,
  type NotifyEvent,
  notifyEventSchema,
  type SenderNotifyEvent,
  type SenderState,
} from '../../shared/vocabulary.js';

/**
 * Why a notification is sent. A closed set: the webhook body's `event`, the
 * log and the metrics take it from here.
 * - `down`: missed its beats; `never_seen`: a declared sender never showed up;
 * - `up`, `late`, `stopped` (it said bye): the state it changed to;
 * - `flapping`: too many changes in the window, the next ones are held back;
 * - `reminder`: still down after the reminder interval;
 * - `test`: asked for by an operator (testWebhookBody), not about a change.
 */
export { type NotifyEvent, notifyEventSchema };

export interface Notification {
  /** Unique per notification: the webhook's Idempotency-Key, so a retried delivery can be recognised. */
  id: string;
  event: SenderNotifyEvent;
  source: string;
  displayName: string | null;
  from: SenderState | null;
  to: SenderState;
  /** The tracker's reason code (`missed_3`, `never_seen`, `no_beat`, `bye`, `beat`, `restart`, ...). */
  reason: string;
  /** When it happened (for a reminder: when it was sent). */
  atMs: number;
  /** When the sender entered its current state `to`. */
  sinceMs: number;
  incidentKey: string;
  /** For `up`: when the sender entered `from`, so the text can say how long that lasted. */
  fromSinceMs?: number | null;
  /** For `flapping`: the changes counted within the window. */
  flap?: { changes: number; windowMs: number } | null;
}

export interface PayloadContext {
  /** This monitor's name, as the people reading the message know it. */
  monitor: string;
  /** The status page's base URL (no trailing slash needed); the body links to the sender's page under it. */
  statusUrl: string;
}

/** The JSON a webhook receives: the notification's own fields, its times as ISO text, and what to show. */
export interface WebhookBody
  extends Pick<
    Notification,
    'id' | 'event' | 'source' | 'displayName' | 'from' | 'to' | 'reason' | 'incidentKey'
  > {
  /** ISO-8601 UTC. */
  at: string;
  /** ISO-8601 UTC: when the sender entered its state. */
  since: string;
  monitor: string;
  /** The sender's own page on the status page. */
  statusUrl: string;
  /** One sentence for a chat channel (Slack/Mattermost `text`). */
  text: string;
}

/**
 * The body of a test notification: a notification's fields, the same keys,
 * with `event` and `reason` `test`, and neither a transition nor an
 * incident (`from` and `incidentKey` null). It names a sender when the
 * operator named one (so that a receiver's routing by source is tried
 * too), and otherwise none (`source`, `displayName` and `to` null).
 */
export type TestWebhookBody = Omit<
  WebhookBody,
  'event' | 'source' | 'from' | 'to' | 'reason' | 'incidentKey'
> & {
  event: 'test';
  /** The sender named, or null. */
  source: string | null;
  from: null;
  /** The named sender's state now, or null. */
  to: SenderState | null;
  reason: 'test';
  incidentKey: null;
};

/** A tracked sender a test notification names. */
export interface TestSubject {
  source: string;
  displayName: string | null;
  state: SenderState;
  sinceMs: number;
}

/** The notification a state change gives, or null (a change to `pending` is never notified). */
export function eventOfChange(change: { to: SenderState; reason: string }): SenderNotifyEvent | null {
  switch (change.to) {
    case 'down':
      return change.reason === 'never_seen' ? 'never_seen' : 'down';
    case 'up':
    case 'late':
    case 'stopped':
      return change.to;
    case 'pending':
      return null;
  }
}

/**
 * A key per incident that two monitors watching the same sender compute
 * alike, without talking to each other: the sender, its boot and the last
 * sequence number seen before it went down (a `never_seen` sender has
 * neither). A chat integration or an incident tool can fold the two
 * monitors' notifications into one by it. Two monitors that saw different
 * last datagrams (one lost the final beat) compute different keys.
 * The first 32 hex characters of the sha256 of the JSON array
 * `["udp-time-service/incident/v1", source, boot, lastSeq, kind]` (no
 * spaces; null for a missing boot or seq), so other tools can compute it too.
 * A plain-text sender has no boot nor seq: its last datagram's arrival at
 * this monitor (`lastSeenMs`, milliseconds) names its incident, appended to
 * the array; one key per incident, but not the same at two monitors.
 */
export function incidentKey(
  source: string,
  boot: string | null,
  lastSeq: number | null,
  kind: 'down' | 'never_seen',
  lastSeenMs: number | null = null,
): string {
  const named = ['udp-time-service/incident/v1', source, boot, lastSeq, kind];
  if (lastSeq === null && lastSeenMs !== null) named.push(lastSeenMs);
  return createHash('sha256').update(JSON.stringify(named)).digest('hex').slice(0, 32);
}

/** The status page: PUBLIC_URL without a trailing slash. */
export function statusPageUrl(statusUrl: string): string {
  return statusUrl.replace(/\/+$/, '');
}

/** The sender's page: `${statusUrl}/senders/${encodeURIComponent(source)}`. */
export function senderPageUrl(statusUrl: string, source: string): string {
  return `${statusPageUrl(statusUrl)}/senders/${encodeURIComponent(source)}`;
}

/** Where a test links to: the named sender's page, or the status page. */
function testPageUrl(statusUrl: string, subject: TestSubject | null): string {
  return subject === null ? statusPageUrl(statusUrl) : senderPageUrl(statusUrl, subject.source);
}

export function webhookBody(n: Notification, ctx: PayloadContext): WebhookBody {
  return {
    id: n.id,
    event: n.event,
    source: n.source,
    displayName: n.displayName,
    from: n.from,
    to: n.to,
    reason: n.reason,
    at: new Date(n.atMs).toISOString(),
    since: new Date(n.sinceMs).toISOString(),
    monitor: ctx.monitor,
    statusUrl: senderPageUrl(ctx.statusUrl, n.source),
    text: notificationText(n, ctx.monitor),
    incidentKey: n.incidentKey,
  };
}

export function testWebhookBody(
  id: string,
  subject: TestSubject | null,
  atMs: number,
  ctx: PayloadContext,
): TestWebhookBody {
  const at = new Date(atMs).toISOString();
  return {
    id,
    event: 'test',
    source: subject?.source ?? null,
    displayName: subject?.displayName ?? null,
    from: null,
    to: subject?.state ?? null,
    reason: 'test',
    at,
    since: subject === null ? at : new Date(subject.sinceMs).toISOString(),
    monitor: ctx.monitor,
    statusUrl: testPageUrl(ctx.statusUrl, subject),
    text: testText(subject, ctx.monitor),
    incidentKey: null,
  };
}

/** E.g. "Test notification from monitor-a, about `billing` (UP now): its notifications reach you here." */
export function testText(subject: TestSubject | null, monitor: string): string {
  const about =
    subject === null
      ? ''
      : `, about ${chatName(subject.source, subject.displayName)} (${subject.state.toUpperCase()} now)`;
  return `Test notification from ${chatText(monitor)}${about}: its notifications reach you here.`;
}

/**
 * One sentence, e.g. "`billing` is DOWN: no beat for 3 intervals (missed_3)
 * since 12:00:03 UTC, seen by monitor-a." Sender ids come from datagrams,
 * so they cannot talk to the chat: the id is a code span (no markdown, no
 * links, no mentions inside), `&`, `<` and `>` are escaped as Slack asks
 * (a source `<!channel>` must not page a channel) and an `@` outside the
 * code span is followed by a zero-width space (no `@all` in Mattermost).
 */
export function notificationText(n: Notification, monitor: string): string {
  const who = chatName(n.source, n.displayName);
  const by = `seen by ${chatText(monitor)}`;
  const at = clockUtc(n.atMs);
  const since = clockUtc(n.sinceMs);
  const code = chatText(n.reason);
  switch (n.event) {
    case 'down':
    case 'never_seen':
      return `${who} is DOWN: ${reasonText(n.reason)} (${code}) since ${since}, ${by}.`;
    case 'late':
      return `${who} is LATE: ${reasonText(n.reason)} (${code}) since ${since}, ${by}.`;
    case 'stopped': {
      // Signed off while told down (or late): how long that lasted, as for an up.
      const was = n.from === 'down' || n.from === 'late' ? n.from : null;
      const after =
        was === null || n.fromSinceMs == null
          ? ''
          : ` after ${fmtDuration((n.atMs - n.fromSinceMs) / 1000)} ${was}`;
      return `${who} STOPPED: ${reasonText(n.reason)} (${code}) at ${at}${after}, ${by}.`;
    }
    case 'up': {
      const was = n.from !== null && n.from !== 'pending' && n.from !== 'up' ? n.from : null;
      if (was === null) return `${who} is UP: ${reasonText(n.reason)} (${code}) at ${at}, ${by}.`;
      const lasted =
        n.fromSinceMs == null
          ? `, was ${was}`
          : ` after ${fmtDuration((n.atMs - n.fromSinceMs) / 1000)} ${was}`;
      return `${who} is back UP${lasted} (${code}), ${by}.`;
    }
    case 'flapping': {
      const count =
        n.flap == null ? '' : `: ${n.flap.changes} changes in ${fmtDuration(n.flap.windowMs / 1000)}`;
      return `${who} is flapping${count}; notifications paused until it is stable, ${by}.`;
    }
    case 'reminder':
      return `${who} is still ${n.to.toUpperCase()} after ${fmtDuration((n.atMs - n.sinceMs) / 1000)}: ${reasonText(n.reason)} (${code}) since ${since}, ${by}.`;
  }
}

/** Why a sender is no longer tracked, in words: one for each evict reason. */
const EVICTED_BECAUSE: Readonly<Record<EvictReason, string>> = {
  forgotten: 'forgotten by an operator',
  max_senders: 'let go to make room: MAX_SENDERS reached',
  invalid_id: 'its id is no longer valid',
  undeclared: 'not declared, and UNDECLARED_SENDERS=ignore refuses its datagrams',
  unlisted: 'taken off the declared senders before it was heard from',
};

/** A reason code in words. */
export function reasonText(reason: string): string {
  const missed = /^missed_(\d+)$/.exec(reason);
  if (missed !== null)
    return missed[1] === '1' ? 'no beat for 1 interval' : `no beat for ${missed[1]} intervals`;
  const evicted = evictReasonSchema.safeParse(reason);
  if (evicted.success) return EVICTED_BECAUSE[evicted.data];
  switch (reason) {
    case 'never_seen':
      return 'never heard from';
    case 'no_beat':
      return 'its beat is overdue';
    case 'bye':
      return 'it signed off';
    case 'not_back':
      return 'not back after it signed off';
    case 'beat':
      return 'beating again';
    case 'restart':
      return 'restarted';
    case 'first_beat':
      return 'first beat';
    default:
      return 'state changed';
  }
}

/** HH:MM:SS UTC. */
function clockUtc(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

function chatName(source: string, displayName: string | null): string {
  const id = `\`${escapeChat(source.replaceAll('`', "'"))}\``;
  return displayName === null ? id : `${chatText(displayName)} (${id})`;
}

/** Plain text for a chat message: escaped, with mentions broken. */
function chatText(text: string): string {
  return escapeChat(text).replaceAll('@', '@\u200b');
}

function escapeChat(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

// --- Alertmanager -------------------------------------------------------------

/** What ends an alert: the state the sender changed to, or `forgotten` (no longer tracked: the reason says why). */
export type ResolvedState = SenderState | 'forgotten';

export interface AlertInput {
  source: string;
  displayName: string | null;
  /** The sender's state now: `down`/`late` while firing; when resolved, what ended it. */
  state: ResolvedState;
  /** The reason code of that state. */
  reason: string;
  /** When the incident began (the sender went down): the alert's startsAt, the same in every post. */
  sinceMs: number;
  /**
   * The `monitor` label. Alertmanager folds alerts with identical label sets
   * into one, so redundant monitors watching the same senders must pass the
   * SAME value here (a shared name such as the pair's, configurable, not the
   * host name) to give one alert instead of one per monitor. An empty value
   * leaves the label out.
   */
  monitor: string;
  statusUrl: string;
  /** The `severity` label, as the routing tree expects (e.g. `critical`, `page`). */
  severity: string;
  /** null while firing; the time it came back for the resolving post. */
  resolvedAtMs: number | null;
  /** How often a firing alert is posted again. */
  resendIntervalMs: number;
  nowMs: number;
}

/** An alert as POST /api/v2/alerts takes it (Alertmanager's `postableAlert`). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: { summary: string; description: string };
  startsAt: string;
  endsAt?: string;
  generatorURL: string;
}

export const ALERT_NAME = 'UdpSenderDown';
/** The `severity` label of every alert, as routing trees expect it. */
export const ALERT_SEVERITY = 'critical';
/** A firing alert ends this many resend intervals after its push unless pushed again (as Prometheus does). */
export const ALERT_LIFETIME_RESENDS = 4;

/**
 * The labels are only what identifies the incident (alertname, source,
 * monitor, severity): never the state or reason, which change during one
 * incident and would split it into several alerts. A firing alert ends
 * 4 resend intervals after now unless posted again (what Prometheus does),
 * so the alerts of a monitor that died expire by themselves; a resolved one
 * ends at resolvedAtMs.
 */
/** An alert's labels: `own`, then `monitor` and `severity` unless empty (an empty value leaves the label out). */
function alertLabels(own: Record<string, string>, monitor: string, severity: string): Record<string, string> {
  const labels = { ...own };
  if (monitor !== '') labels.monitor = monitor;
  if (severity !== '') labels.severity = severity;
  return labels;
}

/** When a firing alert pushed at `nowMs` ends unless pushed again. */
function firingEndsAtMs(nowMs: number, resendIntervalMs: number): number {
  return nowMs + ALERT_LIFETIME_RESENDS * resendIntervalMs;
}

export function alertmanagerAlert(a: AlertInput): PostableAlert {
  const labels = alertLabels({ alertname: ALERT_NAME, source: a.source }, a.monitor, a.severity);
  const name = a.displayName === null ? a.source : `${a.displayName} (${a.source})`;
  const since = new Date(a.sinceMs).toISOString();
  const endsAtMs = a.resolvedAtMs ?? firingEndsAtMs(a.nowMs, a.resendIntervalMs);
  const is = a.state === 'forgotten' ? 'is no longer watched' : `is ${a.state}`;
  return {
    labels,
    annotations: {
      summary: `${name} ${is}`,
      description:
        a.resolvedAtMs === null
          ? `${name} ${is} since ${since}: ${reasonText(a.reason)} (${a.reason}).`
          : `${name} ${is}${a.state === 'up' ? ' again' : ''} since ${new Date(a.resolvedAtMs).toISOString()}: ${reasonText(a.reason)} (${a.reason}); the incident began at ${since}.`,
    },
    startsAt: since,
    endsAt: new Date(endsAtMs).toISOString(),
    generatorURL: senderPageUrl(a.statusUrl, a.source),
  };
}

/** The alert of a test (POST /api/notifications/test): its own name, so that it is never taken for a sender's. */
export const TEST_ALERT_NAME = 'UdpMonitorTest';

/**
 * A test alert: the labels a sender's alert has (`monitor`, `severity`, and
 * `source` when the operator named one), the name `UdpMonitorTest`, and the
 * test's id as `test_id`, so that each test is an alert of its own, notified
 * anew rather than folded into the one before. It ends by itself when a
 * firing alert not pushed again would (ALERT_LIFETIME_RESENDS intervals).
 */
export function testAlert(t: {
  id: string;
  subject: TestSubject | null;
  monitor: string;
  severity: string;
  statusUrl: string;
  resendIntervalMs: number;
  nowMs: number;
}): PostableAlert {
  const labels = alertLabels(
    {
      alertname: TEST_ALERT_NAME,
      test_id: t.id,
      ...(t.subject === null ? {} : { source: t.subject.source }),
    },
    t.monitor,
    t.severity,
  );
  const endsAt = new Date(firingEndsAtMs(t.nowMs, t.resendIntervalMs)).toISOString();
  const about = t.subject === null ? '' : ` about ${t.subject.source} (${t.subject.state} now)`;
  return {
    labels,
    annotations: {
      summary: `Test alert from ${t.monitor === '' ? 'the monitor' : t.monitor}${about}`,
      description: `Asked for by an operator (POST /api/notifications/test) to see that alerts reach their receivers; it ends by itself at ${endsAt}.`,
    },
    startsAt: new Date(t.nowMs).toISOString(),
    endsAt,
    generatorURL: testPageUrl(t.statusUrl, t.subject),
  };
}
