/**
 * A test notification, asked for by an operator (POST /api/notifications/test):
 * one try to every webhook and every Alertmanager, now, on the connections
 * and with the timeout, proxy and user agent real notifications use, and
 * the outcome of each returned to whoever asked. So a new or rotated URL is
 * tried before anything goes down, as healthchecks.io's and Uptime Kuma's
 * "test" buttons do.
 *
 * It is a probe, not a notification about a sender: it does not go through
 * the outbox and is neither retried nor sent again after a restart (the
 * answer says whether it got through), it is not counted in the
 * notifications' metrics (an alert on failed deliveries stays about real
 * ones), and it tells a receiver nothing about any incident. Each try is a
 * `notify` log line, `notification: "test"`. A try the monitor's stop
 * overtakes (its name lookup cancelled, say) is not logged: it says
 * nothing about the target.
 */
import type { Logger } from 'pino';
import { postAlerts } from './alertmanager.js';
import { type PayloadContext, type TestSubject, testAlert, testWebhookBody } from './payload.js';
import type { WebhookTarget } from './targets.js';
import { type DeliveryOutcome, type PostOptions, postWebhook } from './webhook.js';

export const TEST_TARGET_KINDS = ['webhook', 'alertmanager'] as const;
export type TestTargetKind = (typeof TEST_TARGET_KINDS)[number];

/** How one target took the test. */
export interface TestTry {
  /** The target's safe label (`scheme://host[:port]`), as the log and the metrics name it. */
  target: string;
  kind: TestTargetKind;
  ok: boolean;
  /** The HTTP status it answered; null: no answer (a network error or the timeout). */
  status: number | null;
  /** What went wrong, in words that never carry the URL's secret; null when it got through. */
  error: string | null;
  ms: number;
}

export interface TestNotification {
  /** The test's id: the webhooks' `id` and `Idempotency-Key`, the Alertmanager alert's `test_id` label. */
  id: string;
  atMs: number;
  /** The sender it named, or null. */
  source: string | null;
  tries: TestTry[];
}

export interface TestDeps {
  webhooks: readonly WebhookTarget[];
  alertmanagers: readonly WebhookTarget[];
  payload: PayloadContext;
  /** The Alertmanager `monitor` label and `severity`, as a sender's alert has them. */
  alertMonitor: string;
  severity: string;
  alertResendMs: number;
  post: PostOptions;
  log: Logger;
  /** Whether the monitor is stopping. */
  stopped(): boolean;
}

/**
 * The targets a test tries: all of them, or those labelled `only` (as the
 * log and the answer name them; a webhook and an Alertmanager on one host
 * share a label). None when `only` names no target.
 */
function testTargets(
  deps: Pick<TestDeps, 'webhooks' | 'alertmanagers'>,
  only: string | null,
): { webhooks: WebhookTarget[]; alertmanagers: WebhookTarget[] } {
  const pick = (list: readonly WebhookTarget[]) => list.filter((t) => only === null || t.label === only);
  return { webhooks: pick(deps.webhooks), alertmanagers: pick(deps.alertmanagers) };
}

/** Null when `only` names no configured target. */
export async function sendTestNotification(
  deps: TestDeps,
  id: string,
  subject: TestSubject | null,
  only: string | null,
  atMs: number,
): Promise<TestNotification | null> {
  const targets = testTargets(deps, only);
  if (targets.webhooks.length + targets.alertmanagers.length === 0) return null;
  const body = testWebhookBody(id, subject, atMs, deps.payload);
  const alert = testAlert({
    id,
    subject,
    monitor: deps.alertMonitor,
    severity: deps.severity,
    statusUrl: deps.payload.statusUrl,
    resendIntervalMs: deps.alertResendMs,
    nowMs: atMs,
  });
  const tryOne = async (
    target: WebhookTarget,
    kind: TestTargetKind,
    send: () => Promise<DeliveryOutcome>,
  ): Promise<TestTry> => {
    const outcome = await send();
    const result: TestTry = {
      target: target.label,
      kind,
      ok: outcome.ok,
      status: outcome.status,
      error: outcome.ok ? null : outcome.error,
      ms: Math.round(outcome.ms),
    };
    if (deps.stopped()) return result;
    const line = {
      event: 'notify',
      target: target.label,
      id,
      ...(subject === null ? {} : { source: subject.source }),
      notification: 'test',
      attempt: 1,
      status: outcome.status,
      ms: result.ms,
      ...(kind === 'alertmanager' ? { alerts: 1 } : {}),
    };
    if (outcome.ok) deps.log.info({ ...line, outcome: 'sent' }, `test notification sent to ${target.label}`);
    else
      deps.log.warn(
        { ...line, outcome: 'failed', error: outcome.error },
        `test notification to ${target.label} failed: ${outcome.error}`,
      );
    return result;
  };
  const tries = await Promise.all([
    ...targets.webhooks.map((t) => tryOne(t, 'webhook', () => postWebhook(t, body, id, deps.post))),
    ...targets.alertmanagers.map((t) =>
      tryOne(t, 'alertmanager', () => postAlerts(t.url, [alert], deps.post)),
    ),
  ]);
  return { id, atMs, source: subject?.source ?? null, tries };
}
