import { describe, expect, it } from 'vitest';
import {
  ALERT_NAME,
  alertmanagerAlert,
  eventOfChange,
  incidentKey,
  type Notification,
  notifyEventSchema,
  TEST_ALERT_NAME,
  testAlert,
  testWebhookBody,
  webhookBody,
} from '../../services/client/notify/payload.js';
import { senderNotifyEventSchema } from '../../services/shared/vocabulary.js';

const MIN = 60_000;
/** 2026-03-01T12:00:03Z */
const T = Date.parse('2026-03-01T12:00:03Z');
const ctx = { monitor: 'monitor-a', statusUrl: 'https://status.example/' };

function notification(over: Partial<Notification> = {}): Notification {
  return {
    id: 'n-1',
    event: 'down',
    source: 'billing',
    displayName: null,
    from: 'late',
    to: 'down',
    reason: 'missed_3',
    atMs: T,
    sinceMs: T,
    incidentKey: incidentKey('billing', 'boot-1', 41, 'down'),
    ...over,
  };
}

describe('webhook body', () => {
  it('carries the notification, ISO times, the monitor and a link to the sender page', () => {
    const body = webhookBody(notification({ source: 'eu/billing 1', atMs: T + 5000 }), ctx);
    expect(body).toEqual({
      id: 'n-1',
      event: 'down',
      source: 'eu/billing 1',
      displayName: null,
      from: 'late',
      to: 'down',
      reason: 'missed_3',
      at: '2026-03-01T12:00:08.000Z',
      since: '2026-03-01T12:00:03.000Z',
      monitor: 'monitor-a',
      statusUrl: 'https://status.example/senders/eu%2Fbilling%201',
      text: expect.any(String),
      incidentKey: incidentKey('billing', 'boot-1', 41, 'down'),
    });
    expect(JSON.parse(JSON.stringify(body))).toEqual(body);
  });

  it('says each event in one sentence', () => {
    const text = (over: Partial<Notification>) => webhookBody(notification(over), ctx).text;
    expect(text({})).toBe(
      '`billing` is DOWN: no beat for 3 intervals (missed_3) since 12:00:03 UTC, seen by monitor-a.',
    );
    expect(
      text({ event: 'never_seen', from: 'pending', reason: 'never_seen', displayName: 'Billing API' }),
    ).toBe(
      'Billing API (`billing`) is DOWN: never heard from (never_seen) since 12:00:03 UTC, seen by monitor-a.',
    );
    expect(text({ event: 'up', from: 'down', to: 'up', reason: 'beat', fromSinceMs: T - 4 * MIN })).toBe(
      '`billing` is back UP after 4 min down (beat), seen by monitor-a.',
    );
    expect(text({ event: 'up', from: 'late', to: 'up', reason: 'beat' })).toBe(
      '`billing` is back UP, was late (beat), seen by monitor-a.',
    );
    expect(text({ event: 'up', from: null, to: 'up', reason: 'first_beat' })).toBe(
      '`billing` is UP: first beat (first_beat) at 12:00:03 UTC, seen by monitor-a.',
    );
    expect(text({ event: 'late', from: 'up', to: 'late', reason: 'no_beat' })).toBe(
      '`billing` is LATE: its beat is overdue (no_beat) since 12:00:03 UTC, seen by monitor-a.',
    );
    expect(text({ event: 'stopped', from: 'up', to: 'stopped', reason: 'bye' })).toBe(
      '`billing` STOPPED: it signed off (bye) at 12:00:03 UTC, seen by monitor-a.',
    );
    expect(text({ event: 'down', from: 'stopped', to: 'down', reason: 'not_back' })).toBe(
      '`billing` is DOWN: not back after it signed off (not_back) since 12:00:03 UTC, seen by monitor-a.',
    );
    expect(text({ event: 'flapping', flap: { changes: 6, windowMs: 10 * MIN } })).toBe(
      '`billing` is flapping: 6 changes in 10 min; notifications paused until it is stable, seen by monitor-a.',
    );
    expect(text({ event: 'reminder', atMs: T + 120 * MIN })).toBe(
      '`billing` is still DOWN after 2 h: no beat for 3 intervals (missed_3) since 12:00:03 UTC, seen by monitor-a.',
    );
    for (const event of senderNotifyEventSchema.options) {
      const t = text({ event });
      expect(t.split('. ').length, t).toBe(1);
      expect(t.endsWith('.')).toBe(true);
    }
  });

  it('never lets a sender id talk to the chat (Slack control sequences, mentions, markdown)', () => {
    const text = webhookBody(notification({ source: '<!channel>&`x`' }), { ...ctx, monitor: '@all' }).text;
    expect(text).not.toContain('<!channel>');
    expect(text).toContain("`&lt;!channel&gt;&amp;'x'`");
    expect(text).not.toMatch(/@all/);
  });
});

