import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Classified } from '../../services/client/ingest/classify.js';
import { readKernelSocketStats } from '../../services/client/ingest/kernel-drops.js';
import {
  prepareReceiver,
  type ReceiverOptions,
  SOCKET_THREAD_NAME,
} from '../../services/client/ingest/receiver.js';
import { STATE_FILE_NAME, StateFileError } from '../../services/client/store/state-file.js';
import { deeplyNested, encodedBeat } from '../support/builders.js';
import { holdThread, threadIdsNamed } from '../support/hold-thread.js';
import { captureLogs } from '../support/log-capture.js';
import { freshDataDir, type LoopbackMonitor, startLoopbackMonitor } from '../support/monitor.js';
import { eventually, sendUdp } from '../support/udp.js';

/**
 * Another process sends `payloads` to `port` (round-robin from `sockets`
 * sockets) once this thread is blocked: it starts 100 ms after it says it is
 * ready, paced at 4 datagrams every 2 ms or so (a steady stream, not one
 * burst), and this thread blocks for `blockMs` from then.
 */
async function sendWhileBlocked(
  port: number,
  payloads: Buffer[],
  blockMs: number,
  sockets = 1,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'udpts-burst-'));
  const file = join(dir, 'payloads.json');
  writeFileSync(file, JSON.stringify(payloads.map((p) => p.toString('base64'))));
  const script = `
    const dgram = require('node:dgram');
    const payloads = JSON.parse(require('node:fs').readFileSync(${JSON.stringify(file)}, 'utf8'));
    const sockets = Array.from({ length: ${sockets} }, () => dgram.createSocket('udp4'));
    process.stdout.write('ready\\n');
    setTimeout(async () => {
      let i = 0;
      for (const p of payloads) {
        await new Promise((resolve) => sockets[i++ % sockets.length].send(Buffer.from(p, 'base64'), ${port}, '127.0.0.1', resolve));
        if (i % 4 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      }
      for (const s of sockets) s.close();
    }, 100);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  // Held: nothing on this thread runs, as under a long scrape.
  const until = Date.now() + blockMs;
  while (Date.now() < until) {}
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  rmSync(dir, { recursive: true, force: true });
}

/** Another process sends `payloads` to `port`, one every `gapMs` or so: spread out, as many senders' beats are. */
async function sendSpreadOut(port: number, payloads: Buffer[], gapMs: number): Promise<void> {
  const script = `
    const s = require('node:dgram').createSocket('udp4');
    const payloads = ${JSON.stringify(payloads.map((p) => p.toString('base64')))};
    let i = 0;
    const next = () => {
      if (i === payloads.length) return s.close();
      s.send(Buffer.from(payloads[i++], 'base64'), ${port}, '127.0.0.1', () => setTimeout(next, ${gapMs}));
    };
    next();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'inherit', 'inherit'] });
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
}

/**
 * Real senders in another process: `sources` of them (`steady-0`, ...), each
 * beating every 200 ms, `beats` times, every beat stamped when sent (a round
 * of all sources at a time). Resolves once the first round is sent.
 */
