import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogs } from '../support/log-capture.js';
import { type LoopbackMonitor, startLoopbackMonitor } from '../support/monitor.js';
import { beat, eventually, sendUdp } from '../support/udp.js';

// Bounded, cheap views: a page of senders at a time, the most urgent first on
// the page and in the metrics, histograms across all senders.
describe('bounded views', () => {
  let m: LoopbackMonitor;
  const SOURCES = Array.from({ length: 25 }, (_, i) => `node-${String(i).padStart(2, '0')}`);
  beforeAll(async () => {
    m = await startLoopbackMonitor(captureLogs('client').logger, {
      METRICS_SENDER_SERIES: '3',
      EXPECTED_SENDERS: 'Payroll@payroll=1h',
    });
    await sendUdp(
      m.monitor.udp.port,
      SOURCES.map((source) => beat(0, { source, intervalMs: 3_600_000 })),
    );
    await sendUdp(m.monitor.udp.port, [beat(1, { source: 'node-07', kind: 'bye', intervalMs: 3_600_000 })]);
    await eventually(() => expect(m.monitor.tracker.size).toBe(26));
  });
  afterAll(async () => {
    await m?.monitor.stop();
  });
  const get = (path: string) => fetch(m.base + path);
  const sources = async (res: Response) =>
    ((await res.json()) as Array<{ source: string }>).map((s) => s.source);

  it('pages /api/senders by source with a cursor in the Link header', async () => {
    const first = await get('/api/senders?limit=10');
    expect(first.headers.get('x-senders-total')).toBe('26');
    expect(await sources(first)).toEqual(SOURCES.slice(0, 10));
    const link = first.headers.get('link') ?? '';
    const next = /^<([^>]+)>; rel="next"$/.exec(link)?.[1];
    expect(next).toBe('/api/senders?limit=10&cursor=node-09');
    expect(await sources(await get(next as string))).toEqual(SOURCES.slice(10, 20));
    const last = await get('/api/senders?limit=10&cursor=node-19');
    expect(await sources(last)).toEqual([...SOURCES.slice(20), 'payroll']);
    expect(last.headers.get('link')).toBeNull();
    // The default page is 100.
    expect(await sources(await get('/api/senders'))).toHaveLength(26);
  });

  it('filters by state and by a substring of the source or the name', async () => {
    expect(await sources(await get('/api/senders?state=stopped'))).toEqual(['node-07']);
    expect(await sources(await get('/api/senders?state=pending'))).toEqual(['payroll']);
    expect(await sources(await get('/api/senders?q=Pay'))).toEqual(['payroll']);
    expect(await sources(await get('/api/senders?q=-1&limit=3'))).toEqual(['node-10', 'node-11', 'node-12']);
  });

  it('lists summaries without the heartbeat bar unless asked, and keeps the bar on the sender itself', async () => {
    type Listed = { source: string; state: string; heartbeats?: string[] };
    const summaries = (await (await get('/api/senders?limit=2')).json()) as Listed[];
    expect(summaries.map((s) => [s.source, s.state, 'heartbeats' in s])).toEqual([
      ['node-00', 'up', false],
      ['node-01', 'up', false],
    ]);
    const full = await get('/api/senders?limit=2&heartbeats=true');
    expect(((await full.json()) as Listed[]).map((s) => s.heartbeats)).toEqual([['received'], ['received']]);
    // The next page is asked for the same way.
    expect(full.headers.get('link')).toBe(
      '</api/senders?limit=2&heartbeats=true&cursor=node-01>; rel="next"',
    );
    expect(((await (await get('/api/senders/node-00')).json()) as Listed).heartbeats).toEqual(['received']);
  });

  it('answers a bad query with a 400 naming the parameter', async () => {
    for (const [query, parameter] of [
      ['heartbeats=maybe', 'heartbeats'],
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['state=sleepy', 'state'],
      ['colour=red', 'colour'],
    ]) {
      const res = await get(`/api/senders?${query}`);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { parameter: string }).parameter).toBe(parameter);
    }
  });

  it('bounds the per-sender metric series, the most urgent first, and covers all senders in histograms', async () => {
    const text = await (await get('/metrics')).text();
    const states = text
      .split('\n')
      .filter((l) => l.startsWith('udp_monitor_sender_state{') && l.endsWith(' 1'));
    // pending (payroll), stopped (node-07), then the first up by source.
    expect(states.map((l) => /source="([^"]+)"/.exec(l)?.[1])).toEqual(['payroll', 'node-07', 'node-00']);
    expect(text).toMatch(/^udp_monitor_senders_delay_seconds_count 25$/m);
    expect(text).toMatch(/^udp_monitor_senders_jitter_seconds_bucket\{le="\+Inf"\} 25$/m);
    // Both loops of the datagram path: the socket thread's and the main thread's.
    for (const thread of ['socket', 'main'])
      for (const stat of ['p99', 'max'])
        expect(text).toMatch(
          new RegExp(`^udp_monitor_event_loop_delay_seconds\\{thread="${thread}",stat="${stat}"\\} \\d`, 'm'),
        );
    expect(text).toMatch(/^udp_monitor_queue_drops_total 0$/m);
    // Every change counted, whatever the series bound: 25 first beats and one bye.
    expect(text).toMatch(/^udp_monitor_state_changes_total\{to="up",reason="first_beat"\} 25$/m);
    expect(text).toMatch(/^udp_monitor_state_changes_total\{to="stopped",reason="bye"\} 1$/m);
  });

  it("finds senders with the page's search box (no JavaScript needed), and refuses a query past 64 characters", async () => {
    const html = await (await get('/?q=node-1')).text();
    const rows = [...html.matchAll(/<tr class="s-\w+" data-source="([^"]+)"/g)].map((r) => r[1]);
    expect(rows).toEqual(SOURCES.filter((s) => s.includes('node-1')));
    expect(html).toContain('<input id="q" type="search" name="q" value="node-1"');
    expect(html).toContain('data-q="node-1"');
    // A hostile query is shown as text, and matching nothing says so.
    const none = await (await get(`/?q=${encodeURIComponent('<b>x"')}`)).text();
    expect(none).toContain('value="&lt;b&gt;x&quot;"');
    expect(none).toContain('No sender matches.');
    expect((await get(`/?q=${'x'.repeat(65)}`)).status).toBe(400);
  });

  it('lists the most urgent senders on the page and counts all of them in the banner', async () => {
    const html = await (await get('/')).text();
    const rows = [...html.matchAll(/<tr class="s-(\w+)" data-source="([^"]+)"/g)].map(
      (r) => `${r[2]}:${r[1]}`,
    );
    expect(rows.slice(0, 3)).toEqual(['payroll:pending', 'node-07:stopped', 'node-00:up']);
    expect(html).toContain('24 up · 0 late · 0 down · 1 stopped · 1 pending');
  });
});
