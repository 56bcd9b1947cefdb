import { createServer } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Monitor } from '../../services/client/monitor.js';
import { openStateFile } from '../../services/client/store/state-file.js';
import { startAlertmanager } from '../support/alertmanager.js';
import { deeplyNested } from '../support/builders.js';
import { type CapturedLogs, captureLogs } from '../support/log-capture.js';
import { freshDataDir, type LoopbackMonitor, startLoopbackMonitor } from '../support/monitor.js';
import { beat, eventually, sendUdp } from '../support/udp.js';

// The real monitor, in-process, on loopback ports chosen by the kernel.
describe('monitor in-process', () => {
  const logs = captureLogs('client');
  let monitor: Monitor;
  let base: string;
  const get = (path: string) => fetch(base + path);
  const json = async (path: string) => (await get(path)).json();

  beforeAll(async () => {
    ({ monitor, base } = await startLoopbackMonitor(logs.logger, {
      MARK_INTERVAL: '200ms',
      HISTORY_SIZE: '50',
      EXCEPTION_LOG_LIMIT: '3',
    }));
  });
  afterAll(async () => {
    await monitor?.stop();
  });

  it('shows beats in the API newest first, with one readable event each', async () => {
    await sendUdp(monitor.udp.port, [beat(0), beat(1), beat(2)]);
    const list = await eventually(async () => {
      const body = (await json('/api/datagrams?source=test-sender')) as Array<{ seq: number; kind: string }>;
      expect(body).toHaveLength(3);
      return body;
    });
    expect(list.map((d) => d.seq)).toEqual([2, 1, 0]);
    expect(list[0]).toMatchObject({
      kind: 'beat',
      source: 'test-sender',
      from: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
    });
    const readable = logs.events('readable').filter((l) => l.source === 'test-sender');
    expect(readable.map((l) => l.seq)).toEqual([0, 1, 2]);
  });

  it('tracks plain text as a sender by address, reports malformed and oversize datagrams as exceptions', async () => {
    await sendUdp(monitor.udp.port, ['not json', '{"v":1,', Buffer.alloc(2000, 0x7b)]);
    const reasons = await eventually(() => {
      const r = logs.events('exception').map((l) => l.reason);
      expect(r).toEqual(expect.arrayContaining(['malformed_json', 'oversize']));
      return r;
    });
    expect(reasons.filter((r) => r === 'oversize')).toHaveLength(1);
    expect(reasons).not.toContain('not_json');
    const status = (await json('/api/status')) as {
      totals: { exceptions: Record<string, number>; text: number };
    };
    expect(status.totals.exceptions).toEqual({ malformed_json: 1, oversize: 1 });
    expect(status.totals.text).toBe(1);
    const text = (await json('/api/datagrams?limit=3')) as Array<{
      kind: string;
      text: string | null;
      source: string | null;
      reason: string | null;
    }>;
    expect(text.map((d) => d.kind)).toEqual(['rejected', 'rejected', 'text']);
    expect(text[2]).toMatchObject({ text: 'not json', source: '127.0.0.1', reason: null });
    const readable = logs.events('readable').filter((l) => l.kind === 'text');
    expect(readable).toEqual([expect.objectContaining({ source: '127.0.0.1', from: '127.0.0.1' })]);
    const senders = (await json('/api/senders')) as Array<{ source: string; kind: string; state: string }>;
    expect(senders.map((s) => [s.source, s.kind, s.state])).toEqual([
      ['127.0.0.1', 'text', 'up'],
      ['test-sender', 'protocol', 'up'],
    ]);
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(200);
  });

  it('rate-limits the log lines of a flood of one reason but counts every datagram', async () => {
    const before = logs.events('exception').filter((l) => l.reason === 'schema').length;
    const bad = Array.from({ length: 20 }, () => JSON.stringify({ v: 1, kind: 'beat' }));
    await sendUdp(monitor.udp.port, bad);
    await eventually(async () => {
      const status = (await json('/api/status')) as { totals: { exceptions: Record<string, number> } };
      expect(status.totals.exceptions.schema).toBe(20);
    });
    const suppressed = await eventually(() => {
      const s = logs.events('suppressed').filter((l) => l.reason === 'schema');
      expect(s.length).toBeGreaterThan(0);
      return s;
    });
    const logged = logs.events('exception').filter((l) => l.reason === 'schema').length - before;
    const suppressedTotal = suppressed.reduce((n, l) => n + (l.suppressed as number), 0);
    expect(logged).toBeLessThanOrEqual(3);
    expect(logged + suppressedTotal).toBe(20);
  });

  it('escapes hostile datagram text on the page', async () => {
    const hostile = '<script>window.pwned=1</script>"><img src=x onerror=alert(1)>';
    await sendUdp(monitor.udp.port, [beat(3, { text: hostile })]);
    const html = await eventually(async () => {
      const page = await (await get('/')).text();
      expect(page).toContain('&lt;script&gt;window.pwned=1&lt;/script&gt;');
      return page;
    });
    expect(html).not.toContain('<script>window.pwned');
    expect(html).not.toContain('<img src=x');
  });

  it('answers a bad query with 400 naming the parameter', async () => {
    const res = await get('/api/datagrams?limit=abc');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'bad_request', parameter: 'limit' });
    const unknown = await get('/api/datagrams?colour=red');
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ parameter: 'colour' });
    // The API routes that take no parameter refuse any.
    for (const path of [
      '/api/status',
      '/api/senders/test-sender',
      '/api/silences',
      '/api/openapi.json',
      '/api/events',
    ]) {
      const res = await get(`${path}?colour=red`);
      expect({ path, status: res.status, body: await res.json() }).toMatchObject({
        path,
        status: 400,
        body: { error: 'bad_request', parameter: 'colour' },
      });
    }
    // Pages and the scrape take what they know and leave the rest (a link's tracking parameter).
    for (const path of ['/', '/metrics']) expect((await get(`${path}?colour=red`)).status).toBe(200);
  });

  it('writes a mark event every MARK_INTERVAL with seconds since the last datagram', async () => {
    const marks = await eventually(() => {
      const m = logs.events('mark');
      expect(m.length).toBeGreaterThanOrEqual(2);
      return m;
    });
    expect(typeof marks.at(-1)?.sinceLastDatagramS).toBe('number');
  });

  it('writes only log lines that match the documented schema', () => {
    expect(logs.lines().length).toBeGreaterThan(10);
    expect(logs.schemaProblems()).toEqual([]);
  });
});

