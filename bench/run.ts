/**
 * The benchmark (issues 6 and 12): `npm run bench` (full, writes
 * docs/PERFORMANCE.md) or `npm run bench:ci` (--short: smaller ladder,
 * fewer datagrams, fewer senders, writes bench/out/PERFORMANCE.short.md).
 *
 * On loopback only, in one run: a bare Node dgram counter (the baseline),
 * the real client (startMonitor, one `readable` log line per datagram to a
 * file) and rsyslog's imudp (one thread, a JSON line per datagram to a
 * file), plus in the full run two reference receivers in between (bare +
 * decode, bare + decode + log line), each measured the same way (its own
 * CPU time and RSS), driven in turn by the same C sender at a ladder of
 * fixed rates. Then the client alone under sustained load at half its
 * highest lossless rate (HTTP latency, RSS growth), the beacon at a 10 ms
 * interval, and the senders scenario (bench/scenarios/senders.ts: N
 * senders at 1 Hz while an operator looks, then a restart). Every
 * load is bounded in count and in time; the run has a watchdog. How to read
 * the results: docs/PERFORMANCE.md.
 *
 * Exits non-zero only on errors (a child crashed, no C compiler, ...),
 * never on a missed target: the targets are printed as PASS/FAIL.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readKernelSocketStats } from '../services/client/ingest/kernel-drops.js';
import type { BeaconResult } from './children/beacon.js';
import type { Probe } from './children/ipc.js';
import { buildChildren } from './lib/build-children.js';
import { type Child, startChild } from './lib/children.js';
import { describeMachine, loadAverage, type Machine } from './lib/machine.js';
import { startRsyslog } from './lib/rsyslog.js';
import { buildSender, runSender, type SendResult } from './lib/sender.js';
import { countInFile, median, percentile, sleep } from './lib/stats.js';
import {
  FULL_SENDERS,
  renderSenders,
  runSendersScenario,
  type SendersPlan,
  type SendersResult,
  SHORT_SENDERS,
} from './scenarios/senders.js';

const BENCH_DIR = import.meta.dirname;
const ROOT = join(BENCH_DIR, '..');
const OUT_DIR = join(BENCH_DIR, 'out');
/** Where the receivers' log files go: bench/out/ unless BENCH_LOG_DIR says otherwise. */
const LOG_DIR = process.env.BENCH_LOG_DIR ?? OUT_DIR;
const LOSSLESS = 0.001; // "lossless": under 0.1% loss
const SOURCES = 8;
/** The ladder's sender sends from this many sockets (source ports), so SO_REUSEPORT can spread them. */
const SENDER_SOCKETS = 4;
const MiB = 1024 * 1024;

interface Mode {
  name: 'full' | 'short';
  rates: number[];
  stepSeconds: number;
  /** Datagrams of the sustained phase, and the two points RSS is compared at. */
  sustainedCount: number;
  memoryMarks: [number, number];
  beats: number;
  beatIntervalMs: number;
  /** Also run the two reference receivers (bare + decode, bare + decode + log line). */
  references: boolean;
  /** Whole-run watchdog. */
  maxMinutes: number;
  /** The senders scenario (N senders at 1 Hz while an operator looks, then a restart). */
  senders: SendersPlan;
}

const FULL: Mode = {
  name: 'full',
  // Up to where the C sender is the limit on the 2-core machine. rsyslog was lossless at 300,000/s, the
  // old top, then at 450,000/s, the next: its ceiling and the client's ratio to it were bounds only. The
  // sender reached 600,000/s at 17:32 on 2026-12-06, and rsyslog was lossless there, the top again: two
  // steps more. At 18:05 it reached 600,000/s in one try (rsyslog lost 8.8%) and 571,000-581,000/s in
  // others; on a busier host 424,000-437,000/s when asked for 450,000 or 500,000 (such a step is marked). Above 200,000/s no step is more than a sixth above the one before:
  // 275,000 and 325,000 filled the two widest gaps (a fifth and a sixth) on 2026-12-06, when the
  // client's ceiling was between 250,000 and 300,000.
  rates: [
    10_000, 20_000, 40_000, 60_000, 80_000, 90_000, 100_000, 110_000, 120_000, 130_000, 150_000, 170_000,
    200_000, 225_000, 250_000, 275_000, 300_000, 325_000, 350_000, 400_000, 450_000, 500_000, 550_000,
    600_000, 650_000, 700_000,
  ],
  stepSeconds: 3,
  sustainedCount: 5_000_000,
  memoryMarks: [1_000_000, 5_000_000],
  beats: 2000,
  beatIntervalMs: 10,
  references: true,
  maxMinutes: 45,
  senders: FULL_SENDERS,
};
const SHORT: Mode = {
  name: 'short',
  rates: [10_000, 40_000, 80_000, 120_000],
  stepSeconds: 1,
  sustainedCount: 300_000,
  memoryMarks: [100_000, 300_000],
  beats: 500,
  beatIntervalMs: 10,
  references: false,
  maxMinutes: 4,
  senders: SHORT_SENDERS,
};

type Kind = 'baseline' | 'client' | 'client2' | 'decode' | 'decodeLog' | 'before' | 'rsyslog';
const KINDS: readonly Kind[] = ['baseline', 'client', 'client2', 'decode', 'decodeLog', 'before', 'rsyslog'];
const LABEL: Record<Kind, string> = {
  baseline: 'baseline',
  client: 'client',
  client2: 'client, UDP_WORKERS=2',
  decode: 'bare + decode',
  decodeLog: 'bare + decode + log line',
  before: 'client of the --before checkout',
  rsyslog: 'rsyslog imudp (1 thread, JSON line to a file)',
};

interface Target {
  kind: Kind;
  child: Child;
  seq: number;
  boot: string;
  logFile: string | null;
}

