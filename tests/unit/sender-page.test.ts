import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml } from '../../services/client/http/escape.js';
import { captureLogs } from '../support/log-capture.js';
import { type LoopbackMonitor, startLoopbackMonitor } from '../support/monitor.js';
import { beat, eventually, sendUdp } from '../support/udp.js';

// A sender's own page and its incidents, read back from the state file.
describe("a sender's page and incidents", () => {
  const logs = captureLogs('client');
  let m: LoopbackMonitor;
  beforeAll(async () => {
    m = await startLoopbackMonitor(logs.logger, { EXPECTED_SENDERS: 'Billing API@billing=30s' });
  });
  afterAll(async () => {
    await m?.monitor.stop();
  });
  const get = (path: string) => fetch(m.base + path);

  it('lists the state changes of a sender newest first, from the state file', async () => {
    await sendUdp(m.monitor.udp.port, [beat(0), beat(1, { kind: 'bye' })]);
    const incidents = await eventually(async () => {
      const body = (await (await get('/api/senders/test-sender/incidents')).json()) as Array<{
        from: string | null;
        to: string;
        reason: string;
      }>;
      expect(body).toHaveLength(2);
      return body;
    });
    expect(incidents.map((i) => [i.from, i.to, i.reason])).toEqual([
      ['up', 'stopped', 'bye'],
      [null, 'up', 'first_beat'],
    ]);
    expect((await get('/api/senders/test-sender/incidents?limit=1')).status).toBe(200);
    expect((await get('/api/senders/test-sender/incidents?limit=0')).status).toBe(400);
    expect((await get('/api/senders/nobody/incidents')).status).toBe(404);
  });

  it('renders a declared sender before it ever sent, by its name', async () => {
    const res = await get('/senders/billing');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<h1>Billing API</h1>');
    expect(html).toContain('pending (declared)');
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html).toContain('No state changes recorded.');
    expect((await get('/senders/nobody')).status).toBe(404);
  });

  it('escapes a hostile source on its page and in its link', async () => {
    const source = '"><img/src=x/onerror=alert(1)>';
    await sendUdp(m.monitor.udp.port, [beat(0, { source })]);
    await eventually(async () =>
      expect((await get(`/senders/${encodeURIComponent(source)}`)).status).toBe(200),
    );
    const html = await (await get(`/senders/${encodeURIComponent(source)}`)).text();
    expect(html).toContain(`<h1>${escapeHtml(source)}</h1>`);
    expect(html).not.toContain('<img');
    const page = await (await get('/')).text();
    expect(page).toContain(`href="/senders/${encodeURIComponent(source)}"`);
  });
});
