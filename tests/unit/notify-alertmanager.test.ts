/**
 * Alerts into the real Alertmanager (the Debian package's binary, started
 * in-process by tests/support/alertmanager.ts): two monitors posting the
 * same labels give one alert, and the resolving post ends it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postAlerts } from '../../services/client/notify/alertmanager.js';
import { createHttpClient } from '../../services/client/notify/http-client.js';
import { type AlertInput, alertmanagerAlert } from '../../services/client/notify/payload.js';
import { type RunningAlertmanager, startAlertmanager } from '../support/alertmanager.js';

interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
  status: { state: string };
}

/** The notifier's own client (the receivers here are IP addresses: no lookup). */
const http = createHttpClient();
afterAll(() => http.close());
const opts = { timeoutMs: 5000, userAgent: 'udp-time-service-monitor/test', dispatcher: http.dispatcher };

let am: RunningAlertmanager;
beforeAll(async () => {
  am = await startAlertmanager();
}, 30_000);
afterAll(async () => {
  await am?.stop();
});

const ours = async (query = '') =>
  ((await am.alerts(query)) as GettableAlert[]).filter((a) => a.labels.source === 'billing');

describe('Alertmanager', () => {
  it('shows one alert for two monitors with identical labels, and none once resolved', async () => {
    const base = new URL(am.url);
    const now = Date.now();
    const alert = (over: Partial<AlertInput> = {}) =>
      alertmanagerAlert({
        source: 'billing',
        displayName: 'Billing API',
        state: 'down',
        reason: 'missed_3',
        sinceMs: now - 60_000,
        // The shared value both monitors of the pair are configured with.
        monitor: 'pair-eu',
        statusUrl: 'http://monitor-a.example:8080',
        severity: 'critical',
        resolvedAtMs: null,
        resendIntervalMs: 60_000,
        nowMs: now,
        ...over,
      });

    expect(await postAlerts(base, [alert()], opts)).toMatchObject({ ok: true, status: 200 });
    await expect.poll(() => ours(), { timeout: 5000 }).toHaveLength(1);
    const [firing] = await ours();
    expect(firing?.labels).toEqual({
      alertname: 'UdpSenderDown',
      source: 'billing',
      monitor: 'pair-eu',
      severity: 'critical',
    });
    expect(firing?.status.state).toBe('active');
    expect(Date.parse(firing?.startsAt ?? '')).toBe(now - 60_000);
    expect(firing?.annotations.summary).toBe('Billing API (billing) is down');

    // The second monitor: its own status URL and a slightly different start, the same labels.
    const second = alert({
      statusUrl: 'http://monitor-b.example:8080',
      sinceMs: now - 58_000,
      nowMs: now + 500,
    });
    expect(await postAlerts(base, [second], opts)).toMatchObject({ ok: true });
    const both = await ours();
    expect(both).toHaveLength(1);
    expect(both[0]?.fingerprint).toBe(firing?.fingerprint);
    // Alertmanager keeps the earliest start.
    expect(Date.parse(both[0]?.startsAt ?? '')).toBe(now - 60_000);

    const resolvedAt = Date.now();
    const resolved = alert({ state: 'up', reason: 'beat', resolvedAtMs: resolvedAt, nowMs: resolvedAt });
    expect(await postAlerts(base, [resolved], opts)).toMatchObject({ ok: true });
    await expect.poll(() => ours('?active=true'), { timeout: 5000 }).toEqual([]);
    await expect.poll(() => ours(), { timeout: 5000 }).toEqual([]);
  });

  it('refuses an alert without labels with 400 (not retryable)', async () => {
    const outcome = await postAlerts(
      new URL(am.url),
      [{ labels: {}, startsAt: new Date().toISOString() }],
      opts,
    );
    expect(outcome).toMatchObject({ ok: false, status: 400, retryable: false });
  });
});