interface Step {
  rate: number;
  send: SendResult;
  received: number;
  loss: number;
  cpuUsPerDatagram: number;
  rssBytes: number;
  kernelDrops: number;
  /** `readable` lines written for the step (client only). */
  logLines: number | null;
  /** Set when the step was run twice (the first was lossy): the loss of the other try; this is the better. */
  firstLoss?: number;
}

const children: Array<{ kill(): void }> = [];

/**
 * Options for exploring (the two npm scripts use none of them):
 * --rates=40000,60000  --step-seconds=2  --sustained=N  --no-sustained  --no-beacon  --no-write
 *   --before=DIR: also run the client of another checkout (its own node_modules) on the same ladder,
 *   side by side: how this checkout's client compares with an earlier one, measured in one run.
 *   --senders=N  --senders-seconds=S: the senders scenario's size and measured time.
 *   --only=senders: the senders scenario alone (written to bench/out/SENDERS.md).
 *   --no-look: the senders scenario with nobody looking (no scrapes, pages or live stream), for comparison.
 */
function parseMode(argv: readonly string[]): Mode & {
  sustained: boolean;
  beacon: boolean;
  write: boolean;
  before: string | null;
  only: string | null;
} {
  const base = argv.includes('--short') ? SHORT : FULL;
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const number = (name: string, fallback: number) => {
    const v = value(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}=${v}: expected a positive number`);
    return n;
  };
  const rates = value('rates')?.split(',').map(Number) ?? base.rates;
  if (rates.some((r) => !Number.isInteger(r) || r < 100 || r > 1_000_000)) {
    throw new Error('--rates: expected a comma-separated list of integers 100..1000000');
  }
  const sustainedCount = number('sustained', base.sustainedCount);
  const only = value('only');
  if (only !== undefined && only !== 'senders') throw new Error(`--only=${only}: expected senders`);
  return {
    ...base,
    senders: {
      ...base.senders,
      senders: number('senders', base.senders.senders),
      seconds: number('senders-seconds', base.senders.seconds),
      look: !argv.includes('--no-look'),
    },
    only: only ?? null,
    rates,
    stepSeconds: number('step-seconds', base.stepSeconds),
    sustainedCount,
    memoryMarks:
      value('sustained') === undefined ? base.memoryMarks : [Math.floor(sustainedCount / 5), sustainedCount],
    sustained: !argv.includes('--no-sustained'),
    beacon: !argv.includes('--no-beacon'),
    write: !argv.includes('--no-write'),
    before: value('before') ?? null,
  };
}

async function main(): Promise<void> {
  const mode = parseMode(process.argv.slice(2));
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${mode.maxMinutes} min: giving up`);
    for (const c of children) c.kill();
    process.exit(2);
  }, mode.maxMinutes * 60_000);
  watchdog.unref();
  const startedAt = Date.now();
  mkdirSync(OUT_DIR, { recursive: true });
  mkdirSync(LOG_DIR, { recursive: true });
  const machine = describeMachine();
  const loadBefore = loadAverage();
  const sender = buildSender(BENCH_DIR, OUT_DIR);
  const childrenDir = buildChildren(ROOT);
  console.log(
    `bench (${mode.name}): ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load ${loadBefore}`,
  );

  if (mode.only === 'senders') {
    const result = await sendersScenario(sender, mode, childrenDir);
    const report = renderSenders(result, describeMachine(), mode.name);
    console.log(`\n${report}`);
    if (mode.write) {
      const file = join(OUT_DIR, 'SENDERS.md');
      writeFileSync(file, `${report}\n`);
      console.log(`written to ${file}`);
    }
    return;
  }

  const recvBuffer = String(4 * MiB);
  async function start(
    kind: Kind,
    file: string,
    logFile: string | null,
    dir = childrenDir,
    clientEnv: Record<string, string> = {},
  ): Promise<Target> {
    if (logFile !== null) writeFileSync(logFile, '');
    const child = await startChild(kind, join(dir, file), {
      BENCH_RECV_BUFFER_BYTES: recvBuffer,
      BENCH_CLIENT_ENV: JSON.stringify(clientEnv),
      ...(logFile === null ? {} : { BENCH_LOG_FILE: logFile }),
    });
    children.push(child);
    return { kind, child, seq: 0, boot: randomBytes(4).toString('hex'), logFile };
  }
  const baseline = await start('baseline', 'baseline.js', null);
  const client = await start('client', 'client.js', join(LOG_DIR, 'client.log'));
  const targets = [baseline, client];
  if (mode.references) {
    targets.push(await start('decode', 'decode.js', null));
    targets.push(await start('decodeLog', 'decode.js', join(LOG_DIR, 'decode.log')));
    // More than one thread on the port: what UDP_WORKERS buys (decoding and tracking stay on one thread).
    targets.push(
      await start('client2', 'client.js', join(LOG_DIR, 'client2.log'), childrenDir, { UDP_WORKERS: '2' }),
    );
  }
  if (mode.before !== null) {
    targets.push(await start('before', 'client.js', join(LOG_DIR, 'before.log'), buildChildren(mode.before)));
  }
  // rsyslog's imudp, the reference a datagram receiver with a log line per datagram is held to.
  const rsyslog = await startRsyslog(mkdtempSync(join(LOG_DIR, 'rsyslog-')));
  children.push(rsyslog);
  targets.push({
    kind: 'rsyslog',
    child: rsyslog,
    seq: 0,
    boot: randomBytes(4).toString('hex'),
    logFile: null,
  });

  // Warm-up (JIT, heap sizing), not reported: the first step would otherwise pay for it.
  for (const target of targets) await step(sender, target, 20_000, mode.stepSeconds);

  // The ladder: every receiver in turn at each rate, the order rotating from rate to rate.
  const steps: Record<Kind, Step[]> = {
    baseline: [],
    client: [],
    decode: [],
    decodeLog: [],
    before: [],
    rsyslog: [],
    client2: [],
  };
  const lossyInARow: Record<Kind, number> = {
    baseline: 0,
    client: 0,
    decode: 0,
    decodeLog: 0,
    before: 0,
    rsyslog: 0,
    client2: 0,
  };
  for (const [i, rate] of mode.rates.entries()) {
    const order = [...targets.slice(i % targets.length), ...targets.slice(0, i % targets.length)];
    for (const target of order) {
      if (lossyInARow[target.kind] >= 2) continue; // past its limit (or the sender's): spare the time
      let s = await step(sender, target, rate, mode.stepSeconds);
      logStep(target, s);
      // A loss can be a burst of other work on this 2-core machine: one more try, for every receiver alike.
      if (lossOf(s) >= LOSSLESS && !senderLimited(s)) {
        const again = await step(sender, target, rate, mode.stepSeconds);
        logStep(target, again);
        // The better try: the one with less loss, but never one where the sender fell short of the rate
        // (it says nothing of the receiver at this rate; the first try, retried, kept the rate).
        const againBetter = !senderLimited(again) && lossOf(again) < lossOf(s);
        s = againBetter ? { ...again, firstLoss: lossOf(s) } : { ...s, firstLoss: lossOf(again) };
      }
      steps[target.kind].push(s);
      const spent = lossOf(s) >= LOSSLESS || senderLimited(s);
      lossyInARow[target.kind] = spent ? lossyInARow[target.kind] + 1 : 0;
    }
  }
  const ceilings = Object.fromEntries(KINDS.map((k) => [k, highestLossless(steps[k])])) as Record<
    Kind,
    Ceiling
  >;
  const clientMax = ceilings.client;
  for (const target of targets) if (target !== client) await target.child.stop();

  const sustainedRate = Math.max(
    1000,
    Math.floor((clientMax.rate ?? mode.rates[0] ?? 10_000) / 2 / 1000) * 1000,
  );
  let sustained: Sustained | null = null;
  if (mode.sustained) {
    console.log(`  sustained: ${mode.sustainedCount} datagrams at ${sustainedRate}/s to the client`);
    sustained = await sustainedLoad(sender, client, sustainedRate, mode);
  }
  await client.child.stop();

  let beacon: BeaconSummary | null = null;
  if (mode.beacon) {
    console.log(`  beacon: ${mode.beats} beats at ${mode.beatIntervalMs} ms`);
    beacon = summariseBeacon(await runBeacon(mode, childrenDir));
  }

  console.log(
    `  senders: ${mode.senders.senders} senders at 1 Hz for ${mode.senders.seconds} s while an operator looks, then a restart`,
  );
  const senders = await sendersScenario(sender, mode, childrenDir);

  const report = render({
    senders,
    mode,
    machine,
    loadBefore,
    loadAfter: loadAverage(),
    recvBufferGranted: {
      baseline: baseline.child.ready.recvBufferBytes,
      client: client.child.ready.recvBufferBytes,
    },
    steps,
    ceilings,
    sustained,
    beacon,
    durationS: Math.round((Date.now() - startedAt) / 1000),
  });
  console.log(`\n${report}`);
  if (!mode.write) return;
  const file =
    mode.name === 'full' ? join(ROOT, 'docs', 'PERFORMANCE.md') : join(OUT_DIR, 'PERFORMANCE.short.md');
  writeReport(file, report);
  console.log(`written to ${file}`);
}

