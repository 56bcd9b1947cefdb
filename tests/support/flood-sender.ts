/**
 * The flood's sender, run as a child process (fork with `--import tsx`) so
 * the test process stays free to poll /healthz and sample memory on time.
 *
 * Sends the seeded mix of flood-mix.ts to one loopback port, bounded twice:
 * at most `count` datagrams and at most `maxMs` of sending, whichever comes
 * first. Paced by the receiver itself: it reads the receiving socket's queue
 * from /proc/net/udp and waits while that holds more than `queueLimitBytes`,
 * so the kernel should not have to drop anything (what it drops anyway is
 * counted by the kernel and checked by the test).
 *
 * Input: the FLOOD_SENDER environment variable (JSON, SenderConfig).
 * Output over IPC: { type: 'progress', sent } about every 250 ms, then one
 * { type: 'done', ...SenderReport }.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { readKey } from '../../services/shared/keys.js';
import { createFloodMix, FLOOD_KIND_NAMES, type FloodKind } from './flood-mix.js';

export interface SenderConfig {
  host: '127.0.0.1';
  port: number;
  count: number;
  maxMs: number;
  seed: number;
  sources: number;
  hotSources: number;
  hotShare: number;
  maxDatagramBytes: number;
  keyId: string;
  keyFile: string;
  queueLimitBytes: number;
}

export interface SenderReport {
  sent: number;
  byKind: Record<FloodKind, number>;
  bytes: number;
  elapsedMs: number;
  stoppedBy: 'count' | 'time';
  /** Times the sender waited for the receiver's queue to drain. */
  waits: number;
  sendErrors: number;
  /** CPU time of this sender process (user + system), ms. */
  cpuMs: number;
}

/**
 * The receive queue (bytes) of the IPv4 UDP socket bound to 127.0.0.1:port;
 * 0 if there is none. Matched on the local-address column only: the
 * sender's own socket, connected to that port, shows it as its remote address.
 */
export function loopbackRxQueue(port: number, table = readFileSync('/proc/net/udp', 'latin1')): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of table.split('\n')) {
    // sl local_address rem_address st tx_queue:rx_queue ...
    const cols = line.trim().split(/\s+/);
    if (cols[1] === local) return Number.parseInt((cols[4] ?? '0:0').split(':')[1] ?? '0', 16);
  }
  return 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(config: SenderConfig): Promise<SenderReport> {
  if (config.host !== '127.0.0.1') throw new Error('the flood sends to loopback only');
  const signer = { keyId: config.keyId, key: readKey({ keyId: config.keyId, path: config.keyFile }, 'key') };
  const mix = createFloodMix({
    seed: config.seed,
    signer,
    sources: config.sources,
    hotSources: config.hotSources,
    hotShare: config.hotShare,
    maxDatagramBytes: config.maxDatagramBytes,
  });
  const byKind = Object.fromEntries(FLOOD_KIND_NAMES.map((k) => [k, 0])) as Record<FloodKind, number>;
  const socket = createSocket('udp4');
  let sendErrors = 0;
  socket.on('error', () => {
    sendErrors++;
  });
  await new Promise<void>((resolve) => socket.connect(config.port, config.host, resolve));

  const started = performance.now();
  const deadline = started + config.maxMs;
  let sent = 0;
  let bytes = 0;
  let waits = 0;
  let lastProgress = started;
  const BATCH = 64;
  while (sent < config.count && performance.now() < deadline) {
    // Pace on the receiver's queue, and let this process's own I/O (IPC) run.
    while (loopbackRxQueue(config.port) > config.queueLimitBytes && performance.now() < deadline) {
      waits++;
      await sleep(1);
    }
    const n = Math.min(BATCH, config.count - sent);
    for (let i = 0; i < n; i++) {
      const d = mix.next();
      byKind[d.kind]++;
      bytes += d.bytes.length;
      socket.send(d.bytes); // errors arrive as 'error' events, counted above
    }
    sent += n;
    // Do not let libuv's send queue grow: wait until the kernel took this batch.
    while (socket.getSendQueueCount() > 0) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    const now = performance.now();
    if (now - lastProgress >= 250) {
      lastProgress = now;
      process.send?.({ type: 'progress', sent });
    }
  }
  const elapsedMs = Math.round(performance.now() - started);
  await new Promise<void>((resolve) => socket.close(resolve));
  return {
    sent,
    byKind,
    bytes,
    elapsedMs,
    stoppedBy: sent >= config.count ? 'count' : 'time',
    waits,
    sendErrors,
    cpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000),
  };
}

const raw = process.env.FLOOD_SENDER;
if (raw !== undefined) {
  main(JSON.parse(raw) as SenderConfig).then(
    (report) => process.send?.({ type: 'done', ...report }, () => process.exit(0)),
    (err: Error) => {
      process.send?.({ type: 'error', message: err.stack ?? err.message }, () => process.exit(1));
    },
  );
}
