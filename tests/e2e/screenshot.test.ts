/**
 * The picture of the status page: six senders in different states (up, up
 * with losses, restarted, late, down, stopped), plain-text and rejected
 * datagrams, live in Chromium. Saved as test-results/status-page-demo.png on
 * every run; `UPDATE_DOCS_SCREENSHOT=1 npx vitest run --project e2e` also
 * writes docs/status-page.png (committed, so it is not rewritten by default).
 */

import { createSocket } from 'node:dgram';
import { copyFileSync, mkdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadClientConfig } from '../../services/client/config.js';
import { type Monitor, startMonitor } from '../../services/client/monitor.js';
import { type Beacon, startBeacon } from '../../services/shared/beacon/beacon.js';
import { humanTimestamp } from '../../services/shared/protocol.js';
import { type ChromiumSession, launchChromium } from '../support/browser.js';
import { captureLogs } from '../support/log-capture.js';
import { freshDataDir } from '../support/monitor.js';
import { setUpSuite } from '../support/suite-setup.js';
import { beat, sendUdp } from '../support/udp.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('status page picture', () => {
  // Nothing here reads their lines: log-capture.ts checks every one against the
  // log schema after each test and after the last hook (the monitor's stop).
  const clientLogs = captureLogs('client');
  const serverLogs = captureLogs('server');
  let browser: ChromiumSession | undefined;
  let monitor: Monitor | undefined;
  const timers: NodeJS.Timeout[] = [];
  const beacons: Beacon[] = [];
  const plain = createSocket('udp4');

  // A set-up failure (no Chromium, say) fails every test rather than skipping them.
  setUpSuite(async () => {
    browser = await launchChromium();
    monitor = await startMonitor(
      loadClientConfig({
        UDP_HOST: '127.0.0.1',
        UDP_PORT: '0',
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        DATA_DIR: freshDataDir(),
      }),
      clientLogs.logger,
    );
  });

  afterAll(async () => {
    for (const t of timers) clearInterval(t);
    await Promise.all(beacons.map((b) => b.stop()));
    plain.close();
    await monitor?.stop();
    await browser?.close();
  });

  /** A sender on a timer; `plan` may skip a beat (lost), pause (the next one is late), stop or restart. */
  function scripted(
    source: string,
    intervalMs: number,
    plan: (seq: number, t: number) => 'send' | 'skip' | 'pause' | 'stop' | 'restart' = () => 'send',
  ): void {
    const port = (monitor as Monitor).udp.port;
    const start = Date.now();
    let seq = 0;
    let boot = `${source}-a`;
    const timer = setInterval(() => {
      const action = plan(seq, Date.now() - start);
      if (action === 'stop') return clearInterval(timer);
      if (action === 'pause') return;
      if (action === 'restart') {
        boot = `${source}-b`;
        seq = 0;
      }
      if (action !== 'skip') {
        void sendUdp(port, [beat(seq, { source, boot, intervalMs, text: humanTimestamp(Date.now()) })]);
      }
      seq++;
    }, intervalMs);
    timers.push(timer);
  }

  it('shows a tidy operator screen with senders in every state', async () => {
    const port = (monitor as Monitor).udp.port;
    const beacon = (source: string) => {
      const b = startBeacon(
        { intervalMs: 250, targets: [{ host: '127.0.0.1', port }], source, signer: null, sendBye: true },
        serverLogs.logger,
      );
      beacons.push(b);
      return b;
    };
    const { page, errors, dialogs } = await (browser as ChromiumSession).open();
    await page.setViewportSize({ width: 1280, height: 940 });
    await page.goto(`http://127.0.0.1:${(monitor as Monitor).http.port}/`);
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 5000 });

    beacon('gw-amsterdam-01');
    const tokyo = beacon('gw-tokyo-06');
    // Loses every 11th beat.
    scripted('gw-frankfurt-02', 250, (seq) => (seq % 11 === 7 ? 'skip' : 'send'));
    // Pauses 1.5 s (a late beat), later restarts with a new boot id.
    scripted('gw-london-03', 250, (seq, t) =>
      t > 3000 && t < 4500 ? 'pause' : seq === 40 ? 'restart' : 'send',
    );
    // Dies without a bye at 6 s: down 2 s later, missed beats pile up.
    scripted('gw-newyork-04', 250, (_seq, t) => (t > 6000 ? 'stop' : 'send'));
    // Beats every 4 s and falls silent after its beat at 4 s: late from about 10 s to 18 s, around the
    // look at ~14.5 s with seconds to spare either way (timers drift on a busy machine).
    scripted('gw-singapore-05', 4000, (_seq, t) => (t > 6500 ? 'stop' : 'send'));
    // The original time server: plain text, once a second, from one address.
    timers.push(setInterval(() => plain.send(`${humanTimestamp(Date.now())}\r\n`, port, '127.0.0.1'), 1000));

    await sleep(8000);
    await tokyo.stop();
    await sleep(5800);
    await sendUdp(port, [
      '{"v":1,"kind":"beat","source":"gw-paris-07",',
      JSON.stringify({ v: 2, kind: 'beat', source: 'gw-paris-07' }),
      '<script>alert("hello from the network")</script>',
      JSON.stringify({ v: 1, kind: 'beat', source: 'gw paris 07', seq: -1 }),
    ]);
    // The page has them all once the live stream brought the last changes.
    const states = () =>
      page.$$eval('#senders tbody tr[data-source]', (rows) =>
        rows.map((r) => `${r.getAttribute('data-source')}:${r.className}`),
      );
    await expect.poll(states, { timeout: 3000 }).toEqual([
      'gw-newyork-04:s-down',
      'gw-singapore-05:s-late',
      'gw-tokyo-06:s-stopped',
      // The original time server: a plain-text sender, keyed by its address.
      '127.0.0.1:s-up',
      'gw-amsterdam-01:s-up',
      'gw-frankfurt-02:s-up',
      'gw-london-03:s-up',
    ]);
    await expect.poll(() => page.locator('#datagrams tr.d-rejected').count()).toBeGreaterThanOrEqual(3);
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/status-page-demo.png' });
    if (process.env.UPDATE_DOCS_SCREENSHOT === '1') {
      mkdirSync('docs', { recursive: true });
      copyFileSync('test-results/status-page-demo.png', 'docs/status-page.png');
    }
    expect(await page.locator('#verdict').textContent()).toBe('1 sender down, 1 late');
    expect(errors).toEqual([]);
    expect(dialogs).toEqual([]);
  });
});