function logStep(target: Target, s: Step): void {
  console.log(
    `  ${String(s.rate).padStart(7)}/s ${LABEL[target.kind].padEnd(24)} sent ${Math.round(s.send.rate)}/s, ` +
      `loss ${pct(s.loss)} (kernel drops ${s.kernelDrops}), ${s.cpuUsPerDatagram.toFixed(2)} us/datagram, ` +
      `RSS ${mib(s.rssBytes)} MiB` +
      (s.logLines === null ? '' : `, ${s.logLines} readable lines`),
  );
}

async function received(target: Target): Promise<number> {
  if (target.kind !== 'client' && target.kind !== 'client2' && target.kind !== 'before') {
    return (await target.child.probe()).received;
  }
  // The client's own counter, as its API reports it.
  const res = await fetch(`http://127.0.0.1:${target.child.ready.httpPort}/api/status`);
  const status = (await res.json()) as { totals: { datagrams: number } };
  return status.totals.datagrams;
}

/** Waits until everything sent was handled, or the count stops moving (bounded). */
async function drain(target: Target, expected: number): Promise<number> {
  const deadline = Date.now() + 5000;
  let last = -1;
  let stable = 0;
  for (;;) {
    const n = await received(target);
    if (n >= expected || Date.now() > deadline) return n;
    stable = n === last ? stable + 1 : 0;
    if (stable >= 4) return n;
    last = n;
    await sleep(50);
  }
}