async function steadySenders(port: number, sources = 1, beats = 12): Promise<{ finished: Promise<void> }> {
  const script = `
    const s = require('node:dgram').createSocket('udp4');
    let seq = 0;
    const round = () => {
      const sentAt = new Date().toISOString();
      for (let i = 0; i < ${sources}; i++)
        s.send(JSON.stringify({ v: 1, kind: 'beat', source: 'steady-' + i, boot: 'b1', seq, sentAt,
          intervalMs: 200, text: '' }), ${port}, '127.0.0.1');
      seq++;
    };
    round();
    process.stdout.write('ready\\n');
    const t = setInterval(() => { round(); if (seq === ${beats}) { clearInterval(t); setTimeout(() => s.close(), 50); } }, 200);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const finished = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  return { finished };
}

/** Every beat of the steady senders tracked, none lost, and no state change but each one's first beat. */
async function expectEveryBeatOnTime(
  m: LoopbackMonitor,
  logs: ReturnType<typeof captureLogs>,
  sources = 1,
  beats = 12,
): Promise<void> {
  await eventually(() => expect(m.monitor.ingest.stats.datagrams).toBe(sources * beats), 5000, 20);
  const states = logs.events('state').filter((l) => String(l.source).startsWith('steady-'));
  expect(states.filter((l) => l.reason !== 'first_beat')).toEqual([]);
  expect(states).toHaveLength(sources);
  const nowMs = Date.now();
  for (let i = 0; i < sources; i++) expect(m.monitor.tracker.view(`steady-${i}`, nowMs)?.lost).toBe(0);
}

/**
 * The socket thread held for `ms` at least (until released here: a check made before the release is
 * made during the hold, however late this thread's timers run); checks it was (nothing counted
 * meanwhile) and that this thread ran on. Returns `udp_monitor_judgement_lag_seconds` as scraped
 * near the end of the hold.
 */
async function holdSocketThread(m: LoopbackMonitor, ms: number): Promise<number> {
  const [socketThread, ...others] = threadIdsNamed(`${SOCKET_THREAD_NAME}-0`);
  expect(others).toEqual([]);
  let turns = 0;
  const turning = setInterval(() => turns++, 20);
  const hold = await holdThread(socketThread as number);
  const heldAt = Date.now();
  let lag: Promise<number> | undefined;
  try {
    // What it had read before the hold is handled within this.
    await sleep(100);
    const counted = m.monitor.ingest.stats.datagrams;
    await sleep(ms - 300);
    expect(m.monitor.ingest.stats.datagrams).toBe(counted);
    // Asked during the hold; a scrape waits for the socket thread's own figures, so it ends after the release.
    lag = metric(m, 'udp_monitor_judgement_lag_seconds');
  } finally {
    await sleep(Math.max(0, heldAt + ms - Date.now()));
    const heldMs = Date.now() - heldAt;
    await hold.release();
    clearInterval(turning);
    // This thread (the monitor's main thread, its ticks) ran on: about one turn in 20 ms held.
    expect(turns).toBeGreaterThan(heldMs / 40);
  }
  return await (lag as Promise<number>);
}

const beats = (n: number, sources = 1) =>
  Array.from({ length: n }, (_, i) =>
    encodedBeat(Math.floor(i / sources), { source: `burst-${i % sources}`, intervalMs: 3_600_000 }),
  );

const metric = async (m: LoopbackMonitor, name: string) =>
  Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`${m.base}/metrics`)).text())?.[1]);

// The socket is read on threads of its own: a main thread held up loses nothing the queue can hold.
describe('the socket threads', () => {
  let m: LoopbackMonitor | null = null;
  afterEach(async () => {
    await m?.monitor.stop();
    m = null;
  });

  it('hand their JSON over undecoded while busy: the main thread decodes it, each outcome as the socket thread would', async () => {
    const logs = captureLogs('client');
    // A share of 0: every JSON datagram is handed over, as by a thread busy all the time.
    m = await startLoopbackMonitor(logs.logger, { MAX_DATAGRAM_BYTES: '65507' }, { handOverBusyShare: 0 });
    let died: Error | null = null;
    void m.monitor.died.then((err) => {
      died = err;
    });
    const deep = `{"v":${deeplyNested()}}`;
    const json = [
      encodedBeat(0, { source: 'handed' }),
      encodedBeat(1, { source: 'handed' }),
      '{"v":1,',
      '{"v":2}',
      '{"v":1,"kind":"x"}',
      deep,
    ];
    await sendUdp(m.monitor.udp.port, [...json, 'plain words']);
    await eventually(() => expect(m?.monitor.ingest.stats.datagrams).toBe(7), 5000, 50);
    expect(await metric(m, 'udp_monitor_datagrams_decoded_on_main_thread_total')).toBe(json.length);
    expect(
      logs
        .events('readable')
        .filter((l) => l.source === 'handed')
        .map((l) => [l.kind, l.seq]),
    ).toEqual([
      ['beat', 0],
      ['beat', 1],
    ]);
    expect(m.monitor.tracker.view('handed', Date.now())).toMatchObject({ state: 'up', lastSeq: 1 });
    expect(logs.events('exception').map((l) => [l.reason, l.detail])).toEqual([
      ['malformed_json', expect.any(String)],
      ['unsupported_version', 'v=2'],
      ['schema', expect.stringMatching(/^kind: /)],
      ['unsupported_version', 'v=[…]'],
    ]);
    expect(logs.events('readable').filter((l) => l.kind === 'text')).toHaveLength(1);
    expect(died).toBeNull();
    expect(logs.schemaProblems()).toEqual([]);
  });

  it('go on reading while the main thread is held, so a small kernel buffer overflows nowhere', async () => {
    // 128 KiB of kernel buffer holds about 150 of these datagrams (75 ms of the stream): read on
    // the main thread, held for 4 s, more than nine tenths of the stream would be dropped.
    m = await startLoopbackMonitor(captureLogs('client').logger, { UDP_RECV_BUFFER: '65536' });
    const port = m.monitor.udp.port;
    const sentAt = Date.now();
    await sendWhileBlocked(port, beats(2000), 4000);
    // The stream lasted a second or more, all of it while this thread was held.
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(4000);
    await eventually(() => expect(m?.monitor.ingest.stats.datagrams).toBe(2000), 5000, 50);
    expect(readKernelSocketStats(port)?.drops).toBe(0);
    expect(await metric(m, 'udp_monitor_queue_drops_total')).toBe(0);
  });

  it('judge silence only up to what they handed over: a sender beating through a held main thread is never late', async () => {
    const logs = captureLogs('client');
    m = await startLoopbackMonitor(logs.logger, { LATE_GRACE: '100ms' });
    const port = m.monitor.udp.port;
    const sender = await steadySenders(port);
    await eventually(
      () => expect(m?.monitor.tracker.view('steady-0', Date.now())?.state).toBe('up'),
      2000,
      5,
    );
    // Held for 1.5 s: the liveness tick that runs first afterwards finds the beats still queued.
    const until = Date.now() + 1500;
    while (Date.now() < until) {}
    await sender.finished;
    await expectEveryBeatOnTime(m, logs);
  });

  it('judge silence only up to what they have read: a sender beating through a held socket thread is never late', async () => {
    const logs = captureLogs('client');
    m = await startLoopbackMonitor(logs.logger, { LATE_GRACE: '100ms' });
    const sender = await steadySenders(m.monitor.udp.port);
    await eventually(
      () => expect(m?.monitor.tracker.view('steady-0', Date.now())?.state).toBe('up'),
      2000,
      5,
    );
    // Held for 1.5 s (as if it got no core), past the late threshold of 300 ms: the beats wait in the kernel.
    const lag = await holdSocketThread(m, 1500);
    // Scraped 1.3 s into the hold: judgement had stood still since it began (the gauge says so).
    expect(lag).toBeGreaterThanOrEqual(1.2);
    await sender.finished;
    await expectEveryBeatOnTime(m, logs);
    // Once all is read, judgement is back with the clock.
    expect(await metric(m, 'udp_monitor_judgement_lag_seconds')).toBeLessThan(0.5);
  });

  it('... nor while they read the backlog a hold left: 300 senders beating through it, judged every 5 ms, are never late', async () => {
    const logs = captureLogs('client');
    // Ticks every 5 ms: a judgement made while the backlog is still being read (tens of ms) is not missed.
    m = await startLoopbackMonitor(logs.logger, { LATE_GRACE: '100ms' }, { tickMs: 5 });
    const sender = await steadySenders(m.monitor.udp.port, 300);
    await eventually(() => expect(m?.monitor.tracker.stateCounts().up).toBe(300), 2000, 5);
    // 1.5 s of 1,500 datagrams a second wait in the kernel, more than one poll reads (32).
    await holdSocketThread(m, 1500);
    await sender.finished;
    await expectEveryBeatOnTime(m, logs, 300);
  });

  it('hand a backlog over in turns: timers on the main thread run between its batches, not after them all', async () => {
    // Each datagram holds the main thread 6 ms, longer than a turn (5 ms): one batch a turn. Spread out
    // (2 ms apart), 100 datagrams come in as many small batches, handed over as earlier ones are handled.
    let fires = 0;
    const timer = setInterval(() => fires++, 1);
    const seen: number[] = [];
    let firesAtFirst = 0;
    let firesAtLast = 0;
    const receiver = await prepareReceiver({
      host: '127.0.0.1',
      port: 0,
      recvBufferBytes: 1 << 20,
      threads: 1,
      queueBytes: 1 << 24,
      coalesceMs: 0,
      classifier: { maxBytes: 1024, keys: [], requireAuth: false, allowFrom: [] },
    }).bind({
      readable(d) {
        if (seen.length === 0) firesAtFirst = fires;
        seen.push(d.outcome === 'accepted' ? d.seq : -1);
        const until = performance.now() + 6;
        while (performance.now() < until) {}
        if (seen.length === 100) firesAtLast = fires;
      },
      exception(err) {
        throw err;
      },
      died(err) {
        throw err;
      },
    });
    try {
      await sendSpreadOut(receiver.address.port, beats(100), 2);
      await eventually(() => expect(seen).toHaveLength(100), 5000, 20);
    } finally {
      clearInterval(timer);
      await receiver.stop();
    }
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // Handled in one go (as a MessagePort delivers them), the timer would not run until the last.
    expect(firesAtLast - firesAtFirst).toBeGreaterThanOrEqual(10);
  });

  it('(the control: the same stream to a socket read on this thread loses most of it)', async () => {
    const { createSocket } = await import('node:dgram');
    const control = createSocket({ type: 'udp4', recvBufferSize: 65536 });
    let got = 0;
    control.on('message', () => got++);
    await new Promise<void>((resolve) => control.bind(0, '127.0.0.1', resolve));
    await sendWhileBlocked(control.address().port, beats(2000), 4000);
    await sleep(200);
    control.close();
    expect(got).toBeLessThan(1000);
  });

  it('bound what waits for the main thread (UDP_QUEUE_BYTES): the rest is dropped and counted', async () => {
    const logs = captureLogs('client');
    m = await startLoopbackMonitor(logs.logger, { UDP_QUEUE_BYTES: '65536' });
    const port = m.monitor.udp.port;
    await sendWhileBlocked(port, beats(2000), 4000);
    // Every datagram is accounted for: handled, or dropped at the full queue (none by the kernel).
    await eventually(
      async () => {
        const handled = m?.monitor.ingest.stats.datagrams ?? 0;
        const dropped = await metric(m as LoopbackMonitor, 'udp_monitor_queue_drops_total');
        expect(handled + dropped).toBe(2000);
        expect(dropped).toBeGreaterThan(1000);
      },
      5000,
      50,
    );
    expect(readKernelSocketStats(port)?.drops).toBe(0);
    // The queue holds at most 64 KiB: a few hundred of these ~200-byte datagrams.
    expect(m.monitor.ingest.stats.datagrams).toBeLessThan(400);
    // And the monitor says it fell behind, every drop counted in its `overrun` lines.
    const dropped = await metric(m, 'udp_monitor_queue_drops_total');
    await eventually(() => {
      const lines = logs.events('overrun');
      expect(lines.reduce((a, l) => a + (l.dropped as number), 0)).toBe(dropped);
      expect(lines.at(-1)?.queueDrops).toBe(dropped);
    });
  });

  it('hold what waits for the main thread in full batches: as many as the datagrams fill, not one a millisecond', async () => {
    m = await startLoopbackMonitor(captureLogs('client').logger);
    const before = await metric(m, 'udp_monitor_socket_batches_total');
    // 4,000 datagrams over about 2 s, 4 every 2 ms: cut every millisecond, ~1,000 batches of ~4 would wait,
    // each with its arrays sized for 512 (~36 KiB), where UDP_QUEUE_BYTES counts ~330 bytes a datagram.
    await sendWhileBlocked(m.monitor.udp.port, beats(4000), 4000);
    await eventually(() => expect(m?.monitor.ingest.stats.datagrams).toBe(4000), 5000, 50);
    expect(readKernelSocketStats(m.monitor.udp.port)?.drops).toBe(0);
    // The few in flight when the thread stopped handling them, then full ones (8 of 512), then what is left.
    expect((await metric(m, 'udp_monitor_socket_batches_total')) - before).toBeLessThan(40);
  });

  it('report a datagram larger than the whole queue as oversize, never as a queue drop that blinds the monitor', async () => {
    const logs = captureLogs('client');
    m = await startLoopbackMonitor(logs.logger, { UDP_QUEUE_BYTES: '65536' });
    // 65,500 bytes + the record's 128: more than the queue's 65,536, were it counted by its bytes.
    await sendUdp(m.monitor.udp.port, [Buffer.alloc(65_500, 0x7b), Buffer.alloc(65_500, 0x20)]);
    await eventually(() => expect(m?.monitor.ingest.stats.datagrams).toBe(2), 5000);
    expect(await metric(m, 'udp_monitor_queue_drops_total')).toBe(0);
    expect(logs.events('exception').map((l) => [l.reason, l.bytes])).toEqual([
      ['oversize', 65_500],
      ['oversize', 65_500],
    ]);
    expect(logs.events('overrun')).toEqual([]);
  });

  /**
   * 100 datagrams 10 ms apart to a monitor with `coalesce`: its wake-ups, and how long the stream took
   * to be handled. (10 ms: a thread that gets no core for a while on a busy machine still finds most
   * of them one at a time without coalescing, and the control below stays a control.)
   */
  async function wakeupsOfSpreadOutStream(coalesce: string): Promise<{ wakeups: number; elapsedMs: number }> {
    m = await startLoopbackMonitor(captureLogs('client').logger, { UDP_COALESCE: coalesce });
    const from = Date.now();
    await sendSpreadOut(m.monitor.udp.port, beats(100, 10), 10);
    await eventually(() => expect(m?.monitor.ingest.stats.datagrams).toBe(100), 5000, 5);
    const elapsedMs = Date.now() - from;
    expect(readKernelSocketStats(m.monitor.udp.port)?.drops).toBe(0);
    return { wakeups: await metric(m, 'udp_monitor_socket_wakeups_total'), elapsedMs };
  }

  it('gather spread-out datagrams (UDP_COALESCE): a datagram that wakes the thread lets the next ones gather', async () => {
    // Each wake-up is followed by 20 ms of gathering, so however the stream is timed,
    // wake-ups are at least 20 ms apart.
    const { wakeups, elapsedMs } = await wakeupsOfSpreadOutStream('20ms');
    expect(wakeups).toBeGreaterThan(0);
    expect(wakeups).toBeLessThanOrEqual(Math.floor(elapsedMs / 20) + 1);
  });

  it('(the control: with UDP_COALESCE=0ms the same stream wakes the thread for most datagrams)', async () => {
    const { wakeups, elapsedMs } = await wakeupsOfSpreadOutStream('0ms');
    expect(wakeups).toBeGreaterThan(Math.floor(elapsedMs / 20) + 1);
    expect(wakeups).toBeGreaterThanOrEqual(50);
  });

  it('share the port with UDP_WORKERS=3 (SO_REUSEPORT), and every datagram reaches the one tracker', async () => {
    m = await startLoopbackMonitor(captureLogs('client').logger, { UDP_WORKERS: '3' });
    const port = m.monitor.udp.port;
    const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
    const { readFileSync } = await import('node:fs');
    const sockets = readFileSync('/proc/net/udp', 'utf8')
      .split('\n')
      .filter((l) => l.includes(hex));
    expect(sockets).toHaveLength(3);
    // 60 senders, each from its own source port: the kernel spreads them across the three sockets.
    await sendWhileBlocked(port, beats(600, 60), 300, 60);
    await eventually(() => expect(m?.monitor.ingest.stats.datagrams).toBe(600), 5000, 50);
    expect(m.monitor.tracker.size).toBe(60);
    const received = (await (await fetch(`${m.base}/api/senders?limit=100`)).json()) as Array<{
      received: number;
    }>;
    expect(received.map((s) => s.received)).toEqual(Array(60).fill(10));
    // A plain send still works, and stop closes all three.
    await sendUdp(port, [encodedBeat(10, { source: 'burst-0', intervalMs: 3_600_000 })]);
    await eventually(() => expect(m?.monitor.ingest.stats.datagrams).toBe(601), 5000, 50);
    await m.monitor.stop();
    m = null;
    expect(readFileSync('/proc/net/udp', 'utf8').includes(hex)).toBe(false);
  });
});

// A start makes the socket threads first, so that they load their code while the state file is read.
describe('socket threads made before the monitor can hear', () => {
  const options = (port: number, threads: number): ReceiverOptions => ({
    host: '127.0.0.1',
    port,
    recvBufferBytes: 1 << 20,
    threads,
    queueBytes: 1 << 24,
    coalesceMs: 0,
    classifier: { maxBytes: 1024, keys: [], requireAuth: false, allowFrom: [] },
  });
  const socketThreads = (threads: number) =>
    Array.from({ length: threads }, (_, i) => threadIdsNamed(`${SOCKET_THREAD_NAME}-${i}`)).flat();
  /** A port the kernel has just given out and taken back. */
  async function freePort(): Promise<number> {
    const { createSocket } = await import('node:dgram');
    const probe = createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
    const { port } = probe.address();
    await new Promise<void>((resolve) => probe.close(resolve));
    return port;
  }

  /** A port held by another socket until close(). */
  async function takenUdpPort() {
    const { createSocket } = await import('node:dgram');
    const holder = createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(0, '127.0.0.1', resolve));
    return {
      port: holder.address().port,
      close: () => new Promise<void>((resolve) => holder.close(() => resolve())),
    };
  }
  async function takenTcpPort() {
    const { createServer } = await import('node:net');
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    return {
      port: (holder.address() as { port: number }).port,
      close: () => new Promise<void>((resolve) => holder.close(() => resolve())),
    };
  }

  it('run, and bind the port only when told to, every one of them', async () => {
    const port = await freePort();
    const prepared = prepareReceiver(options(port, 2));
    const seen: Classified[] = [];
    const deaths: Error[] = [];
    try {
      await prepared.loaded;
      expect(socketThreads(2)).toHaveLength(2);
      // Long enough to bind, had they not waited.
      await sleep(200);
      expect(readKernelSocketStats(port)).toBeNull();
    } catch (err) {
      await prepared.abandon();
      throw err;
    }
    const receiver = await prepared.bind({
      readable: (d) => seen.push(d),
      exception: (err) => deaths.push(err),
      died: (err) => deaths.push(err),
    });
    try {
      expect(receiver.address.port).toBe(port);
      const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
      const { readFileSync } = await import('node:fs');
      expect(
        readFileSync('/proc/net/udp', 'utf8')
          .split('\n')
          .filter((l) => l.includes(hex)),
      ).toHaveLength(2);
      await sendUdp(port, [encodedBeat(1)]);
      await eventually(() => expect(seen).toHaveLength(1), 5000, 10);
      await expect(prepared.bind({ readable() {}, exception() {}, died() {} })).rejects.toThrow(
        /asked to bind already/,
      );
    } finally {
      await receiver.stop();
    }
    expect(deaths).toEqual([]);
  });

  it('end when the start is given up before they bind; a bind() then fails instead of waiting', async () => {
    await eventually(() => expect(socketThreads(2)).toEqual([]), 5000, 10);
    const prepared = prepareReceiver(options(0, 2));
    await prepared.loaded;
    expect(socketThreads(2)).toHaveLength(2);
    await prepared.abandon();
    await eventually(() => expect(socketThreads(2)).toEqual([]), 5000, 10);
    await expect(prepared.bind({ readable() {}, exception() {}, died() {} })).rejects.toThrow(
      /exited before it was ready/,
    );
  });

  it.each([
    // Before it observed anything: no run recorded (the next start counts the time unobserved).
    ['UDP', 'UDP_PORT', null],
    // After its socket was bound: a run, stopped cleanly.
    ['HTTP', 'HTTP_PORT', true],
  ])(
    'a start whose %s port (%s) is taken stops what it opened: the socket threads, and the state file (a clean stop recorded: %s)',
    async (protocol, variable, cleanStop) => {
      await eventually(() => expect(socketThreads(1)).toEqual([]), 5000, 10);
      const dataDir = freshDataDir();
      const taken = protocol === 'UDP' ? await takenUdpPort() : await takenTcpPort();
      try {
        const start = startLoopbackMonitor(captureLogs('client').logger, {
          DATA_DIR: dataDir,
          [variable]: String(taken.port),
        });
        // A setting's problem, named: the port taken.
        await expect(start).rejects.toMatchObject({
          code: 'EADDRINUSE',
          name: 'ConfigError',
          problems: [{ variable: variable, value: String(taken.port) }],
        });
        await sleep(200);
        expect(socketThreads(1)).toEqual([]);
        // The next start reads how the failed one ended: no crash, and a run only if it observed.
        const logs = captureLogs('client');
        const next = await startLoopbackMonitor(logs.logger, { DATA_DIR: dataDir });
        await next.monitor.stop();
        expect(logs.events('state_file')).toMatchObject([{ cleanStop }]);
      } finally {
        await taken.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  );

  it('a start on an address not of this host names UDP_HOST (EADDRNOTAVAIL), as a setting', async () => {
    const dataDir = freshDataDir();
    try {
      // 192.0.2.1: TEST-NET-1, never an address of this host.
      const start = startLoopbackMonitor(captureLogs('client').logger, {
        DATA_DIR: dataDir,
        UDP_HOST: '192.0.2.1',
      });
      await expect(start).rejects.toMatchObject({
        code: 'EADDRNOTAVAIL',
        name: 'ConfigError',
        problems: [
          {
            variable: 'UDP_HOST',
            value: '192.0.2.1',
            expected: expect.stringContaining('an address of this host'),
          },
        ],
      });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('end when the state file stops the start', async () => {
    await eventually(() => expect(socketThreads(2)).toEqual([]), 5000, 10);
    const dataDir = freshDataDir();
    try {
      writeFileSync(join(dataDir, STATE_FILE_NAME), '');
      const start = startLoopbackMonitor(captureLogs('client').logger, {
        DATA_DIR: dataDir,
        UDP_WORKERS: '2',
      });
      await expect(start).rejects.toBeInstanceOf(StateFileError);
      // Threads left behind would have named themselves by now.
      await sleep(200);
      expect(socketThreads(2)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
