/**
 * The status page in a real headless Chromium against the real monitor,
 * in-process on loopback: live updates over SSE, hostile datagrams shown as
 * text, a beacon's bye, a monitor restart, and the page without JavaScript.
 */
import { mkdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { type ClientConfig, loadClientConfig } from '../../services/client/config.js';
import { type Monitor, startMonitor } from '../../services/client/monitor.js';
import { startBeacon } from '../../services/shared/beacon/beacon.js';
import { type ChromiumSession, launchChromium, type WatchedPage, within } from '../support/browser.js';
import { captureLogs } from '../support/log-capture.js';
import { freshDataDir } from '../support/monitor.js';
import { setUpSuite } from '../support/suite-setup.js';
import { beat, sendUdp } from '../support/udp.js';

const ENV = {
  UDP_HOST: '127.0.0.1',
  UDP_PORT: '0',
  HTTP_HOST: '127.0.0.1',
  HTTP_PORT: '0',
  MARK_INTERVAL: '1s',
  DATA_DIR: freshDataDir(),
};
const ARTIFACTS = 'test-results';

/*
 * The globals the page.evaluate() callbacks use in the browser. This project
 * is type-checked without the DOM library (it is Node code), so they are
 * declared here, for this file only, with just what the callbacks touch.
 */
interface PageElement {
  tagName: string;
  className: string;
  textContent: string | null;
  cells: PageElement[];
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
}
interface PageDocument {
  body: { append(node: unknown): void };
  documentElement: { scrollWidth: number };
  scripts: { length: number };
  createElement(tag: string): { textContent: string };
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
}
declare const window: { __pwned?: number; __sameDocument?: string; __connStates?: string[] };
declare const document: PageDocument;
declare const DOMParser: new () => { parseFromString(html: string, type: string): PageDocument };
declare const MutationObserver: new (
  callback: () => void,
) => { observe(target: PageElement, options: { attributes: boolean; attributeFilter: string[] }): void };

/** page.js: no event for this long and the page marks the stream lost (and reconnects). */
const PAGE_SILENCE_MS = 5000;

describe('status page in Chromium', () => {
  // Nothing here reads their lines: log-capture.ts checks every one against the
  // log schema after each test and after the last hook (the monitor's stop).
  const clientLogs = captureLogs('client');
  const serverLogs = captureLogs('server');
  let browser: ChromiumSession | undefined;
  let monitor: Monitor | undefined;
  let config: ClientConfig;
  let base: string;
  let tab: WatchedPage;
  const cleanups: Array<() => Promise<void>> = [];

  const port = () => (monitor as Monitor).udp.port;
  const live = (w: WatchedPage) => w.page.locator('#conn[data-state="live"]').waitFor({ timeout: 5000 });

  // A set-up failure (no Chromium, say) fails every test rather than skipping them.
  setUpSuite(async () => {
    browser = await launchChromium();
    config = loadClientConfig(ENV);
    monitor = await startMonitor(config, clientLogs.logger);
    base = `http://127.0.0.1:${monitor.http.port}`;
    tab = await browser.open();
    await tab.page.goto(`${base}/`);
    await live(tab);
    await tab.page.evaluate(() => {
      window.__sameDocument = 'loaded once';
    });
  });

  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
    await monitor?.stop();
    await browser?.close();
  });

  it('loads complete and live, with no console errors', async () => {
    const { page, errors } = tab;
    expect(await page.title()).toBe('udp-time-service monitor');
    expect(await page.locator('#verdict').textContent()).toBe('No senders yet');
    expect(await page.locator('#datagrams tbody tr.mark').first().textContent()).toMatch(/^waiting… /);
    // The live stream delivers events (a mark every second among them): for longer than the page lets it
    // go silent, it never marked the stream lost (it would have, with no event for that long, or an
    // error), and no errors came.
    await page.evaluate(() => {
      const conn = document.querySelector('#conn') as PageElement;
      window.__connStates = [];
      new MutationObserver(() => window.__connStates?.push(String(conn.getAttribute('data-state')))).observe(
        conn,
        {
          attributes: true,
          attributeFilter: ['data-state'],
        },
      );
    });
    await page.waitForTimeout(PAGE_SILENCE_MS + 1500);
    expect(await page.evaluate(() => window.__connStates)).toEqual([]);
    expect(await page.locator('#conn').getAttribute('data-state')).toBe('live');
    expect(errors).toEqual([]);
  });

  it('shows a datagram sent after load, without a reload', async () => {
    const { page } = tab;
    const text = `live check ${Date.now()}`;
    await sendUdp(port(), [beat(0, { source: 'e2e-live', text, intervalMs: 60_000 })]);
    // How soon is the benchmark's to measure; here, that it comes over the live stream at all.
    const top = page.locator('#datagrams tbody tr').first();
    await top.filter({ hasText: text }).waitFor({ timeout: 10_000 });
    await page.locator('#senders tr[data-source="e2e-live"].s-up').waitFor({ timeout: 10_000 });
    expect(await page.locator('#verdict').textContent()).toBe('All 1 sender up');
    expect(await page.evaluate(() => window.__sameDocument)).toBe('loaded once');
  });

  it('renders the same rows live as the server does', async () => {
    const { page } = tab;
    const html = await (await fetch(`${base}/`)).text();
    // The server's rendering of the same sender and datagram, parsed by the browser (inert: no scripts run).
    const compare = await page.evaluate((serverHtml) => {
      const server = new DOMParser().parseFromString(serverHtml, 'text/html');
      const describeRow = (tr: PageElement | null | undefined) =>
        tr === null || tr === undefined
          ? null
          : {
              className: tr.className,
              cells: [...tr.cells].map((cell, i) => ({
                tag: cell.tagName,
                className: cell.className,
                children: [...cell.querySelectorAll('*')].map((c) => `${c.tagName}.${c.className}`),
                // The ticking cells (state age, last heard) may be a second apart.
                text: i === 1 || i === 2 ? null : cell.textContent,
              })),
            };
      const sender = '#senders tr[data-source="e2e-live"]';
      const datagram = (doc: PageDocument) =>
        [...doc.querySelectorAll('#datagrams tbody tr')].find((tr) => tr.textContent?.includes('live check'));
      return {
        live: [describeRow(document.querySelector(sender)), describeRow(datagram(document))],
        server: [describeRow(server.querySelector(sender)), describeRow(datagram(server))],
      };
    }, html);
    expect(compare.live[0]).not.toBeNull();
    expect(compare.live[1]).not.toBeNull();
    expect(compare.live).toEqual(compare.server);
  });

  it('shows a script payload as literal text and runs nothing', async () => {
    const { page, dialogs, errors } = tab;
    const payload = `<img src=x onerror="window.__pwned=1;alert(1)"><script>window.__pwned=2;alert(2)</script>`;
    const plain = `<svg onload="window.__pwned=3;alert(3)"></svg><iframe src="javascript:alert(4)">`;
    const source = '"><img/src=x/onerror=window.__pwned=5;alert(5)>';
    await sendUdp(port(), [beat(1, { source: 'e2e-live', text: payload, intervalMs: 60_000 }), plain]);
    await sendUdp(port(), [beat(0, { source, text: 'hostile source' })]);
    const cellWith = (text: string) =>
      page
        .locator('#datagrams td')
        .filter({ hasText: text.slice(0, 20) })
        .first();
    await cellWith(payload).waitFor({ timeout: 10_000 });
    await cellWith(plain).waitFor({ timeout: 10_000 });
    await page.locator('#senders th', { hasText: source }).waitFor({ timeout: 10_000 });
    await page.waitForTimeout(300);

    const check = async () => {
      expect(await cellWith(payload).textContent()).toBe(payload);
      expect(await cellWith(plain).textContent()).toBe(plain);
      expect(await page.locator('#senders th', { hasText: source }).textContent()).toBe(source);
      const injected = await page.evaluate(() => ({
        pwned: window.__pwned,
        elements: document.querySelectorAll('main img, main svg, main iframe, main script').length,
        scripts: document.scripts.length,
      }));
      expect(injected).toEqual({ pwned: undefined, elements: 0, scripts: 1 });
      expect(dialogs).toEqual([]);
    };
    await check();
    // The server-rendered page (a reload) shows the same literal text.
    await page.reload();
    await live(tab);
    await check();
    expect(errors).toEqual([]);
    await page.evaluate(() => {
      window.__sameDocument = 'reloaded once';
    });
  });

  it('enforces the Content-Security-Policy: an injected inline script does not run', async () => {
    const probe = await (browser as ChromiumSession).open();
    cleanups.push(() => probe.page.close());
    await probe.page.goto(`${base}/`);
    const ran = await probe.page.evaluate(async () => {
      const script = document.createElement('script');
      script.textContent = 'window.__pwned = 6';
      document.body.append(script);
      await new Promise((r) => setTimeout(r, 100));
      return window.__pwned;
    });
    expect(ran).toBeUndefined();
    expect(probe.errors.join('\n')).toMatch(/Content Security Policy/);
    await probe.page.close();
  });

  it("turns a real beacon's row to stopped when it stops (bye)", async () => {
    const { page } = tab;
    const beacon = startBeacon(
      {
        intervalMs: 200,
        targets: [{ host: '127.0.0.1', port: port() }],
        source: 'e2e-beacon',
        signer: null,
        sendBye: true,
      },
      serverLogs.logger,
    );
    cleanups.push(() => beacon.stop());
    const row = page.locator('#senders tr[data-source="e2e-beacon"]');
    await expect.poll(() => row.getAttribute('class'), { timeout: 3000 }).toBe('s-up');
    expect(await row.locator('.badge').textContent()).toBe('up');
    await beacon.stop();
    await expect.poll(() => row.getAttribute('class'), { timeout: 10_000 }).toBe('s-stopped');
    expect(await row.locator('.badge').textContent()).toBe('stopped');
    expect(await row.locator('td').nth(0).getAttribute('title')).toBe('bye');
    const datagrams = page.locator('#datagrams tbody tr.d-bye', { hasText: 'e2e-beacon' });
    expect(await datagrams.count()).toBe(1);
  });

  it('reconnects by itself after the monitor restarts, and shows new data without a reload', async () => {
    const { page, errors } = tab;
    const before = errors.length;
    const { udp, http } = monitor as Monitor;
    const known = await page.locator('#senders tbody tr[data-source]').count();
    await (monitor as Monitor).stop();
    monitor = undefined;
    await page.locator('#conn[data-state="lost"]').waitFor({ timeout: 5000 });
    expect(await page.locator('#verdict').textContent()).toBe('No connection to the monitor');
    expect(await page.title()).toBe('(no connection) udp-time-service monitor');

    monitor = await startMonitor(
      loadClientConfig({ ...ENV, UDP_PORT: String(udp.port), HTTP_PORT: String(http.port) }),
      clientLogs.logger,
    );
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 10_000 });
    const text = `after restart ${Date.now()}`;
    // Declared every minute: it stays up through the steps below and the next test, however slow
    // a browser is to start on a busy machine (at 1 s it would be late after 2 s).
    await sendUdp(port(), [beat(0, { source: 'e2e-restarted', text, intervalMs: 60_000 })]);
    await page.locator('#datagrams tbody tr').first().filter({ hasText: text }).waitFor({ timeout: 10_000 });
    await page.locator('#senders tr[data-source="e2e-restarted"].s-up').waitFor({ timeout: 10_000 });
    // The new monitor remembers the senders of the old one (same state file), and adds the new one.
    expect(known).toBeGreaterThan(0);
    expect(await page.locator('#senders tbody tr[data-source]').count()).toBe(known + 1);
    expect(await page.evaluate(() => window.__sameDocument)).toBe('reloaded once');
    // While the monitor was down, the browser logged its failed reconnection attempts; nothing else.
    const unexpected = errors
      .slice(before)
      .filter((e) => !/\/api\/events|ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE/.test(e));
    expect(unexpected).toEqual([]);
  });

  it('renders complete without JavaScript and refreshes itself', async () => {
    await sendUdp(port(), [
      beat(1, { source: 'e2e-restarted', text: 'for the no-script view', intervalMs: 60_000 }),
    ]);
    // A browser of its own with scripts off: every step bounded, a hung one is named.
    const noScriptBrowser = await launchChromium({ javaScriptEnabled: false });
    cleanups.push(() => within('closing the no-script browser', noScriptBrowser.close()));
    const noScript = await within('opening a tab', noScriptBrowser.open());
    await noScript.page.goto(`${base}/`, { timeout: 10_000 });
    const { page } = noScript;
    const quick = { timeout: 5000 };
    expect(await page.locator('#conn').getAttribute('data-state', quick)).toBe('static');
    expect(await page.locator('#conn').textContent(quick)).toMatch(
      /^snapshot \d\d:\d\d:\d\d UTC · refreshes every 5 s$/,
    );
    expect(await page.locator('#senders tr[data-source="e2e-restarted"] .badge').textContent(quick)).toBe(
      'up',
    );
    expect(await page.locator('#datagrams td', { hasText: 'for the no-script view' }).count()).toBe(1);
    // The <noscript> refresh: a new document within about 5 s.
    const reloaded = page.waitForEvent('framenavigated', { timeout: 8000 });
    await reloaded;
    expect(noScript.errors).toEqual([]);
    // Not page.close(): on a page with scripts off it did not answer within 10 s here (and with the
    // earlier CDP emulation it hung the test now and then); closing the browser it runs in does.
    await within('closing the no-script browser', noScriptBrowser.close());
  });

  it('saves screenshots of the page (light, dark, phone) under test-results/', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await tab.page.screenshot({ path: `${ARTIFACTS}/status-page.png`, fullPage: true });
    const dark = await (browser as ChromiumSession).open({ colorScheme: 'dark' });
    cleanups.push(() => dark.page.close());
    await dark.page.goto(`${base}/`);
    await live(dark);
    await dark.page.screenshot({ path: `${ARTIFACTS}/status-page-dark.png`, fullPage: true });
    await dark.page.setViewportSize({ width: 390, height: 844 });
    await dark.page.screenshot({ path: `${ARTIFACTS}/status-page-phone.png`, fullPage: true });
    // Readable on a phone: nothing wider than the screen.
    const overflow = await dark.page.evaluate(() => document.documentElement.scrollWidth);
    expect(overflow).toBeLessThanOrEqual(390);
    expect(dark.errors).toEqual([]);
    await dark.page.close();
  });
});