async function step(sender: string, target: Target, rate: number, seconds: number): Promise<Step> {
  const port = target.child.ready.udpPort;
  const count = Math.max(SOURCES, Math.round((rate * seconds) / SOURCES) * SOURCES);
  const before = await target.child.probe();
  const receivedBefore = await received(target);
  const dropsBefore = readKernelSocketStats(port)?.drops ?? 0;
  const send = await runSender(sender, {
    port,
    rate,
    count,
    maxSeconds: Math.ceil(seconds * 2) + 2,
    sources: SOURCES,
    seqStart: target.seq,
    boot: target.boot,
    sockets: SENDER_SOCKETS,
  });
  target.seq += Math.ceil(send.sent / SOURCES);
  const got = (await drain(target, receivedBefore + send.sent)) - receivedBefore;
  const after = await target.child.probe();
  const dropsAfter = readKernelSocketStats(port)?.drops ?? 0;
  let logLines: number | null = null;
  if (target.logFile !== null) {
    await target.child.flush();
    // flushSync() does not wait for an asynchronous write already under way: give it a moment.
    const deadline = Date.now() + 2000;
    for (;;) {
      logLines = await countInFile(target.logFile, '"event":"readable"');
      if (logLines >= got || Date.now() > deadline) break;
      await sleep(20);
    }
    truncateSync(target.logFile, 0);
  }
  return {
    rate,
    send,
    received: got,
    loss: send.sent === 0 ? 0 : Math.max(0, 1 - got / send.sent),
    cpuUsPerDatagram: got === 0 ? Number.NaN : (after.cpuUs - before.cpuUs) / got,
    rssBytes: after.rssBytes,
    kernelDrops: dropsAfter - dropsBefore,
    logLines,
  };
}

/**
 * A step's loss as the ladder judges it: datagrams not handled, or, for a
 * receiver that writes a line per datagram, lines not written (a client that
 * queues what it cannot keep up with and drops log lines is not lossless).
 */
function lossOf(s: Step): number {
  if (s.logLines === null || s.send.sent === 0) return s.loss;
  return Math.max(s.loss, 1 - s.logLines / s.send.sent);
}

/** Achieved under 97% of the asked rate: the sender, not the receiver, set the pace. */
const senderLimited = (s: Step) => s.send.rate < 0.97 * s.rate;

interface Ceiling {
  /** The highest ladder rate at which this and every lower rate were lossless; null: not even the first. */
  rate: number | null;
  /** What ended the climb. */
  stop: 'loss' | 'sender' | 'top';
}

function highestLossless(steps: readonly Step[]): Ceiling {
  let rate: number | null = null;
  for (const s of [...steps].sort((a, b) => a.rate - b.rate)) {
    if (lossOf(s) >= LOSSLESS) return { rate, stop: 'loss' };
    if (senderLimited(s)) return { rate, stop: 'sender' };
    rate = s.rate;
  }
  return { rate, stop: 'top' };
}

interface Sustained {
  rate: number;
  /** Datagrams the client had handled before (warm-up and ladder). */
  before: number;
  sent: number;
  received: number;
  loss: number;
  latency: Record<
    'status' | 'senders',
    { count: number; p50: number; p99: number; max: number; errors: number }
  >;
  rssAt: [{ datagrams: number; bytes: number } | null, { datagrams: number; bytes: number } | null];
  /** Memory at every fifth of the datagrams. */
  timeline: MemoryPoint[];
  logDropped: number;
}

interface MemoryPoint {
  datagrams: number;
  rssMiB: number;
  heapTotalMiB: number;
  heapUsedMiB: number;
  externalMiB: number;
}

function memoryPoint(datagrams: number, p: Probe): MemoryPoint {
  const m = (bytes: number) => Math.round((bytes / MiB) * 10) / 10;
  return {
    datagrams,
    rssMiB: m(p.rssBytes),
    heapTotalMiB: m(p.heapTotalBytes),
    heapUsedMiB: m(p.heapUsedBytes),
    externalMiB: m(p.externalBytes),
  };
}

async function sustainedLoad(sender: string, target: Target, rate: number, mode: Mode): Promise<Sustained> {
  const base = `http://127.0.0.1:${target.child.ready.httpPort}`;
  const start = await received(target);
  const first = await target.child.probe();
  let done = false;
  const sending = runSender(sender, {
    port: target.child.ready.udpPort,
    rate,
    count: mode.sustainedCount,
    maxSeconds: Math.ceil((mode.sustainedCount / rate) * 1.25) + 10,
    sources: SOURCES,
    seqStart: target.seq,
    boot: target.boot,
  }).finally(() => {
    done = true;
  });

  const samples = { status: [] as number[], senders: [] as number[] };
  const errors = { status: 0, senders: 0 };
  const latencyLoop = (async () => {
    await sleep(500); // let the load settle first
    while (!done) {
      for (const key of ['status', 'senders'] as const) {
        const t0 = performance.now();
        try {
          const res = await fetch(`${base}/api/${key}`);
          await res.arrayBuffer();
          if (!res.ok) errors[key]++;
        } catch {
          errors[key]++;
        }
        samples[key].push(performance.now() - t0);
      }
      await sleep(40);
    }
  })();

  const rssAt: Sustained['rssAt'] = [null, null];
  const timeline: MemoryPoint[] = [];
  const timelineStep = mode.sustainedCount / 5;
  let lastProbe = first;
  const sampler = (async () => {
    for (let tick = 1; !done; tick++) {
      await sleep(250);
      lastProbe = await target.child.probe();
      const n = lastProbe.received - first.received;
      if (rssAt[0] === null && n >= mode.memoryMarks[0])
        rssAt[0] = { datagrams: n, bytes: lastProbe.rssBytes };
      if (n >= (timeline.length + 1) * timelineStep) timeline.push(memoryPoint(n, lastProbe));
      if (process.env.BENCH_MEM_TRACE) console.log('   ', JSON.stringify(memoryPoint(n, lastProbe)));
      if (tick % 8 === 0 && target.logFile !== null) truncateSync(target.logFile, 0);
    }
  })();

  const send = await sending;
  await Promise.all([latencyLoop, sampler]);
  target.seq += Math.ceil(send.sent / SOURCES);
  const got = (await drain(target, start + send.sent)) - start;
  lastProbe = await target.child.probe();
  const n = lastProbe.received - first.received;
  if (n >= mode.memoryMarks[1]) rssAt[1] = { datagrams: n, bytes: lastProbe.rssBytes };
  if (timeline.length < 5) timeline.push(memoryPoint(n, lastProbe));
  if (target.logFile !== null) truncateSync(target.logFile, 0);
  const summary = (key: 'status' | 'senders') => ({
    count: samples[key].length,
    p50: percentile(samples[key], 50),
    p99: percentile(samples[key], 99),
    max: Math.max(...samples[key]),
    errors: errors[key],
  });
  return {
    rate,
    before: start,
    sent: send.sent,
    received: got,
    loss: send.sent === 0 ? 0 : Math.max(0, 1 - got / send.sent),
    latency: { status: summary('status'), senders: summary('senders') },
    rssAt,
    timeline,
    logDropped: lastProbe.logDropped,
  };
}

