/**
 * The senders scenario (issue 12): the real client tracking N senders, each
 * beating once a second (the C sender plays them: RATE = SOURCES = N), while
 * an operator looks at it: `/metrics` scraped every 15 s, `/api/senders`
 * paged through every 5 s together with the page and `/api/status`, and the
 * live stream (`/api/events`) open all along. Then the monitor is stopped and
 * started again on its state file while the senders go on beating: how long
 * until it is ready and tracking, and whether it invents or hides anything.
 *
 * Everything judged is read from the client's own outputs (its metrics and
 * API) and from the kernel (/proc/net/udp drops), never from timings of the
 * bench itself, except the views' latencies, which are the bench's own.
 *
 * The operator looks from the start, as one who keeps a page open does: the
 * warm-up has the same scrapes, walks and stream as the window. What the
 * first look after a start costs (its first walk meets the storm of new
 * senders) is reported on its own, from the warm-up's requests, so the
 * window's figures are the steady state's.
 */
import { mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readKernelSocketStats } from '../../services/client/ingest/kernel-drops.js';
import { SOCKET_THREAD_NAME } from '../../services/client/ingest/receiver.js';
import { STATE_FILE_NAME } from '../../services/client/store/state-file.js';
import { type Child, startChild } from '../lib/children.js';
import { type CpuShare, cpuShare, cpuSnapshot, type ThreadGroup } from '../lib/cpu-share.js';
import { kdamonds } from '../lib/machine.js';
import { runSender } from '../lib/sender.js';
import { percentile, sleep } from '../lib/stats.js';

export interface SendersPlan {
  senders: number;
  /** The measured window, after the warm-up. */
  seconds: number;
  /** Until every sender has been seen and has an interval, the operator already looking (not judged). */
  warmupSeconds: number;
  scrapeEveryS: number;
  pageEveryS: number;
  /** How long the restarted monitor is watched while the senders go on. */
  restartSeconds: number;
  /** false: nobody looks (no scrapes, pages or live stream), for comparison. */
  look?: boolean;
}

export const FULL_SENDERS: SendersPlan = {
  senders: 50_000,
  seconds: 600,
  warmupSeconds: 10,
  scrapeEveryS: 15,
  pageEveryS: 5,
  restartSeconds: 20,
};

export const SHORT_SENDERS: SendersPlan = {
  senders: 5_000,
  seconds: 15,
  warmupSeconds: 5,
  scrapeEveryS: 5,
  pageEveryS: 2,
  restartSeconds: 6,
};

/** The warm-up's requests: what the first look after a start cost. */
export interface FirstLook {
  requests: number;
  errors: number;
  /** The slowest of them, and when it was asked (seconds after the first). */
  slowest: { view: View; ms: number; atS: number } | null;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  /** Size of the last answer. */
  bytes: number;
}

/**
 * The page's search box, searched for what few senders match (the C sender's
 * sources are bench-00, bench-01, ...: 11 of 50,000, 1 of 5,000): the page
 * passes over every sender to find them.
 */
const SEARCH = 'bench-4999';
const VIEWS = ['metrics', 'sendersPage', 'page', 'search', 'status'] as const;
type View = (typeof VIEWS)[number];
export const VIEW_LABEL: Record<View, string> = {
  metrics: 'GET /metrics',
  sendersPage: 'GET /api/senders?limit=1000 (each page of a walk)',
  page: 'GET / (the status page)',
  search: `GET /?q=${SEARCH} (the page's search, few match)`,
  status: 'GET /api/status',
};

/** What one monitor run said about itself, from its metrics. */
interface MonitorReading {
  changes: Map<string, number>;
  byState: Record<string, number>;
  kernelDrops: number;
  /** Dropped by the socket thread: the queue to the main thread was full. */
  queueDrops: number;
  /** Log lines the log's bounded buffer dropped. */
  logDropped: number;
  sseDropped: number;
  datagrams: number;
}