describe('receive buffer', () => {
  it('warns when the kernel grants less than UDP_RECV_BUFFER asks (capped by net.core.rmem_max)', async () => {
    const logs = captureLogs('client');
    const { monitor } = await startLoopbackMonitor(logs.logger, { UDP_RECV_BUFFER: '256MiB' });
    try {
      const udp = logs.events('listening').find((l) => l.protocol === 'udp');
      expect(udp).toMatchObject({ level: 'warn', recvBufferAsked: 256 * 1024 * 1024 });
      expect(udp?.recvBufferBytes as number).toBeLessThan(256 * 1024 * 1024);
    } finally {
      await monitor.stop();
    }
  });
});

describe('stop', () => {
  it('does not wait on a client that connected and sent nothing, or half a request', async () => {
    const { monitor, base } = await startLoopbackMonitor(captureLogs('client').logger);
    const { port } = new URL(base);
    const open = (bytes: string) =>
      new Promise<Socket>((resolve, reject) => {
        const s = connect(Number(port), '127.0.0.1', () => {
          s.write(bytes);
          resolve(s);
        });
        s.once('error', reject);
      });
    const silent = await open('');
    const half = await open('GET /api/status HTTP/1.1\r\nHost: x\r\n');
    const closed = [silent, half].map((s) => new Promise<void>((r) => s.once('close', () => r())));
    try {
      // Without closing them, the stop waits until the clients leave (here: never).
      const outcome = await Promise.race([
        monitor.stop().then(() => 'stopped'),
        new Promise((r) => setTimeout(r, 5000, 'still waiting after 5 s')),
      ]);
      expect(outcome).toBe('stopped');
      await Promise.all(closed);
    } finally {
      silent.destroy();
      half.destroy();
    }
  });
});

