/**
 * The silences page's forms in a real headless Chromium against the real
 * monitor, in-process on loopback, with a real webhook sink: a silence
 * added and ended through the page, a test notification sent from it, and
 * the admin token cleared after each, never kept.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type ChromiumSession, launchChromium, type WatchedPage } from '../support/browser.js';
import { captureLogs } from '../support/log-capture.js';
import { type LoopbackMonitor, startLoopbackMonitor } from '../support/monitor.js';
import { setUpSuite } from '../support/suite-setup.js';
import { startWebhookSink, type WebhookSink } from '../support/webhook-sink.js';

const TOKEN = 'f'.repeat(20) + 'g'.repeat(20);

describe('the silences page in Chromium', () => {
  const clientLogs = captureLogs('client');
  let browser: ChromiumSession | undefined;
  let m: LoopbackMonitor | undefined;
  let sink: WebhookSink | undefined;
  let tab: WatchedPage;
  let base: string;

  // A set-up failure (no Chromium, say) fails every test rather than skipping them.
  setUpSuite(async () => {
    sink = await startWebhookSink({ host: '127.0.0.1' });
    m = await startLoopbackMonitor(
      clientLogs.logger,
      { NOTIFY_WEBHOOK_URLS: `${sink.url}/hook/secret` },
      { adminToken: TOKEN },
    );
    base = m.base;
    browser = await launchChromium();
    tab = await browser.open();
  });
  afterAll(async () => {
    await browser?.close();
    await m?.monitor.stop();
    await sink?.close();
  });

  it('adds a silence and ends it, the token typed in and cleared each time', async () => {
    const { page, errors } = tab;
    await page.goto(`${base}/silences`);
    await page.fill('#token', TOKEN);
    await page.fill('#add-silence input[name="sources"]', 'backup-*');
    await page.fill('#add-silence input[name="until"]', '2h');
    await page.fill('#add-silence input[name="comment"]', 'disk swap');
    await Promise.all([page.waitForEvent('load'), page.click('#add-silence button[type="submit"]')]);
    const row = page.locator('#silences tbody tr[data-id]');
    expect(await row.count()).toBe(1);
    expect(await row.textContent()).toContain('backup-*');
    expect(await page.inputValue('#token')).toBe('');
    const listed = (await (await fetch(`${base}/api/silences`)).json()) as Array<{ sources: string }>;
    expect(listed.map((s) => s.sources)).toEqual(['backup-*']);

    await page.fill('#token', TOKEN);
    await Promise.all([page.waitForEvent('load'), page.click('#silences button.end')]);
    expect(await page.locator('#silences tbody tr[data-id]').count()).toBe(0);
    expect(await (await fetch(`${base}/api/silences`)).json()).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('sends a test notification and lists how each target took it', async () => {
    const { page, errors } = tab;
    await page.goto(`${base}/silences`);
    sink?.clear();
    await page.fill('#token', TOKEN);
    await page.click('#test-notify button[type="submit"]');
    const item = page.locator('#test-targets li');
    await item.first().waitFor({ timeout: 5000 });
    const label = `http://127.0.0.1:${new URL(sink?.url as string).port}`;
    expect(await item.allTextContents()).toEqual([
      expect.stringMatching(new RegExp(`^webhook ${label}: sent \\(HTTP 200, \\d+ ms\\)$`)),
    ]);
    expect(await page.locator('#test-result').textContent()).toBe('1 of 1 took it.');
    expect(await page.inputValue('#token')).toBe('');
    expect(sink?.requests().map((r) => (r.body as { event: string }).event)).toEqual(['test']);
    expect(errors).toEqual([]);
  });

  it('says why a test was refused, and sends nothing', async () => {
    const { page } = tab;
    await page.goto(`${base}/silences`);
    sink?.clear();
    await page.click('#test-notify button[type="submit"]');
    expect(await page.locator('#test-result').textContent()).toBe('Type the admin token first.');
    await page.fill('#token', 'x'.repeat(40));
    await page.click('#test-notify button[type="submit"]');
    await page.locator('#test-result', { hasText: /^401: / }).waitFor({ timeout: 5000 });
    expect(await page.locator('#test-targets li').count()).toBe(0);
    await page.fill('#token', TOKEN);
    await page.fill('#test-notify input[name="source"]', 'nobody');
    await page.click('#test-notify button[type="submit"]');
    await page.locator('#test-result', { hasText: /^404: unknown sender$/ }).waitFor({ timeout: 5000 });
    await page.fill('#test-notify input[name="source"]', '');
    await page.fill('#test-notify input[name="target"]', 'http://elsewhere:9000');
    await page.click('#test-notify button[type="submit"]');
    await page.locator('#test-result', { hasText: /^404: no configured target/ }).waitFor({ timeout: 5000 });
    expect(sink?.requests()).toEqual([]);
  });

  it('tries only the target named in its field', async () => {
    // A second monitor, with two webhooks: the test goes to the one named.
    const other = await startWebhookSink({ host: '127.0.0.1' });
    const two = await startLoopbackMonitor(
      clientLogs.logger,
      { NOTIFY_WEBHOOK_URLS: `${sink?.url}/hook/secret,${other.url}/hook/other` },
      { adminToken: TOKEN },
    );
    try {
      const { page } = tab;
      await page.goto(`${two.base}/silences`);
      sink?.clear();
      await page.fill('#token', TOKEN);
      // Pasted with spaces around it, as labels copied from a log line often are.
      await page.fill('#test-notify input[name="target"]', ` http://127.0.0.1:${other.port} `);
      await page.click('#test-notify button[type="submit"]');
      await page.locator('#test-result', { hasText: '1 of 1 took it.' }).waitFor({ timeout: 5000 });
      expect(other.requests()).toHaveLength(1);
      expect(sink?.requests()).toEqual([]);
    } finally {
      await two.monitor.stop();
      await other.close();
    }
  });
});