describe('events and incident keys', () => {
  it('maps state changes to events', () => {
    expect(eventOfChange({ to: 'down', reason: 'missed_3' })).toBe('down');
    expect(eventOfChange({ to: 'down', reason: 'never_seen' })).toBe('never_seen');
    expect(eventOfChange({ to: 'down', reason: 'not_back' })).toBe('down');
    expect(eventOfChange({ to: 'up', reason: 'beat' })).toBe('up');
    expect(eventOfChange({ to: 'late', reason: 'no_beat' })).toBe('late');
    expect(eventOfChange({ to: 'stopped', reason: 'bye' })).toBe('stopped');
    expect(eventOfChange({ to: 'pending', reason: 'declared' })).toBeNull();
    expect(notifyEventSchema.safeParse('paged').success).toBe(false);
  });

  it('is stable, 32 hex characters, and differs per incident', () => {
    const key = incidentKey('billing', 'boot-1', 41, 'down');
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(incidentKey('billing', 'boot-1', 41, 'down')).toBe(key);
    expect(incidentKey('billing', 'boot-1', 42, 'down')).not.toBe(key);
    expect(incidentKey('billing', 'boot-2', 41, 'down')).not.toBe(key);
    expect(incidentKey('billing', null, null, 'never_seen')).not.toBe(
      incidentKey('billing', null, null, 'down'),
    );
    // No ambiguity from concatenation.
    expect(incidentKey('ab', 'c', 1, 'down')).not.toBe(incidentKey('a', 'bc', 1, 'down'));
    // A fixed value: a change here splits incidents between monitors of different versions.
    expect(key).toMatchInlineSnapshot(`"c1c63c6e7230e46c1ec7a41dd6ce11a8"`);
  });

  it("names a plain-text sender's incident by its last arrival; a protocol sender's key ignores it", () => {
    const text = incidentKey('10.0.0.5', null, null, 'down', 1_000);
    expect(incidentKey('10.0.0.5', null, null, 'down', 1_000)).toBe(text);
    expect(incidentKey('10.0.0.5', null, null, 'down', 2_000)).not.toBe(text);
    expect(incidentKey('10.0.0.5', null, null, 'down')).not.toBe(text);
    // The seq names a protocol sender's incident, as it always did: the key of a version before is kept.
    expect(incidentKey('billing', 'boot-1', 41, 'down', 1_000)).toBe(
      incidentKey('billing', 'boot-1', 41, 'down'),
    );
  });
});

describe('Alertmanager alert', () => {
  const input = {
    source: 'billing',
    displayName: 'Billing API',
    state: 'down' as const,
    reason: 'missed_3',
    sinceMs: T,
    monitor: 'pair-eu',
    statusUrl: 'https://status.example',
    severity: 'critical',
    resolvedAtMs: null,
    resendIntervalMs: MIN,
    nowMs: T + 10 * MIN,
  };

  it('fires with the identifying labels only, ending 4 resend intervals from now', () => {
    expect(alertmanagerAlert(input)).toEqual({
      labels: { alertname: ALERT_NAME, source: 'billing', monitor: 'pair-eu', severity: 'critical' },
      annotations: {
        summary: 'Billing API (billing) is down',
        description:
          'Billing API (billing) is down since 2026-03-01T12:00:03.000Z: no beat for 3 intervals (missed_3).',
      },
      startsAt: '2026-03-01T12:00:03.000Z',
      endsAt: new Date(T + 14 * MIN).toISOString(),
      generatorURL: 'https://status.example/senders/billing',
    });
  });

  it('resolves at resolvedAt with the same labels and startsAt', () => {
    const firing = alertmanagerAlert(input);
    const resolved = alertmanagerAlert({ ...input, state: 'up', reason: 'beat', resolvedAtMs: T + 12 * MIN });
    expect(resolved.labels).toEqual(firing.labels);
    expect(resolved.startsAt).toBe(firing.startsAt);
    expect(resolved.endsAt).toBe(new Date(T + 12 * MIN).toISOString());
    expect(resolved.annotations.summary).toBe('Billing API (billing) is up');
  });

  it('leaves out an empty monitor label', () => {
    expect(alertmanagerAlert({ ...input, monitor: '' }).labels).not.toHaveProperty('monitor');
  });
});