export interface SendersResult {
  plan: SendersPlan;
  sent: number;
  /** Datagrams the client counted in the measured window, and what the sender sent in it. */
  windowReceived: number;
  windowSent: number;
  kernelDrops: number;
  queueDrops: number;
  /** Log lines dropped in the measured window (the log's buffer was full). */
  logDropped: number;
  /** Changes other than a sender's first beat, in the measured window ("to:reason" -> count). */
  falseChanges: Record<string, number>;
  firstBeats: number;
  byStateAtEnd: Record<string, number>;
  /** Worst per-window p99 and max: the socket thread's, and the main thread's. */
  loop: { windows: number; p99MaxMs: number; maxMs: number; mainP99MaxMs: number; mainMaxMs: number };
  views: Record<View, LatencySummary>;
  walks: number;
  firstLook: FirstLook;
  /** Where the machine's CPU went in the window (/proc). */
  cpu: CpuShare;
  sse: { stateEvents: number; bytes: number; dropped: number; error: string | null };
  rss: { emptyBytes: number; loadedBytes: number; perSenderBytes: number; heapUsedBytes: number };
  stateFileBytes: number;
  restart: {
    stopMs: number;
    readyMs: number;
    startupMs: number | null;
    trackingMs: number | null;
    restoredSenders: number;
    changes: Record<string, number>;
    byState: Record<string, number>;
    kernelDrops: number;
  };
}