/**
 * A monitor run on a fresh state file with `before` (and `during` it), stopped, then started again on
 * that file with `after`: `check` looks at what the second start made of the first run's senders, and
 * the second monitor is stopped whatever it finds.
 */
async function startedAgain(
  before: Record<string, string>,
  during: (m: LoopbackMonitor) => Promise<void>,
  after: Record<string, string>,
  check: (again: LoopbackMonitor, logs: CapturedLogs) => Promise<void>,
): Promise<void> {
  const dataDir = freshDataDir();
  const first = await startLoopbackMonitor(captureLogs('client').logger, { ...before, DATA_DIR: dataDir });
  try {
    await during(first);
  } finally {
    await first.monitor.stop();
  }
  const logs = captureLogs('client');
  const again = await startLoopbackMonitor(logs.logger, { ...after, DATA_DIR: dataDir });
  try {
    await check(again, logs);
  } finally {
    await again.monitor.stop();
  }
}

/** Beats from each of `sources`, one after the other, each seen up before the next. */
async function heardFrom(m: LoopbackMonitor, sources: readonly string[]): Promise<void> {
  for (const source of sources) {
    await sendUdp(m.monitor.udp.port, [beat(0, { source })]);
    await eventually(() => expect(m.monitor.tracker.view(source, Date.now())?.state).toBe('up'));
  }
}