describe('a test notification', () => {
  const billing = {
    source: 'billing',
    displayName: 'Billing API',
    state: 'up' as const,
    sinceMs: T - 5 * MIN,
  };

  it("has a notification's fields, event and reason `test`, and no transition or incident", () => {
    expect(testWebhookBody('t-1', null, T, ctx)).toEqual({
      id: 't-1',
      event: 'test',
      source: null,
      displayName: null,
      from: null,
      to: null,
      reason: 'test',
      at: '2026-03-01T12:00:03.000Z',
      since: '2026-03-01T12:00:03.000Z',
      monitor: 'monitor-a',
      statusUrl: 'https://status.example',
      text: 'Test notification from monitor-a: its notifications reach you here.',
      incidentKey: null,
    });
    expect(notifyEventSchema.safeParse('test').success).toBe(true);
    expect(senderNotifyEventSchema.safeParse('test').success).toBe(false);
  });

  it("has exactly a notification's keys, so that a receiver that takes one takes the other", () => {
    expect(Object.keys(testWebhookBody('t-1', null, T, ctx)).sort()).toEqual(
      Object.keys(webhookBody(notification(), ctx)).sort(),
    );
  });

  it('names the sender asked for: its state, since when, and its page', () => {
    const body = testWebhookBody('t-2', billing, T, ctx);
    expect(body).toMatchObject({
      source: 'billing',
      displayName: 'Billing API',
      to: 'up',
      since: '2026-03-01T11:55:03.000Z',
      statusUrl: 'https://status.example/senders/billing',
      text: 'Test notification from monitor-a, about Billing API (`billing`) (UP now): its notifications reach you here.',
    });
  });

  it('never lets a sender id or the monitor name talk to the chat', () => {
    const text = testWebhookBody('t-3', { ...billing, source: '<!channel>', displayName: null }, T, {
      ...ctx,
      monitor: '@all',
    }).text;
    expect(text).not.toContain('<!channel>');
    expect(text).not.toMatch(/@all/);
  });

  it('is an alert of its own name, one per test, that ends by itself', () => {
    const alert = testAlert({
      id: 't-4',
      subject: billing,
      monitor: 'pair-a',
      severity: 'critical',
      statusUrl: 'https://status.example/',
      resendIntervalMs: MIN,
      nowMs: T,
    });
    expect(alert.labels).toEqual({
      alertname: TEST_ALERT_NAME,
      test_id: 't-4',
      source: 'billing',
      monitor: 'pair-a',
      severity: 'critical',
    });
    expect(alert.startsAt).toBe('2026-03-01T12:00:03.000Z');
    expect(alert.endsAt).toBe('2026-03-01T12:04:03.000Z');
    expect(alert.generatorURL).toBe('https://status.example/senders/billing');
    const none = testAlert({
      id: 't-5',
      subject: null,
      monitor: '',
      severity: '',
      statusUrl: 'https://status.example/',
      resendIntervalMs: MIN,
      nowMs: T,
    });
    expect(none.labels).toEqual({ alertname: TEST_ALERT_NAME, test_id: 't-5' });
    expect(none.generatorURL).toBe('https://status.example');
    expect(none.annotations.summary).toBe('Test alert from the monitor');
  });
});