export async function runSendersScenario(
  senderBinary: string,
  plan: SendersPlan,
  childFile: string,
  logFile: string,
  register: (child: Child) => void,
): Promise<SendersResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'udpts-bench-senders-'));
  const clientEnv = (extra: Record<string, string>) => ({
    BENCH_LOG_FILE: logFile,
    BENCH_CLIENT_ENV: JSON.stringify({
      DATA_DIR: dataDir,
      MAX_SENDERS: String(Math.max(10_000, plan.senders * 2)),
      // As the README says to run this many: counters synced within 30 s, not every second,
      // and on two cores the main thread below the socket threads.
      STATE_SYNC_INTERVAL: '30s',
      MAIN_THREAD_NICE: '5',
      ...extra,
    }),
  });
  writeFileSync(logFile, '');
  try {
    const first = await startChild('client (senders)', childFile, clientEnv({}));
    register(first);
    const port = first.ready.udpPort;
    const empty = await first.probe();

    // One sender run for the whole scenario: the senders do not stop while the monitor restarts.
    const restartBudgetS = plan.restartSeconds + 15;
    const totalS = plan.warmupSeconds + plan.seconds + restartBudgetS;
    const sendStart = Date.now();
    let senderPid = 0;
    const sending = runSender(senderBinary, {
      onStart: (pid) => {
        senderPid = pid;
      },
      port,
      rate: plan.senders,
      count: plan.senders * totalS,
      maxSeconds: totalS + 10,
      sources: plan.senders,
      seqStart: 0,
      boot: 'senders1',
    });
    let sendingDone = false;
    const sent = sending.finally(() => {
      sendingDone = true;
    });
    const truncating = setInterval(() => truncateSync(logFile, 0), 2000);

    const base = `http://127.0.0.1:${first.ready.httpPort}`;
    const look = plan.look ?? true;
    const sse = look ? openEventStream(`${base}/api/events`) : null;

    // The operator looks from here on; a request asked before the window opens counts as the first look.
    const lookFrom = Date.now();
    let windowFrom = Number.POSITIVE_INFINITY;
    let windowEnd = Number.POSITIVE_INFINITY;
    const samples = Object.fromEntries(VIEWS.map((v) => [v, [] as number[]])) as Record<View, number[]>;
    const errors = Object.fromEntries(VIEWS.map((v) => [v, 0])) as Record<View, number>;
    const bytes = Object.fromEntries(VIEWS.map((v) => [v, 0])) as Record<View, number>;
    const firstLook: FirstLook = { requests: 0, errors: 0, slowest: null };
    const record = (view: View, askedAt: number, ms: number, ok: boolean) => {
      if (askedAt >= windowFrom) {
        samples[view].push(ms);
        if (!ok) errors[view]++;
        return;
      }
      firstLook.requests++;
      if (!ok) firstLook.errors++;
      if (ms > (firstLook.slowest?.ms ?? -1))
        firstLook.slowest = { view, ms, atS: (askedAt - lookFrom) / 1000 };
    };
    const timed = async (view: View, path: string): Promise<{ res: Response; body: string } | null> => {
      const askedAt = Date.now();
      const t0 = performance.now();
      try {
        const res = await fetch(base + path, { signal: AbortSignal.timeout(10_000) });
        const body = await res.text();
        record(view, askedAt, performance.now() - t0, res.ok);
        bytes[view] = Buffer.byteLength(body);
        return { res, body };
      } catch {
        record(view, askedAt, performance.now() - t0, false);
        return null;
      }
    };
    const loopWindows: LoopWindow[] = [];
    const scraping = (async () => {
      while (look && Date.now() < windowEnd) {
        const t0 = Date.now();
        const scraped = await timed('metrics', '/metrics');
        // A scrape read once the window is open covers window time (its first, the bench's own, began it).
        if (scraped !== null && Date.now() >= windowFrom) loopWindows.push(loopDelay(scraped.body));
        await sleep(Math.max(0, t0 + plan.scrapeEveryS * 1000 - Date.now()));
      }
    })();
    let walks = 0;
    const paging = (async () => {
      while (look && Date.now() < windowEnd) {
        const t0 = Date.now();
        let next: string | null = '/api/senders?limit=1000';
        while (next !== null) {
          const page: { res: Response } | null = await timed('sendersPage', next);
          next = /^<([^>]+)>; rel="next"$/.exec(page?.res.headers.get('link') ?? '')?.[1] ?? null;
        }
        if (t0 >= windowFrom) walks++;
        await timed('page', '/');
        await timed('search', `/?q=${SEARCH}`);
        await timed('status', '/api/status');
        await sleep(Math.max(0, t0 + plan.pageEveryS * 1000 - Date.now()));
      }
    })();
    const { threads, cpuFrom, start } = await (async () => {
      await sleep(plan.warmupSeconds * 1000);
      if (sendingDone)
        throw new Error(`the sender stopped during the warm-up: ${JSON.stringify(await sent)}`);
      // The measured window. Its first scrape (the bench's own) starts the loop-delay windows afresh.
      const threads = cpuGroups(first.pid, senderPid);
      return { threads, cpuFrom: cpuSnapshot(threads), start: await read(base, port) };
    })().catch((err: unknown) => {
      windowEnd = 0; // the operator stops looking
      throw err;
    });
    windowFrom = Date.now();
    windowEnd = windowFrom + plan.seconds * 1000;
    await Promise.all([scraping, paging]);
    if (!look) await sleep(Math.max(0, windowEnd - Date.now()));
    // The loop-delay gauge covers the time since the previous scrape: every window's, the last one's too.
    const end = await read(base, port);
    const windowTo = Date.now();
    const cpu = cpuShare(cpuFrom, cpuSnapshot(threads), availableParallelism());
    loopWindows.push(end.loop);
    const loaded = await first.probe();
    if (sendingDone)
      throw new Error(`the sender stopped before the window ended: ${JSON.stringify(await sent)}`);

    const falseChanges: Record<string, number> = {};
    let firstBeats = 0;
    for (const [key, n] of end.reading.changes) {
      const d = n - (start.reading.changes.get(key) ?? 0);
      if (d === 0) continue;
      if (key === 'up:first_beat') firstBeats = d;
      else falseChanges[key] = d;
    }
    const stateFileBytes = fileBytes(join(dataDir, STATE_FILE_NAME));

    // The restart, while the senders go on.
    const stopAt = performance.now();
    await first.stop();
    const stopMs = performance.now() - stopAt;
    const restartAt = performance.now();
    const second = await startChild(
      'client (restarted)',
      childFile,
      clientEnv({ UDP_PORT: String(port), HTTP_PORT: String(first.ready.httpPort) }),
    );
    register(second);
    const readyMs = performance.now() - restartAt;
    let trackingMs: number | null = null;
    const base2 = `http://127.0.0.1:${second.ready.httpPort}`;
    const restartFrom = await read(base2, port);
    const restoredSenders = Object.values(restartFrom.reading.byState).reduce((a, b) => a + b, 0);
    for (const deadline = Date.now() + 5000; Date.now() < deadline; ) {
      const status = (await (await fetch(`${base2}/api/status`)).json()) as { totals: { datagrams: number } };
      if (status.totals.datagrams > 0) {
        trackingMs = performance.now() - restartAt;
        break;
      }
      await sleep(20);
    }
    const restartEndAt = Math.min(sendStart + totalS * 1000 - 2000, Date.now() + plan.restartSeconds * 1000);
    await sleep(Math.max(0, restartEndAt - Date.now()));
    const restartEnd = await read(base2, port);
    const restartChanges: Record<string, number> = {};
    for (const [key, n] of restartEnd.reading.changes) restartChanges[key] = n;
    await second.stop();
    clearInterval(truncating);
    const sendResult = await sent;
    const sse0 = (await sse?.close()) ?? { stateEvents: 0, bytes: 0, error: null };

    return {
      plan,
      sent: sendResult.sent,
      windowReceived: end.reading.datagrams - start.reading.datagrams,
      windowSent: Math.round(((windowTo - windowFrom) / 1000) * plan.senders),
      kernelDrops: end.reading.kernelDrops - start.reading.kernelDrops,
      queueDrops: end.reading.queueDrops - start.reading.queueDrops,
      logDropped: end.reading.logDropped - start.reading.logDropped,
      falseChanges,
      firstBeats,
      byStateAtEnd: end.reading.byState,
      loop: {
        windows: loopWindows.length,
        p99MaxMs: Math.max(...loopWindows.map((w) => w.p99)),
        maxMs: Math.max(...loopWindows.map((w) => w.max)),
        mainP99MaxMs: Math.max(...loopWindows.map((w) => w.mainP99)),
        mainMaxMs: Math.max(...loopWindows.map((w) => w.mainMax)),
      },
      views: Object.fromEntries(
        VIEWS.map((v) => [
          v,
          {
            count: samples[v].length,
            p50: percentile(samples[v], 50),
            p99: percentile(samples[v], 99),
            max: Math.max(...samples[v]),
            errors: errors[v],
            bytes: bytes[v],
          },
        ]),
      ) as Record<View, LatencySummary>,
      walks,
      firstLook,
      cpu,
      sse: { ...sse0, dropped: end.reading.sseDropped },
      rss: {
        emptyBytes: empty.rssBytes,
        loadedBytes: loaded.rssBytes,
        perSenderBytes: (loaded.rssBytes - empty.rssBytes) / plan.senders,
        heapUsedBytes: loaded.heapUsedBytes,
      },
      stateFileBytes,
      restart: {
        stopMs,
        readyMs,
        startupMs: second.ready.startupMs ?? null,
        trackingMs,
        restoredSenders,
        changes: restartChanges,
        byState: restartEnd.reading.byState,
        kernelDrops: restartEnd.reading.kernelDrops - restartFrom.reading.kernelDrops,
      },
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The threads whose CPU the report shows: the client's, split by job, the sender, and this process. */
function cpuGroups(clientPid: number, senderPid: number): ThreadGroup[] {
  return [
    {
      label: 'client: socket thread',
      pid: clientPid,
      pick: (_, comm) => comm.startsWith(SOCKET_THREAD_NAME),
    },
    { label: 'client: main thread (track, log, HTTP)', pid: clientPid, pick: (tid) => tid === clientPid },
    {
      label: 'client: its other threads (GC, state file, libuv)',
      pid: clientPid,
      pick: (tid, comm) => tid !== clientPid && !comm.startsWith(SOCKET_THREAD_NAME),
    },
    { label: "the C sender (with the kernel's loopback delivery)", pid: senderPid },
    { label: 'this bench (walks, scrapes, live stream)', pid: process.pid },
    // A platform's memory reclaimer: its rounds stall the client's threads on some machines (machine.ts).
    ...kdamonds().map(({ pid }) => ({ label: `the kernel's DAMON (kdamond, pid ${pid})`, pid })),
  ];
}

function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** One scrape: the monitor's own account (its loop-delay gauge covers the time since the last scrape). */
async function read(base: string, port: number): Promise<{ reading: MonitorReading; loop: LoopWindow }> {
  const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const changes = new Map<string, number>();
  for (const m of text.matchAll(/^udp_monitor_state_changes_total\{to="(\w+)",reason="(\w+)"\} (\d+)$/gm)) {
    changes.set(`${m[1]}:${m[2]}`, Number(m[3]));
  }
  const byState: Record<string, number> = {};
  for (const m of text.matchAll(/^udp_monitor_senders\{state="(\w+)"\} (\d+)$/gm)) {
    if (Number(m[2]) > 0) byState[m[1] as string] = Number(m[2]);
  }
  const single = (name: string) => Number(new RegExp(`^${name} ([\\d.e+-]+)$`, 'm').exec(text)?.[1] ?? 0);
  const loop = loopDelay(text);
  return {
    reading: {
      changes,
      byState,
      kernelDrops: readKernelSocketStats(port)?.drops ?? single('udp_monitor_kernel_drops_total'),
      queueDrops: single('udp_monitor_queue_drops_total'),
      logDropped: single('udp_monitor_log_lines_dropped_total'),
      sseDropped: single('udp_monitor_sse_events_dropped_total'),
      datagrams: single('udp_monitor_datagrams_received_total'),
    },
    loop,
  };
}

interface LoopWindow {
  /** The socket thread's. */
  p99: number;
  max: number;
  /** The main thread's (track, log, state file encoding, and HTTP). */
  mainP99: number;
  mainMax: number;
}

/** The datagram path's event-loop delays since the previous scrape, in ms, from a scrape's text. */
function loopDelay(text: string): LoopWindow {
  const stat = (thread: string, name: string) =>
    Number(
      new RegExp(
        `^udp_monitor_event_loop_delay_seconds\\{thread="${thread}",stat="${name}"\\} (\\S+)$`,
        'm',
      ).exec(text)?.[1],
    ) * 1000;
  return {
    p99: stat('socket', 'p99'),
    max: stat('socket', 'max'),
    mainP99: stat('main', 'p99'),
    mainMax: stat('main', 'max'),
  };
}

/** The live stream as the page keeps it open: counts `state` events until closed. */
function openEventStream(url: string): {
  close(): Promise<{ stateEvents: number; bytes: number; error: string | null }>;
} {
  const controller = new AbortController();
  let stateEvents = 0;
  let bytes = 0;
  let error: string | null = null;
  const reading = (async () => {
    try {
      const res = await fetch(url, { signal: controller.signal });
      if (res.body === null) throw new Error(`no body (${res.status})`);
      const decoder = new TextDecoder();
      let carry = '';
      for await (const chunk of res.body) {
        bytes += chunk.byteLength;
        const text = carry + decoder.decode(chunk, { stream: true });
        const lines = text.split('\n');
        carry = lines.pop() ?? '';
        for (const line of lines) if (line === 'event: state') stateEvents++;
      }
    } catch (err) {
      if (!controller.signal.aborted) error = (err as Error).message;
    }
  })();
  return {
    async close() {
      controller.abort();
      await reading;
      return { stateEvents, bytes, error };
    },
  };
}

const fmtMs = (x: number | null) => (x === null || !Number.isFinite(x) ? 'n/a' : `${x.toFixed(1)} ms`);
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
const changesText = (c: Record<string, number>) =>
  Object.keys(c).length === 0
    ? 'none'
    : Object.entries(c)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ');
const countsText = (c: Record<string, number>) =>
  Object.entries(c)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');

/** The warm-up's requests, apart from the window's. */
function firstLookText(f: FirstLook): string {
  if (f.slowest === null) return 'First look: nobody looked.';
  return (
    `First look after the start (the warm-up's ${f.requests} requests, not in the table): the slowest took ` +
    `${fmtMs(f.slowest.ms)} (${VIEW_LABEL[f.slowest.view]}, asked ${f.slowest.atS.toFixed(1)} s after the first); errors ${f.errors}.`
  );
}

/** The scenario's section of the report, with its targets. */
export function renderSenders(
  r: SendersResult,
  machine: { cpu: string; cores: number; node: string },
  mode: string,
  options: { heading?: boolean } = {},
): string {
  const p = r.plan;
  const falseTotal = Object.values(r.falseChanges).reduce((a, b) => a + b, 0);
  const restartFalse = Object.values(r.restart.changes).reduce((a, b) => a + b, 0);
  const kib = r.rss.perSenderBytes / 1024;
  const views = VIEWS.map((v) => {
    const x = r.views[v];
    return `| ${VIEW_LABEL[v]} | ${x.count} | ${fmtMs(x.p50)} | ${fmtMs(x.p99)} | ${fmtMs(x.max)} | ${x.errors} | ${(x.bytes / 1024).toFixed(0)} KiB |`;
  });
  const lines = [
    ...(options.heading === false
      ? []
      : [
          `Senders scenario (${mode}), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}.`,
          '',
        ]),
    `**${p.senders} senders at 1 Hz** (the C sender plays them: ${p.senders} sources round-robin at ${p.senders}/s), ` +
      `${p.warmupSeconds} s of warm-up, then ${p.seconds} s measured, while (from the warm-up on) the bench scrapes \`/metrics\` every ` +
      `${p.scrapeEveryS} s, walks \`/api/senders?limit=1000\` through every page and fetches the page, a search of it (\`/?q=${SEARCH}\`) and ` +
      `\`/api/status\` every ${p.pageEveryS} s (${r.walks} walks), and keeps \`/api/events\` open. ` +
      'Everything judged comes from the client (its metrics) and the kernel (/proc/net/udp).',
    '',
    `- datagrams: ${r.windowReceived} counted in the window, about ${r.windowSent} sent in it; dropped by the kernel ${r.kernelDrops}, by the socket thread (queue to the main thread full) ${r.queueDrops}; log lines dropped (the log's buffer full) ${r.logDropped}`,
    `- state changes other than a first beat (false: no sender stopped): ${falseTotal} (${changesText(r.falseChanges)}); at the end: ${countsText(r.byStateAtEnd)}`,
    `- event-loop delay (\`udp_monitor_event_loop_delay_seconds\`, per scrape window, ${r.loop.windows} windows): socket thread worst p99 ${fmtMs(r.loop.p99MaxMs)}, max ${fmtMs(r.loop.maxMs)}; main thread (track, log, and HTTP) worst p99 ${fmtMs(r.loop.mainP99MaxMs)}, max ${fmtMs(r.loop.mainMaxMs)}`,
    `- RSS: ${(r.rss.emptyBytes / 1048576).toFixed(0)} MiB before any sender, ${(r.rss.loadedBytes / 1048576).toFixed(0)} MiB at the end: ${kib.toFixed(1)} KiB per sender (heap in use ${(r.rss.heapUsedBytes / 1048576).toFixed(0)} MiB); state file ${(r.stateFileBytes / 1048576).toFixed(0)} MiB`,
    `- live stream: ${r.sse.stateEvents} \`state\` events received, ${(r.sse.bytes / 1048576).toFixed(1)} MiB; events dropped by the hub ${r.sse.dropped}${r.sse.error === null ? '' : `; error ${r.sse.error}`}`,
    '',
    '| view | requests | p50 | p99 | max | errors | size |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...views,
    '',
    firstLookText(r.firstLook),
    '',
    `**CPU in the window** (/proc): the machine's ${r.cpu.cores} cores ${pct(r.cpu.busy)} busy (${pct(r.cpu.steal)} taken by the hypervisor). ` +
      'A thread that waits for a core is late however fast its code is: the last column is the time its threads were ready to run and had no core, per second.',
    '',
    '| threads | CPU (cores) | waiting for a core (s per s) |',
    '|---|---:|---:|',
    ...r.cpu.groups.map(
      (g) => `| ${g.label} (${g.threads}) | ${g.cores.toFixed(2)} | ${g.waiting.toFixed(2)} |`,
    ),
    '',
    `**Restart** with ${r.restart.restoredSenders} senders in the state file, the senders beating on: clean stop ${fmtMs(r.restart.stopMs)}; ` +
      `start to ready ${fmtMs(r.restart.readyMs)} (the process's own count from its start: ${fmtMs(r.restart.startupMs)}); ` +
      `start to the first datagram counted ${fmtMs(r.restart.trackingMs)}. Over the next ${p.restartSeconds} s: ` +
      `state changes ${changesText(r.restart.changes)}; kernel drops ${r.restart.kernelDrops}; at the end ${countsText(r.restart.byState)}.`,
    '',
    '| target (issue 12) | figure | result |',
    '|---|---|---|',
    `| 0 kernel drops (and 0 dropped at the socket thread's queue) | ${r.kernelDrops} (${r.queueDrops}) | ${verdict(r.kernelDrops === 0 && r.queueDrops === 0)} |`,
    `| 0 false state changes | ${falseTotal} | ${verdict(falseTotal === 0)} |`,
    `| a \`readable\` line for every datagram counted (0 log lines dropped; ours, not the issue's) | ${r.logDropped} | ${verdict(r.logDropped === 0)} |`,
    `| datagram-path loop delay p99 < 10 ms (socket thread / main thread) | ${fmtMs(r.loop.p99MaxMs)} / ${fmtMs(r.loop.mainP99MaxMs)} | ${verdict(r.loop.p99MaxMs < 10 && r.loop.mainP99MaxMs < 10)} |`,
    `| datagram-path loop delay max < 50 ms (socket thread / main thread) | ${fmtMs(r.loop.maxMs)} / ${fmtMs(r.loop.mainMaxMs)} | ${verdict(r.loop.maxMs < 50 && r.loop.mainMaxMs < 50)} |`,
    ...VIEWS.map(
      (v) =>
        `| ${VIEW_LABEL[v]} p99 < 50 ms | ${fmtMs(r.views[v].p99)} | ${verdict(r.views[v].p99 < 50 && r.views[v].errors === 0)} |`,
    ),
    `| <= 16 KiB RSS per sender | ${kib.toFixed(1)} KiB | ${verdict(kib <= 16)} |`,
    `| ready < 5 s after a restart | ${fmtMs(r.restart.readyMs)} | ${verdict(r.restart.readyMs < 5000)} |`,
    `| no state change invented after the restart | ${restartFalse} | ${verdict(restartFalse === 0)} |`,
  ];
  if (mode === 'short')
    lines.push(
      '',
      `Short run (CI): ${p.senders} senders for ${p.seconds} s; the verdicts are indicative only.`,
    );
  return lines.join('\n');
}
