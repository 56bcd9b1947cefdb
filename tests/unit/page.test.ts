import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Status } from '../../services/client/http/api.js';
import { escapeHtml } from '../../services/client/http/escape.js';
import {
  beatsLabel,
  fmtMs,
  fmtPct,
  overall,
  renderPage,
  senderHref,
  sortSenders,
} from '../../services/client/http/page.js';
import { CHUNK_CHARS } from '../../services/client/http/text-chunks.js';
import type { Received } from '../../services/client/ingest/history.js';
import type { Monitor } from '../../services/client/monitor.js';
import { createTracker, type SenderView } from '../../services/client/tracking/tracker.js';
import { fmtDuration } from '../../services/shared/duration.js';
import { SOURCE_ID } from '../../services/shared/protocol.js';
import type { SenderState } from '../../services/shared/vocabulary.js';
import { longestChunk } from '../support/chunks.js';
import { captureLogs } from '../support/log-capture.js';
import { startLoopbackMonitor } from '../support/monitor.js';
import { prng } from '../support/prng.js';
import { beat, eventually, sendUdp } from '../support/udp.js';

// --- helpers --------------------------------------------------------------------

/** Tags and attribute names the page itself uses; anything else came from a datagram. */
const PAGE_TAGS = new Set(
  'html head meta title noscript link script body header h1 h2 p main section strong span div table thead tbody tr th td abbr small i b a template footer form input button'.split(
    ' ',
  ),
);
const PAGE_ATTRIBUTES = new Set(
  'lang charset name content http-equiv rel href type src class id role aria-hidden aria-live aria-atomic aria-label aria-labelledby scope title colspan hidden data-now data-quiet-ms data-rows data-urgency data-kinds data-marks data-state data-at data-source action value maxlength placeholder data-q'.split(
    ' ',
  ),
);

/**
 * The page's structure, read the way a browser would tokenise it. Escaping
 * turns every `<` and `"` of a datagram into an entity, so each tag found
 * here is one the page wrote, unless escaping failed.
 */