describe('what a start lets go of the senders the state file kept', () => {
  const stateOf = (m: LoopbackMonitor, source: string) => m.monitor.tracker.view(source, Date.now())?.state;

  it('UNDECLARED_SENDERS=ignore: the senders nobody declared that an earlier run tracked (they could never beat again)', async () => {
    const declared = { EXPECTED_SENDERS: 'billing=30s' };
    await startedAgain(
      declared,
      (m) => heardFrom(m, ['stray', 'billing']),
      {
        ...declared,
        UNDECLARED_SENDERS: 'ignore',
      },
      async (again, logs) => {
        // Kept, it would go down (and notify) while it beats on, every datagram of it refused.
        expect(stateOf(again, 'stray')).toBeUndefined();
        expect(stateOf(again, 'billing')).toBe('up');
        expect(logs.events('evict')).toMatchObject([
          { source: 'stray', reason: 'undeclared', level: 'warn' },
        ]);
      },
    );
  });

  it('a MAX_SENDERS lowered since the last run: the longest-silent senders it leaves no room for', async () => {
    await startedAgain(
      {},
      (m) => heardFrom(m, ['oldest', 'middle', 'newest']),
      {
        MAX_SENDERS: '2',
      },
      async (again, logs) => {
        expect(stateOf(again, 'oldest')).toBeUndefined();
        expect([...again.monitor.tracker.all()].map((s) => s.source).sort()).toEqual(['middle', 'newest']);
        expect(logs.events('evict')).toMatchObject([
          { source: 'oldest', reason: 'max_senders', level: 'warn' },
        ]);
      },
    );
  });

  it('ends at once, at the real Alertmanager, the alert of a sender let go at start', async () => {
    const am = await startAlertmanager();
    try {
      // Resent every minute: an alert left to lapse would stay active for four.
      const alerting = { ALERTMANAGER_URLS: am.url, ALERT_RESEND_INTERVAL: '1m' };
      await startedAgain(
        { ...alerting, EXPECTED_SENDERS: 'gone=1s' },
        async () => {
          // Never heard from: down (never_seen) 2 s after the start, its alert firing.
          await eventually(async () => expect(await am.alerts('?active=true')).toHaveLength(1), 10_000);
        },
        alerting,
        async () => {
          await eventually(async () => expect(await am.alerts('?active=true')).toEqual([]), 10_000);
        },
      );
    } finally {
      await am.stop();
    }
  });

  it('pushes a sender let go at start to Alertmanager only as ended, never as firing again', async () => {
    type Alert = { labels: { source: string }; endsAt: string };
    const pushes: Alert[][] = [];
    const sink = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        pushes.push(JSON.parse(body) as Alert[]);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/`;
    try {
      await startedAgain(
        { EXPECTED_SENDERS: 'gone=1s' },
        // Never heard from: down (never_seen) 2 s after the start.
        (m) =>
          eventually(() => expect(m.monitor.tracker.view('gone', Date.now())?.state).toBe('down'), 10_000),
        { ALERTMANAGER_URLS: url, ALERT_RESEND_INTERVAL: '1m' },
        async () => {
          await eventually(() => expect(pushes.flat().some((a) => a.labels.source === 'gone')).toBe(true));
          // Ended: an endsAt already past. Firing, it would end four resend intervals on.
          const checkedAt = Date.now();
          const gone = pushes.flat().filter((a) => a.labels.source === 'gone');
          expect(gone.filter((a) => Date.parse(a.endsAt) > checkedAt)).toEqual([]);
        },
      );
    } finally {
      await new Promise((resolve) => sink.close(resolve));
    }
  });

  it('a declared sender taken off the list before it was heard from (unlisted)', async () => {
    await startedAgain(
      { EXPECTED_SENDERS: 'kept=1h,gone=1h' },
      async () => {},
      {
        EXPECTED_SENDERS: 'kept=1h',
      },
      async (again, logs) => {
        expect(stateOf(again, 'gone')).toBeUndefined();
        expect(stateOf(again, 'kept')).toBe('pending');
        expect(logs.events('evict')).toMatchObject([{ source: 'gone', reason: 'unlisted', level: 'warn' }]);
      },
    );
  });
});

describe('the state file a run leaves', () => {
  it('holds a watermark: every change the run made to a sender before it is in the file; at a clean stop, as it stopped', async () => {
    const dataDir = freshDataDir();
    const startingAt = Date.now();
    const m = await startLoopbackMonitor(captureLogs('client').logger, { DATA_DIR: dataDir });
    try {
      // `b` heard after `a`: the socket thread had read past `a`'s beat and handed it over, and says so
      // (read-through.ts) before `b` is handled.
      await heardFrom(m, ['a', 'b']);
    } finally {
      await m.monitor.stop();
    }
    const stoppedAt = Date.now();
    const file = openStateFile(dataDir);
    try {
      // A start takes the beats due after it as hidden by its absence, and those before it as missed. At a
      // clean stop: what its socket threads had read through, handled and written, as it stopped.
      const rows = [...file.eachSender()];
      expect(rows.map((row) => row.source)).toEqual(['a', 'b']);
      const aSeenMs =
        (JSON.parse(rows[0]?.record ?? '{}') as { lastSeenMs?: number }).lastSeenMs ?? Number.NaN;
      expect(aSeenMs).toBeGreaterThanOrEqual(startingAt);
      expect(file.recordedUntilMs).toBeGreaterThanOrEqual(aSeenMs);
      expect(file.recordedUntilMs).toBeLessThanOrEqual(stoppedAt);
    } finally {
      file.close(null);
    }
  });
});

describe('a datagram nested deeper than a serialiser can go', () => {
  it('is rejected and counted, and the monitor hears on', async () => {
    const logs = captureLogs('client');
    const m = await startLoopbackMonitor(logs.logger, { MAX_DATAGRAM_BYTES: '65507' });
    let died: Error | null = null;
    void m.monitor.died.then((err) => {
      died = err;
    });
    try {
      const nested = deeplyNested();
      expect(() => JSON.stringify(JSON.parse(nested))).toThrow(RangeError);
      const deep = `{"v":${nested}}`;
      await sendUdp(m.monitor.udp.port, [deep]);
      await heardFrom(m, ['after-it']);
      expect(logs.events('exception')).toMatchObject([{ reason: 'unsupported_version', detail: 'v=[…]' }]);
      expect(m.monitor.ingest.stats.exceptions.get('unsupported_version')).toBe(1);
      expect(died).toBeNull();
    } finally {
      await m.monitor.stop();
    }
  });
});