function runBeacon(mode: Mode, childrenDir: string): Promise<BeaconResult> {
  const logFile = join(LOG_DIR, 'beacon.log');
  writeFileSync(logFile, ''); // one run's lines only
  return new Promise((resolve, reject) => {
    const child: ChildProcess = fork(join(childrenDir, 'beacon.js'), [], {
      execArgv: [],
      env: {
        ...process.env,
        BENCH_BEATS: String(mode.beats),
        BENCH_INTERVAL_MS: String(mode.beatIntervalMs),
        BENCH_LOG_FILE: logFile,
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push({ kill: () => child.kill('SIGKILL') });
    let result: BeaconResult | null = null;
    const guard = setTimeout(() => child.kill('SIGKILL'), mode.beats * mode.beatIntervalMs * 3 + 15_000);
    child.on('message', (m: BeaconResult) => {
      result = m;
    });
    child.on('exit', (code) => {
      clearTimeout(guard);
      if (result !== null) resolve(result);
      else reject(new Error(`beacon case exited with ${code} and no result`));
    });
  });
}

interface BeaconSummary {
  beats: number;
  intervalMs: number;
  p50: number;
  p99: number;
  max: number;
  /** The last beat's slot N and its departure relative to start + N * interval. */
  lastSlot: number | null;
  lastOffsetMs: number | null;
  lastArrivalOffsetMs: number | null;
  skipped: number;
  unmatched: number;
}

function summariseBeacon(r: BeaconResult): BeaconSummary {
  const lateness = r.beats.map((b) => b.latenessMs);
  const first = r.beats[0];
  const last = r.beats.at(-1);
  const dueLast = last === undefined ? 0 : r.startMs + last.slot * r.intervalMs;
  return {
    beats: r.beats.length,
    intervalMs: r.intervalMs,
    p50: percentile(lateness, 50),
    p99: percentile(lateness, 99),
    max: Math.max(...lateness),
    lastSlot: last === undefined ? null : last.slot,
    lastOffsetMs: last === undefined ? null : last.tickMs - dueLast,
    lastArrivalOffsetMs: last === undefined ? null : last.arrivedMs - dueLast,
    // Each slot skipped (the loop fell behind) puts every later beat's slot one further from its seq:
    // the slots skipped are how much further the last beat's is than the first's. (Counting the beats
    // whose slot is not their seq counted every beat after the first skip: 1,855 in the full run of 14:07.)
    skipped: first === undefined || last === undefined ? 0 : last.slot - last.seq - (first.slot - first.seq),
    unmatched: r.unmatched,
  };
}

interface ReportInput {
  mode: Mode;
  machine: Machine;
  loadBefore: string;
  loadAfter: string;
  recvBufferGranted: { baseline: number; client: number };
  steps: Record<Kind, Step[]>;
  ceilings: Record<Kind, Ceiling>;
  sustained: Sustained | null;
  beacon: BeaconSummary | null;
  senders: SendersResult;
  durationS: number;
}

function sendersScenario(sender: string, mode: Mode, childrenDir: string): Promise<SendersResult> {
  return runSendersScenario(
    sender,
    mode.senders,
    join(childrenDir, 'client.js'),
    join(LOG_DIR, 'senders.log'),
    (child) => children.push(child),
  );
}

const pct = (x: number) => `${(x * 100).toFixed(3)}%`;
const mib = (bytes: number) => (bytes / MiB).toFixed(1);
const ms = (x: number | null | undefined) =>
  x === null || x === undefined || Number.isNaN(x) ? 'n/a' : `${x.toFixed(2)} ms`;
const verdict = (ok: boolean | null) => (ok === null ? 'n/a' : ok ? 'PASS' : 'FAIL');

function describeCeiling(c: Ceiling): string {
  if (c.rate === null) return 'none (lossy at the lowest rate)';
  if (c.stop === 'top') return `>= ${c.rate}/s (top of the ladder)`;
  if (c.stop === 'sender') return `>= ${c.rate}/s (the sender could not go faster)`;
  return `${c.rate}/s`;
}

function render(r: ReportInput): string {
  const { machine: m, steps } = r;
  const lines: string[] = [];
  lines.push(
    `Run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ` +
      `\`npm run ${r.mode.name === 'full' ? 'bench' : 'bench:ci'}\` (${r.mode.name}), ${r.durationS} s.`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}, kernel ${m.kernel}; Node ${m.node}; ` +
      `net.core.rmem_max ${m.rmemMax ?? 'unknown'}; receive buffer asked 4 MiB, getRecvBufferSize() ` +
      `${r.recvBufferGranted.client} (client), ${r.recvBufferGranted.baseline} (baseline); ` +
      `the kernel's DAMON: ${m.damon.length === 0 ? 'not running' : m.damon.join('; ')}. ` +
      `Load average (1/5/15 min) before ${r.loadBefore}, after ${r.loadAfter}.`,
    '',
    ...(Number(r.loadBefore.split(' ')[0]) > 0.7
      ? [
          '**The machine was busy when this run began (1-minute load average above 0.7 on 2 cores): other ' +
            'work competed with the receivers, so these figures understate them. Rerun on a quiet machine.**',
          '',
        ]
      : []),
    `Load: the C sender (bench/udp-sender.c), ${SOURCES} sources round-robin from ${SENDER_SOCKETS} sockets, ~155-byte protocol datagrams, ` +
      `${r.mode.stepSeconds} s per step, to 127.0.0.1. Loss = 1 - handled/sent, or 1 - lines written/sent where that is more for a receiver that writes a line per datagram (the client's count is ` +
      "`/api/status` totals.datagrams); CPU = the receiver process's user+system time (all threads) per " +
      'datagram; RSS after the step. "Lossless" = loss under 0.1%. sent/s under 97% of the rate: the sender ' +
      'was the limit (marked *). A lossy step is run once more, for every receiver alike, and the better ' +
      'try is shown ("other try": the loss of the other one).',
    '',
    '| rate/s | sent/s | baseline loss | client loss | baseline µs/dgram | client µs/dgram | CPU ratio | baseline RSS MiB | client RSS MiB | client `readable` lines |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  const cpuRatios: number[] = [];
  for (const rate of r.mode.rates) {
    const b = steps.baseline.find((s) => s.rate === rate);
    const c = steps.client.find((s) => s.rate === rate);
    if (b === undefined && c === undefined) continue;
    const ratio = b !== undefined && c !== undefined ? c.cpuUsPerDatagram / b.cpuUsPerDatagram : null;
    const fair = (s: Step | undefined) => s !== undefined && lossOf(s) < LOSSLESS && !senderLimited(s);
    if (fair(b) && fair(c) && ratio !== null) cpuRatios.push(ratio);
    const loss = (s: Step | undefined) =>
      s === undefined
        ? 'skipped'
        : `${pct(lossOf(s))}${s.firstLoss === undefined ? '' : ` (other try ${pct(s.firstLoss)})`}`;
    const sent = (s: Step | undefined) =>
      s === undefined ? '–' : `${Math.round(s.send.rate)}${senderLimited(s) ? '*' : ''}`;
    lines.push(
      `| ${rate} | ${sent(b)} / ${sent(c)} | ${loss(b)} | ${loss(c)} | ` +
        `${b ? b.cpuUsPerDatagram.toFixed(2) : ''} | ${c ? c.cpuUsPerDatagram.toFixed(2) : ''} | ` +
        `${ratio === null ? '' : ratio.toFixed(2)} | ${b ? mib(b.rssBytes) : ''} | ${c ? mib(c.rssBytes) : ''} | ` +
        `${c ? (c.logLines === c.received ? `${c.logLines} (all)` : `${c.logLines} of ${c.received}`) : ''} |`,
    );
  }
  const { baseline: baselineMax, client: clientCeiling } = r.ceilings;
  const clientMax = clientCeiling.rate;
  const clientSteps = steps.client.filter((s) => clientMax !== null && s.rate <= clientMax);
  const everyLine = clientSteps.every((s) => s.logLines === s.received);
  const rateRatio = clientMax !== null && baselineMax.rate !== null ? clientMax / baselineMax.rate : null;
  // A baseline that never lost (it or the sender reached the top) only gives a lower bound for its
  // ceiling, hence an upper bound for the ratio: a FAIL stands, a PASS is not established.
  const rateBound = baselineMax.stop !== 'loss';
  const cpuRatio = cpuRatios.length > 0 ? median(cpuRatios) : null;
  lines.push(
    '',
    `Highest lossless rate: baseline ${describeCeiling(baselineMax)}; client ${describeCeiling(clientCeiling)}.`,
    '',
    `- **Lossless-rate ratio** client/baseline: ${rateRatio === null ? 'n/a' : rateRatio.toFixed(2)}` +
      (rateBound ? " (the baseline's ceiling is a lower bound, so this is an upper bound)" : '') +
      `; a \`readable\` line for every datagram: ${everyLine ? 'yes' : 'NO'}`,
    `- **CPU-per-datagram ratio** client/baseline: ${cpuRatio === null ? 'n/a' : cpuRatio.toFixed(2)}` +
      ` (median over the ${cpuRatios.length} rates both handled losslessly at the asked rate: ` +
      `${cpuRatios.map((x) => x.toFixed(2)).join(', ')})`,
  );
  // On loopback nothing is lost on the way: every datagram not handled must be a drop the kernel
  // counted at the receiving socket (its receive buffer was full).
  const allSteps = KINDS.flatMap((k) => steps[k]);
  const gaps = allSteps.map((x) => x.send.sent - x.received - x.kernelDrops);
  const worst = gaps.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a), 0);
  lines.push(
    `- Every datagram not handled was dropped by the kernel at the full receive buffer ` +
      `(/proc/net/udp drops = sent - handled): ${worst === 0 ? 'yes, in every step' : `no, off by up to ${worst}`}`,
  );
  if (r.mode.references) lines.push('', ...renderReferences(r));

  const s = r.sustained;
  const growth = s?.rssAt[0] && s.rssAt[1] ? s.rssAt[1].bytes - s.rssAt[0].bytes : null;
  if (s !== null) {
    const latency = (name: string, l: Sustained['latency']['status']) =>
      `- \`GET /api/${name}\`: p50 ${ms(l.p50)}, p99 ${ms(l.p99)}, max ${ms(l.max)} (${l.count} requests, ${l.errors} errors)`;
    const at = (x: Sustained['rssAt'][0]) =>
      x === null ? 'n/a' : `${mib(x.bytes)} MiB after ${x.datagrams}`;
    lines.push(
      '',
      `Sustained load at ${s.rate}/s (half the client's highest lossless rate), ${s.sent} datagrams ` +
        `(after the ${s.before} of the warm-up and the ladder), ` +
        `loss ${pct(s.loss)}, log lines dropped ${s.logDropped}:`,
      '',
      latency('status', s.latency.status),
      latency('senders', s.latency.senders),
      `- RSS ${at(s.rssAt[0])} -> ${at(s.rssAt[1])} datagrams: growth ${growth === null ? 'n/a' : `${mib(growth)} MiB`}`,
      `- memory (MiB) at each fifth: ${s.timeline
        .map(
          (p) =>
            `${p.datagrams}: RSS ${p.rssMiB}, heap ${p.heapUsedMiB}/${p.heapTotalMiB}, external ${p.externalMiB}`,
        )
        .join('; ')}`,
    );
  }
  const b = r.beacon;
  if (b !== null) {
    lines.push(
      '',
      `Beacon, ${b.beats} beats at ${b.intervalMs} ms: lateness p50 ${ms(b.p50)}, p99 ${ms(b.p99)}, max ${ms(b.max)}; ` +
        `the last beat left ${ms(b.lastOffsetMs)} after start + ${b.lastSlot} x interval ` +
        `(arrived ${ms(b.lastArrivalOffsetMs)} after); slots skipped ${b.skipped}.`,
    );
  }
  const rs = rsyslogComparison(r);
  lines.push('', ...rs.lines);
  lines.push('', renderSenders(r.senders, r.machine, r.mode.name, { heading: false }));
  const row = (target: string, figure: string, ok: boolean | null) =>
    `| ${target} | ${figure} | ${verdict(ok)} |`;
  lines.push(
    '',
    '| target | figure | result |',
    '|---|---|---|',
    `| client highest lossless rate >= 0.5 x baseline's, a \`readable\` line per datagram | ` +
      `${rateRatio === null ? 'n/a' : `${rateBound ? '<= ' : ''}${rateRatio.toFixed(2)}`} | ` +
      `${rateRatio === null ? 'n/a' : rateRatio < 0.5 || !everyLine ? 'FAIL' : rateBound ? 'not established (baseline not saturated)' : 'PASS'} |`,
    row(
      "client CPU per datagram <= 2.5 x baseline's",
      cpuRatio === null ? 'n/a' : cpuRatio.toFixed(2),
      cpuRatio === null ? null : cpuRatio <= 2.5,
    ),
    row(
      '`/api/status` p99 < 50 ms under load',
      ms(s?.latency.status.p99),
      s && s.latency.status.count > 0 ? s.latency.status.p99 < 50 && s.latency.status.errors === 0 : null,
    ),
    row(
      '`/api/senders` p99 < 50 ms under load',
      ms(s?.latency.senders.p99),
      s && s.latency.senders.count > 0 ? s.latency.senders.p99 < 50 && s.latency.senders.errors === 0 : null,
    ),
    row(
      `RSS growth < 10 MiB between ${r.mode.memoryMarks[0]} and ${r.mode.memoryMarks[1]} datagrams`,
      growth === null ? 'n/a' : `${mib(growth)} MiB`,
      growth === null ? null : growth < 10 * MiB,
    ),
    row(
      `beacon: the beat of slot ${r.mode.beats} within 2 ms of start + ${r.mode.beats} x interval`,
      ms(b?.lastOffsetMs),
      b?.lastOffsetMs == null ? null : b.lastSlot === r.mode.beats && Math.abs(b.lastOffsetMs) < 2,
    ),
    row('beacon: lateness p99 < 2 ms', ms(b?.p99), b && b.beats > 0 ? b.p99 < 2 : null),
    row(
      "client highest lossless rate >= 0.5 x rsyslog imudp's (UDP_WORKERS=1; with 2: see above)",
      rs.rateRatio === null
        ? 'n/a'
        : `${rs.rateBound ? '<= ' : ''}${rs.rateRatio.toFixed(2)}${rs.rateBound && rs.rateRatio >= 0.5 ? ' (rsyslog not saturated: not established)' : ''}`,
      rs.rateRatio === null ? null : rs.rateRatio < 0.5 ? false : rs.rateBound ? null : true,
    ),
  );
  if (r.mode.name === 'short') {
    lines.push(
      '',
      'Short run (CI): fewer rates, 1 s steps, fewer datagrams for the memory check and fewer beats; ' +
        'the verdicts are indicative only.',
    );
  }
  return lines.join('\n');
}

/** What a second socket thread buys, from the same ladder (full run only). */
function workersLine(r: ReportInput): string[] {
  if (r.steps.client2.length === 0) return [];
  const one = r.ceilings.client;
  const two = r.ceilings.client2;
  const at = (kind: Kind, c: Ceiling) => r.steps[kind].find((s) => s.rate === c.rate)?.cpuUsPerDatagram;
  const speedUp = one.rate !== null && two.rate !== null ? two.rate / one.rate : null;
  return [
    `- **More threads on the port** (\`UDP_WORKERS=2\`, SO_REUSEPORT, the sender's ${SENDER_SOCKETS} source ports ` +
      `spread across them): highest lossless rate ${describeCeiling(two)} against ${describeCeiling(one)} with one ` +
      `(speed-up ${speedUp === null ? 'n/a' : speedUp.toFixed(2)}); µs/datagram there ${at('client2', two)?.toFixed(2) ?? 'n/a'} ` +
      `against ${at('client', one)?.toFixed(2) ?? 'n/a'}. Each socket thread reads, and decodes while it has ` +
      'time to spare; tracking, logging and the decode of what a busy socket thread hands over stay on the main ' +
      'thread, and the two cores are shared by every thread and the sender.',
  ];
}

/** rsyslog's imudp against the client and the baseline, from the same ladder. */
function rsyslogComparison(r: ReportInput): {
  lines: string[];
  rateRatio: number | null;
  rateBound: boolean;
} {
  const rs = r.ceilings.rsyslog;
  const client = r.ceilings.client;
  const cpuRatios: number[] = [];
  const rows: string[] = [];
  for (const rate of r.mode.rates) {
    const x = r.steps.rsyslog.find((s) => s.rate === rate);
    const c = r.steps.client.find((s) => s.rate === rate);
    if (x === undefined && c === undefined) continue;
    const fair = (s: Step | undefined) => s !== undefined && lossOf(s) < LOSSLESS && !senderLimited(s);
    if (fair(x) && fair(c) && x && c) cpuRatios.push(c.cpuUsPerDatagram / x.cpuUsPerDatagram);
    const cell = (s: Step | undefined) =>
      s === undefined ? 'skipped | ' : `${pct(lossOf(s))} | ${s.cpuUsPerDatagram.toFixed(2)}`;
    rows.push(`| ${rate} | ${cell(x)} | ${cell(c)} |`);
  }
  const rateRatio = client.rate !== null && rs.rate !== null ? client.rate / rs.rate : null;
  const rateBound = rs.stop !== 'loss';
  const cpu = cpuRatios.length > 0 ? median(cpuRatios) : null;
  return {
    rateRatio,
    rateBound,
    lines: [
      `rsyslog's \`imudp\` side by side (\`rsyslogd -n\`, a private configuration: one imudp thread, one queue ` +
        'worker, a JSON line per datagram to a file with `omfile`; CPU from /proc/PID/stat, all threads), in ' +
        'turn with the others on the same ladder:',
      '',
      '| rate/s | rsyslog loss | rsyslog µs/dgram | client loss | client µs/dgram |',
      '|---:|---:|---:|---:|---:|',
      ...rows,
      '',
      `Highest lossless rate: rsyslog ${describeCeiling(rs)}, baseline ${describeCeiling(r.ceilings.baseline)}, ` +
        `client ${describeCeiling(client)}.`,
      `- **client / rsyslog lossless rate**: ${rateRatio === null ? 'n/a' : rateRatio.toFixed(2)}` +
        (rateBound ? " (rsyslog's ceiling is a lower bound, so this is an upper bound)" : ''),
      `- **client / rsyslog CPU per datagram**: ${cpu === null ? 'n/a' : cpu.toFixed(2)} (median over the ` +
        `${cpuRatios.length} rates both handled losslessly)`,
      ...workersLine(r),
    ],
  };
}

/**
 * The steps from the baseline to the client: what each layer of work costs.
 * "Capacity" is 10^6 / (CPU µs per datagram at the highest lossless rate): the
 * rate one fully busy core would sustain, an estimate that does not depend on
 * how fast the sender can go.
 */
function renderReferences(r: ReportInput): string[] {
  const out = [
    'From the baseline to the client, layer by layer (same ladder, same sender):',
    '',
    '| receiver | highest lossless rate | µs/dgram there | capacity estimate |',
    '|---|---:|---:|---:|',
  ];
  const kinds: Kind[] = ['baseline', 'decode', 'decodeLog', 'client'];
  if (r.steps.before.length > 0) kinds.push('before');
  for (const kind of kinds) {
    const c = r.ceilings[kind];
    const at = r.steps[kind].find((s) => s.rate === c.rate);
    const cpu = at?.cpuUsPerDatagram;
    out.push(
      `| ${LABEL[kind]} | ${describeCeiling(c)} | ${cpu === undefined ? 'n/a' : cpu.toFixed(2)} | ` +
        `${cpu === undefined ? 'n/a' : `${Math.round(1e6 / cpu / 1000)}k/s`} |`,
    );
  }
  if (r.steps.before.length > 0) out.push('', ...renderBefore(r));
  return out;
}

/** This checkout's client against the --before one, at the rates both handled losslessly. */
function renderBefore(r: ReportInput): string[] {
  const ratios: number[] = [];
  for (const s of r.steps.client) {
    const b = r.steps.before.find((x) => x.rate === s.rate);
    if (b === undefined || lossOf(s) >= LOSSLESS || lossOf(b) >= LOSSLESS) continue;
    if (Number.isFinite(s.cpuUsPerDatagram) && Number.isFinite(b.cpuUsPerDatagram)) {
      ratios.push(s.cpuUsPerDatagram / b.cpuUsPerDatagram);
    }
  }
  const now = r.ceilings.client.rate;
  const then = r.ceilings.before.rate;
  return [
    `**This client against the --before checkout's, side by side in this run**: highest lossless rate ${now ?? 'n/a'}/s against ${then ?? 'n/a'}/s` +
      `${now !== null && then !== null ? ` (ratio ${(now / then).toFixed(2)})` : ''}; CPU per datagram ratio ` +
      `${ratios.length === 0 ? 'n/a' : `${median(ratios).toFixed(2)} (median over the ${ratios.length} rates both handled losslessly: ${ratios.map((x) => x.toFixed(2)).join(', ')})`}.`,
  ];
}

const BEGIN = '<!-- bench:begin (written by `npm run bench`; edit outside these markers) -->';
const END = '<!-- bench:end -->';

/** Replaces the generated part of the report, keeping what is written around it. */
function writeReport(file: string, report: string): void {
  const block = `${BEGIN}\n${report}\n${END}`;
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const from = existing.indexOf(BEGIN);
  const to = existing.indexOf(END);
  const text =
    from >= 0 && to > from
      ? existing.slice(0, from) + block + existing.slice(to + END.length)
      : `${existing.length > 0 ? `${existing.trimEnd()}\n\n` : '# Performance\n\n'}${block}\n`;
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
}

try {
  await main();
} catch (err) {
  console.error('bench failed:', err);
  for (const c of children) c.kill();
  process.exitCode = 1;
}