function structure(html: string) {
  const tags: string[] = [];
  const attributes: Array<{ tag: string; name: string; value: string }> = [];
  for (const m of html.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>/g)) {
    const tag = (m[2] as string).toLowerCase();
    tags.push(`${m[1]}${tag}`);
    for (const a of (m[3] as string).matchAll(/\s([^\s="'<>/]+)(?:="([^"]*)")?/g)) {
      attributes.push({ tag, name: (a[1] as string).toLowerCase(), value: a[2] ?? '' });
    }
  }
  return { tags, attributes };
}

function expectOnlyPageMarkup(html: string): void {
  const { tags, attributes } = structure(html);
  expect(tags.filter((t) => !PAGE_TAGS.has(t.replace('/', '')))).toEqual([]);
  expect(attributes.filter((a) => !PAGE_ATTRIBUTES.has(a.name)).map((a) => a.name)).toEqual([]);
  expect(tags.filter((t) => t === 'script')).toHaveLength(1);
  expect(tags.filter((t) => t === 'title')).toHaveLength(1);
  expect(tags.filter((t) => t === '/title')).toHaveLength(1);
  expect(tags.filter((t) => t === 'template')).toHaveLength(2);
  // Links and the script point only where the page says.
  for (const a of attributes.filter((x) => x.name === 'href' || x.name === 'src')) {
    // A sender's page: its id through encodeURIComponent.
    expect(a.value).toMatch(/^(\/[a-z0-9/._-]*|\/senders\/[A-Za-z0-9%._~!*'()-]*|data:,)$/);
  }
  // Not even an escaped line separator may reach the page raw (a script context would break).
  expect(html).not.toMatch(/[\u2028\u2029]/);
  // The page is valid UTF-8 (invalid bytes from the network became U+FFFD).
  expect(() => new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(html, 'utf8'))).not.toThrow();
}

/** The rows of the datagram table: a class (none for a beat) and, for a mark, its text. */
function datagramRows(html: string): string[] {
  const body = html.match(/<table id="datagrams">.*?<tbody>(.*?)<\/tbody>/s)?.[1] ?? '';
  return [...body.matchAll(/<tr(?: class="([\w-]+)")?>(.*?)(?=<tr|$)/gs)].map((m) =>
    m[1] === 'mark' ? (m[2] as string).replace(/<[^>]+>/g, '') : (m[1] ?? 'beat'),
  );
}

function rawBeat(patch: Record<string, unknown>, text: Buffer): Buffer {
  const head = JSON.stringify({
    v: 1,
    kind: 'beat',
    source: 'utf8-sender',
    boot: 'b1',
    seq: 0,
    sentAt: new Date().toISOString(),
    intervalMs: 1000,
    ...patch,
  });
  return Buffer.concat([Buffer.from(`${head.slice(0, -1)},"text":"`), text, Buffer.from('"}')]);
}

const STATUS: Status = {
  service: 'client',
  version: '1.0.0',
  startedAt: '2026-01-01T00:00:00.000Z',
  uptimeSeconds: 10,
  udp: { address: '127.0.0.1', port: 5000, recvBufferBytes: 1, threads: 1, queueDrops: 0 },
  totals: { datagrams: 0, bytes: 0, accepted: 0, text: 0, exceptions: {} },
  lastDatagramAt: null,
  senders: { total: 0, byState: { pending: 0, up: 0, late: 0, down: 0, stopped: 0 } },
  kernel: null,
  stateFile: { path: '/data/monitor.db', writes: 0, failures: 0 },
  monitorDowntime: [],
};
/** The status the monitor gives with these senders: their counts per state. */
function statusOf(senders: ReadonlyArray<{ state: SenderState }>): Status {
  const byState = { pending: 0, up: 0, late: 0, down: 0, stopped: 0 };
  for (const x of senders) byState[x.state]++;
  return { ...STATUS, senders: { total: senders.length, byState } };
}
const T0 = Date.parse('2026-05-01T12:00:00.000Z');

function received(id: number, atMs: number, patch: Partial<Received> = {}): Received {
  return {
    id,
    receivedAtMs: atMs,
    from: '127.0.0.1:40000',
    bytes: 150,
    kind: 'beat',
    source: 'a',
    boot: 'b1',
    seq: id,
    sentAtMs: atMs - 1,
    delayMs: 1,
    text: 'Fri May 01 12:00:00 2026',
    reason: null,
    detail: null,
    verified: false,
    ...patch,
  };
}

/** Real tracker views: `a` up, `b` down, `c` stopped, `d` late. */
function views(): SenderView[] {
  const tracker = createTracker({
    maxSenders: 10,
    lateGraceMs: null,
    downAfterMisses: 3,
    sequenceWindow: 64,
    heartbeatSlots: 50,
  });
  const send = (
    source: string,
    seq: number,
    atMs: number,
    intervalMs = 1000,
    kind: 'beat' | 'bye' = 'beat',
  ) => tracker.observe({ source, boot: 'b1', seq, kind, sentAtMs: atMs, intervalMs, receivedAtMs: atMs });
  for (let i = 0; i < 10; i++) send('b', i, T0 + i * 1000);
  for (let i = 0; i < 14; i++) send('c', i, T0 + i * 1000);
  send('c', 14, T0 + 14_000, 1000, 'bye');
  for (let i = 0; i < 16; i++) send('d', i, T0 + i * 1000, 2000);
  for (let i = 0; i < 20; i++) if (i !== 5) send('a', i, T0 + i * 1000);
  tracker.tick(T0 + 20_500);
  return tracker.views(T0 + 20_500);
}

// --- pure rendering ---------------------------------------------------------------

describe("a sender's link", () => {
  /** The source the link names once a browser has resolved it (dot segments taken out, as the URL standard says). */
  const reached = (source: string) => {
    const { pathname } = new URL(senderHref(source), 'http://monitor:8080/');
    return pathname.startsWith('/senders/') ? decodeURIComponent(pathname.slice('/senders/'.length)) : null;
  };

  it('reaches its own page for every id a sender may have', () => {
    const random = prng(12);
    const ids = ['...', '.a', 'a.', 'a/..', '../a', '%2e%2e', '%2E', '?x', '#y', '\\..', 'a%2Fb'];
    for (let i = 0; i < 2000; i++) {
      // Dots, slashes, percents and the rest of printable ASCII, 1 to 6 characters.
      const length = 1 + Math.floor(random() * 6);
      let id = '';
      for (let c = 0; c < length; c++)
        id += random() < 0.5 ? '.' : String.fromCharCode(0x21 + Math.floor(random() * 94));
      ids.push(id);
    }
    const valid = ids.filter((id) => SOURCE_ID.test(id));
    expect(valid.length).toBeGreaterThan(1500);
    expect(valid.filter((id) => reached(id) !== id)).toEqual([]);
  });

  it('could not reach `.` or `..`, which are therefore no ids', () => {
    expect(reached('.')).toBe(''); // /senders/
    expect(reached('..')).toBeNull(); // the status page itself
    expect(SOURCE_ID.test('.')).toBe(false);
    expect(SOURCE_ID.test('..')).toBe(false);
  });
});

describe('status page rendering', () => {
  it('formats durations, milliseconds and percentages for a glance', () => {
    expect([0, 4.9, 119, 120, 7199, 7200, 172_799, 172_800].map(fmtDuration)).toEqual([
      '0 s',
      '4 s',
      '119 s',
      '2 min',
      '119 min',
      '2 h',
      '47 h',
      '2 d',
    ]);
    expect(fmtDuration(-3)).toBe('0 s');
    expect([0, 0.04, -2.5, 12.4, 999.6, 1500, 123_456].map(fmtMs)).toEqual([
      '0.0 ms',
      '0.0 ms',
      '-2.5 ms',
      '12 ms',
      '1000 ms',
      '1.5 s',
      '123 s',
    ]);
    expect(fmtMs(null)).toBe('');
    expect([null, 100, 99.96, 50, 0].map(fmtPct)).toEqual(['–', '100%', '99.9%', '50.0%', '0.0%']);
  });

  it('answers "is everything alive?" in words in the banner and the title', () => {
    expect(overall([])).toMatchObject({ level: 'idle', verdict: 'No senders yet', title: '' });
    expect(overall([{ source: 'a', state: 'up' }])).toMatchObject({
      level: 'ok',
      verdict: 'All 1 sender up',
      problems: '',
    });
    expect(
      overall([
        { source: 'a', state: 'up' },
        { source: 's', state: 'stopped' },
      ]),
    ).toMatchObject({ level: 'ok', verdict: '1 up, none late or down' });
    expect(overall([{ source: 's', state: 'stopped' }])).toMatchObject({ level: 'idle' });
    expect(
      overall([
        { source: 'a', state: 'late' },
        { source: 'b', state: 'up' },
      ]),
    ).toMatchObject({ level: 'warn', verdict: '1 sender late', problems: 'late: a', title: '(1 late) ' });
    const many = Array.from({ length: 7 }, (_, i) => ({ source: `d${i}`, state: 'down' as const }));
    const bad = overall([...many, { source: 'l', state: 'late' }]);
    expect(bad).toMatchObject({ level: 'bad', verdict: '7 senders down, 1 late', title: '(7 down) ' });
    expect(bad.problems).toBe('down: d0, d1, d2, d3, d4 and 2 more · late: l');
    expect(bad.counts).toBe('0 up · 1 late · 7 down · 0 stopped');
  });

  it('puts problems first: down, late, stopped, up, then by name', () => {
    const sorted = sortSenders([
      { source: 'b', state: 'up' },
      { source: 'a', state: 'up' },
      { source: 'z', state: 'down' },
      { source: 's', state: 'stopped' },
      { source: 'l', state: 'late' },
    ] as const);
    expect(sorted.map((s) => s.source)).toEqual(['z', 'l', 's', 'a', 'b']);
  });

  it('renders every sender column, the state as a word and the 50-beat bar', () => {
    const senders = views();
    expect(senders.map((s) => [s.source, s.state])).toEqual([
      ['a', 'up'],
      ['b', 'down'],
      ['c', 'stopped'],
      ['d', 'late'],
    ]);
    const html = renderPage({ status: statusOf(senders), senders, recent: [], nowMs: T0 + 20_500 }).join('');
    expectOnlyPageMarkup(html);
    const order = [...html.matchAll(/<tr class="s-(\w+)" data-source="(\w)"/g)].map((m) => `${m[2]}:${m[1]}`);
    expect(order).toEqual(['b:down', 'd:late', 'c:stopped', 'a:up']);
    expect(html).toContain('<title>(1 down) udp-time-service monitor</title>');
    expect(html).toContain('<strong id="verdict">1 sender down, 1 late</strong>');
    expect(html).toContain('<span id="problems">down: b · late: d</span>');
    const rowA = html.match(/<tr class="s-up" data-source="a">.*?<\/tr>/)?.[0] ?? '';
    expect(rowA).toContain('<span class="badge">up</span>');
    expect(rowA).toMatch(/<td data-at="\d+">1 s ago<td>19<td class="bad">1 \/ 0 \/ 0<td>/);
    expect(rowA).toMatch(/<td>\d+\.\d ms<td>\d+\.\d ms<td>100% \/ 100%<td>/);
    // 20 beats: 5 received, 1 missed (seq 5), 14 received, in runs of 4+1, 1, 8+4+2 slots.
    expect(rowA).toContain(
      'aria-label="last 20 beats: 19 received, 1 missed"><i class="w4"></i><i></i><i class="m"></i><i class="w8"></i><i class="w4"></i><i class="w2"></i></span>',
    );
    // b missed its beats after seq 9: down, with the missed beats in its bar.
    expect(html).toMatch(
      /data-source="b">.*<span class="badge">down<\/span>.*<i class="m[^"]*"><\/i><\/span>/,
    );
    expect(beatsLabel(['received', 'late', 'restart', 'missed'])).toBe(
      'last 4 beats: 1 received, 1 late, 1 missed, 1 restart',
    );
  });

  it('comes in chunks of at most CHUNK_CHARS, 500 senders with their bars among them', () => {
    const tracker = createTracker({
      maxSenders: 600,
      lateGraceMs: null,
      downAfterMisses: 3,
      sequenceWindow: 64,
      heartbeatSlots: 50,
    });
    for (let n = 0; n < 500; n++) {
      const source = `sender-${n}`.padEnd(40, '.');
      for (let i = 0; i < 50; i++) {
        if ((i + n) % 7 === 0) continue; // missed beats: a bar of many marks
        const atMs = T0 + i * 1000;
        tracker.observe({
          source,
          boot: 'b1',
          seq: i,
          kind: 'beat',
          sentAtMs: atMs,
          intervalMs: 1000,
          receivedAtMs: atMs,
        });
      }
    }
    const senders = tracker.views(T0 + 50_000);
    const chunks = renderPage({ status: statusOf(senders), senders, recent: [], nowMs: T0 + 50_000 });
    const html = chunks.join('');
    expect(html.match(/<tr class="s-/g)).toHaveLength(500);
    expect(html.length).toBeGreaterThan(5 * CHUNK_CHARS);
    expect(longestChunk(chunks)).toBeLessThanOrEqual(CHUNK_CHARS);
  });

  it('renders the rows page.js clones with the same cells as the server rows', () => {
    const html = renderPage({
      status: STATUS,
      senders: views(),
      recent: [received(1, T0)],
      nowMs: T0 + 1000,
    }).join('');
    const cells = (row: string) =>
      [...row.matchAll(/<(td|th)( class="[\w ]+")?/g)].map((m) => m[0].replace(' class="bad"', ''));
    const senderTemplate = html.match(/<template id="sender-tpl">(.*?)<\/template>/)?.[1] ?? '';
    const senderRow = html.match(/<tr class="s-up" data-source="a">.*?<\/tr>/)?.[0] ?? '';
    expect(cells(senderTemplate)).toEqual(cells(senderRow));
    expect(cells(senderTemplate)).toHaveLength(9);
    const datagramTemplate = html.match(/<template id="datagram-tpl">(.*?)<\/template>/)?.[1] ?? '';
    const datagramRow = html.match(/<tr><td>\d.*?(?=<tr|<\/tbody>)/)?.[0] ?? '';
    expect(cells(datagramTemplate)).toEqual(cells(datagramRow));
    expect(cells(datagramTemplate)).toHaveLength(6);
    const headers = (id: string) =>
      (html.match(new RegExp(`<table id="${id}">.*?</thead>`, 's'))?.[0].match(/<th>/g) ?? []).length;
    expect(headers('senders')).toBe(9);
    expect(headers('datagrams')).toBe(6);
  });

  it('shows the original "waiting..." as quiet marks where nothing arrived', () => {
    const empty = renderPage({ status: statusOf([]), senders: [], recent: [], nowMs: T0 }).join('');
    expect(empty).toContain('<tbody><tr class="mark"><td colspan="6">waiting… no datagrams yet</tbody>');
    expect(empty).toContain('No senders yet: waiting for the first beat.');
    expect(empty).toContain('<p id="clock">last datagram <span id="last" data-at="">never</span></p>');

    // Newest first: 3 at T0+30s, 2 at T0+12s, 1 at T0+10s; now T0+45s; marks every 5 s.
    const recent = [
      received(3, T0 + 30_000),
      received(2, T0 + 12_000),
      received(1, T0 + 10_000, {
        kind: 'rejected',
        source: null,
        seq: null,
        delayMs: null,
        reason: 'malformed_json',
        text: '{"v":',
      }),
    ];
    const html = renderPage({
      status: statusOf([]),
      senders: [],
      recent,
      nowMs: T0 + 45_000,
      quietMs: 5000,
    }).join('');
    expect(datagramRows(html)).toEqual([
      'waiting… no datagrams for 15 s',
      'beat',
      'waiting… no datagrams for 18 s',
      'beat',
      'd-rejected',
    ]);
    expect(html).toContain(
      '<tr class="d-rejected"><td>12:00:10.000<td>rejected<td>127.0.0.1:40000<td><td><td><b class="why">malformed_json</b> {&quot;v&quot;:</tbody>',
    );
  });

  it('renders at most 100 datagrams and 500 senders, and says where the rest are', () => {
    const recent = Array.from({ length: 150 }, (_, i) => received(150 - i, T0 - i * 100));
    const tracker = createTracker({
      maxSenders: 1000,
      lateGraceMs: null,
      downAfterMisses: 3,
      sequenceWindow: 64,
      heartbeatSlots: 50,
    });
    for (let i = 0; i < 510; i++) {
      const source = `s${String(i).padStart(3, '0')}`;
      tracker.observe({
        source,
        boot: 'b',
        seq: 0,
        kind: 'beat',
        sentAtMs: T0,
        intervalMs: 1000,
        receivedAtMs: T0,
      });
    }
    const html = renderPage({
      status: statusOf(tracker.views(T0)),
      senders: tracker.views(T0),
      recent,
      nowMs: T0,
    }).join('');
    expect(datagramRows(html)).toEqual(Array(100).fill('beat'));
    expect(html.match(/<tr class="s-up"/g)).toHaveLength(500);
    expect(html).toContain(
      '<p class="more">10 more senders: find one with the box above, or see <a href="/api/senders">/api/senders</a></p>',
    );
  });

  it('works without JavaScript: complete rows and a plain periodic refresh', () => {
    const html = renderPage({
      status: statusOf(views()),
      senders: views(),
      recent: [received(1, T0)],
      nowMs: T0,
    }).join('');
    expect(html).toContain('<noscript><meta http-equiv="refresh" content="5"></noscript>');
    expect(html).toContain('<script type="module" src="/static/page.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/static/page.css">');
    expect(html).not.toMatch(/style=|<style/);
    expect(html).toContain(
      '<p id="conn" data-state="static">snapshot 12:00:00 UTC · refreshes every 5 s</p>',
    );
    expect(html).toContain('role="status" aria-live="polite"');
  });
});

// --- the real monitor: hostile datagrams, headers, weight ---------------------------

describe('status page served by the monitor', () => {
  const logs = captureLogs('client');
  let monitor: Monitor;
  let base: string;
  const page = async () => (await fetch(`${base}/`)).text();

  beforeAll(async () => {
    ({ monitor, base } = await startLoopbackMonitor(logs.logger, { SSE_MAX_CLIENTS: '2' }));
  });
  afterAll(async () => {
    await monitor?.stop();
  });

  const HOSTILE_TEXT = [
    '<script>window.pwned=1</script>',
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    '</title><script>alert(1)</script>',
    '</template></td></tr></table><script>alert(1)</script>',
    'javascript:alert(document.domain)',
    '<a href="javascript:alert(1)">click</a>',
    '&lt;already escaped&gt; &amp; <!-- ]]>',
    'line\u2028separator\u2029paragraph',
  ];
  // Sources are printable ASCII without spaces (the schema): still enough to try.
  const HOSTILE_SOURCES = [
    '"><img/src=x/onerror=alert(1)>',
    '</title><script>alert(1)</script>',
    'javascript:alert(1)',
    "'onmouseover='alert(1)'",
  ];

  it('shows hostile datagram text, plain text and sources only escaped', async () => {
    await sendUdp(monitor.udp.port, [
      ...HOSTILE_TEXT.map((text, i) => beat(i, { source: 'hostile-text', text })),
      ...HOSTILE_TEXT.map((text) => text),
      ...HOSTILE_SOURCES.map((source) => beat(0, { source, text: 'x' })),
      // Invalid UTF-8, as plain text and inside a beat's text.
      Buffer.from([0x3c, 0xff, 0x3e, 0xc0, 0xaf, 0x41, 0x3c, 0x62, 0x3e]),
      rawBeat({}, Buffer.from([0x3c, 0x69, 0xff, 0xfe, 0x3e])),
      // Malformed JSON: its preview and the parser's message both carry the payload.
      '{"v":1,"text":"<script>alert(1)</script>",',
    ]);
    const html = await eventually(async () => {
      const body = await page();
      expect(body).toContain('data-source="utf8-sender"');
      expect(body).toContain('malformed_json');
      return body;
    });
    expectOnlyPageMarkup(html);
    for (const text of HOSTILE_TEXT) {
      // Once in the beat row, once in the plain-text row.
      expect(html.split(escapeHtml(text)).length - 1).toBeGreaterThanOrEqual(2);
    }
    for (const source of HOSTILE_SOURCES) {
      expect(html).toContain(`data-source="${escapeHtml(source)}"><th title="boot`);
      expect(html).toContain(`>${escapeHtml(source)}</a><td`);
    }
    expect(html).toContain('line&#x2028;separator&#x2029;paragraph');
    expect(html).toContain('&amp;lt;already escaped&amp;gt; &amp;amp; &lt;!-- ]]&gt;');
    expect(html).toContain('&lt;\uFFFD&gt;\uFFFD\uFFFDA&lt;b&gt;');
    expect(html).toContain('&lt;i\uFFFD\uFFFD&gt;');
    expect(html).toContain(
      '<b class="why">malformed_json</b> {&quot;v&quot;:1,&quot;text&quot;:&quot;&lt;script&gt;',
    );
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<svg');
    expect(html).not.toContain('href="javascript');
  });

  const SECURITY_HEADERS = {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };

  function expectSecurityHeaders(headers: Record<string, string | string[] | undefined>): void {
    expect(headers).toMatchObject(SECURITY_HEADERS);
    const csp = String(headers['content-security-policy']);
    const directives = Object.fromEntries(
      csp.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values.join(' ')];
      }),
    );
    expect(directives).toMatchObject({
      'default-src': "'none'",
      'script-src': "'self'",
      'style-src': "'self'",
      'connect-src': "'self'",
      'frame-ancestors': "'none'",
      'base-uri': "'none'",
      'form-action': "'none'",
    });
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  }

  it.each([
    ['/', 200, 'text/html; charset=utf-8'],
    ['/static/page.js', 200, 'text/javascript; charset=utf-8'],
    ['/static/page.css', 200, 'text/css; charset=utf-8'],
    ['/static/nope.js', 404, 'application/json; charset=utf-8'],
    ['/static/..%2Fpage.ts', 404, 'application/json; charset=utf-8'],
    ['/static/constructor', 404, 'application/json; charset=utf-8'],
    ['/static/__proto__', 404, 'application/json; charset=utf-8'],
    ['/no-such-page', 404, 'application/json; charset=utf-8'],
    ['/api/status', 200, 'application/json; charset=utf-8'],
  ])('sends the security headers on %s (%i)', async (path, code, type) => {
    const res = await fetch(base + path);
    expect(res.status).toBe(code);
    expect(res.headers.get('content-type')).toBe(type);
    expectSecurityHeaders(Object.fromEntries(res.headers));
    await res.arrayBuffer();
  });

  /** Opens /api/events and resolves with the status and headers, keeping the stream open. */
  function openStream(): Promise<{ status: number; headers: Record<string, unknown>; close(): void }> {
    return new Promise((resolve, reject) => {
      const req = request(`${base}/api/events`, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, close: () => req.destroy() });
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('sends the security headers on the event stream, which bypasses fastify (hijack), and on its 503', async () => {
    const first = await openStream();
    const second = await openStream();
    const third = await openStream();
    try {
      expect(first.status).toBe(200);
      expect(first.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expectSecurityHeaders(first.headers as Record<string, string>);
      expect(second.status).toBe(200);
      // SSE_MAX_CLIENTS is 2 here: the third is refused, with the headers all the same.
      expect(third.status).toBe(503);
      expect(third.headers['retry-after']).toBe('5');
      expectSecurityHeaders(third.headers as Record<string, string>);
    } finally {
      for (const s of [first, second, third]) s.close();
    }
  });

  it('answers a HEAD of the event stream with its headers, and it takes no client slot', async () => {
    // SSE_MAX_CLIENTS is 2 here: three HEADs, then two streams, all answered (once the streams
    // of the test before have let go of their slots).
    await expect
      .poll(
        async () =>
          (await (await fetch(`${base}/metrics`)).text()).match(/^udp_monitor_sse_clients (\d+)$/m)?.[1],
      )
      .toBe('0');
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${base}/api/events`, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expectSecurityHeaders(Object.fromEntries(res.headers));
    }
    const streams = [await openStream(), await openStream()];
    try {
      expect(streams.map((s) => s.status)).toEqual([200, 200]);
    } finally {
      for (const s of streams) s.close();
    }
  });

  it('serves only the known static files, with a content type that nosniff accepts', async () => {
    const js = await fetch(`${base}/static/page.js`);
    expect(js.headers.get('cache-control')).toBe('no-cache');
    expect(await js.text()).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
    // A reload revalidates: same ETag, 304, no body, the headers all the same.
    const etag = js.headers.get('etag') as string;
    expect(etag).toMatch(/^"[\w-]{22}"$/);
    const again = await fetch(`${base}/static/page.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expectSecurityHeaders(Object.fromEntries(again.headers));
    expect((await fetch(`${base}/static/page.ts`)).status).toBe(404);
    expect((await fetch(`${base}/static/`)).status).toBe(404);
  });
});

describe('page weight', () => {
  const logs = captureLogs('client');
  let monitor: Monitor;

  beforeAll(async () => {
    ({ monitor } = await startLoopbackMonitor(logs.logger));
  });
  afterAll(async () => {
    await monitor?.stop();
  });

  it('stays under 50 KB (HTML + CSS + JS) with 20 senders, full beat bars and 100 datagrams', async () => {
    // 20 senders with realistic host-name ids, 50 beats each (every 10th lost): full bars.
    const sources = Array.from(
      { length: 20 },
      (_, i) => `beacon-${String(i).padStart(2, '0')}.dc1.example.net`,
    );
    for (const source of sources) {
      const beats = Array.from({ length: 50 }, (_, seq) => seq)
        .filter((seq) => seq % 10 !== 9)
        .map((seq) => beat(seq, { source }));
      await sendUdp(monitor.udp.port, beats);
    }
    await sendUdp(monitor.udp.port, ['Fri May 01 12:00:00 2026', '{"v":1,']);
    await eventually(() => expect(monitor.ingest.stats.datagrams).toBe(20 * 45 + 2));
    const base = `http://127.0.0.1:${monitor.http.port}`;
    const bytes = async (path: string) => (await (await fetch(base + path)).arrayBuffer()).byteLength;
    const html = await (await fetch(`${base}/`)).text();
    // The 20 beacons and the plain-text sender (127.0.0.1) that sent the asctime line.
    expect(html.match(/<tr class="s-/g)).toHaveLength(21);
    expect(datagramRows(html)).toHaveLength(100);
    const senderRows = html.match(/<table id="senders">.*?<\/tbody>/s)?.[0] ?? '';
    expect(senderRows.match(/<i class="m"><\/i>/g)).toHaveLength(20 * 4);
    const weight = {
      html: Buffer.byteLength(html),
      css: await bytes('/static/page.css'),
      js: await bytes('/static/page.js'),
    };
    const total = weight.html + weight.css + weight.js;
    console.info(`page weight: ${JSON.stringify(weight)}, total ${total} bytes`);
    expect(total).toBeLessThan(50_000);
  });
});
