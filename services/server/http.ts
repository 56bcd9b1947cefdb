/**
 * The beacon's small HTTP port: `/healthz` (the schedule is ticking) and
 * `/metrics` (Prometheus text) so operators can scrape both services.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Beacon } from '../shared/beacon/beacon.js';
import { MAX_ADDRESSES_PER_TARGET } from '../shared/beacon/targets.js';
import { bindFailure } from '../shared/bind-failure.js';
import { collectProcessMetrics } from '../shared/process-metrics.js';
import { datagramSchema } from '../shared/protocol.js';

export interface BeaconHttp {
  address: AddressInfo;
  stop(): Promise<void>;
}

export function beaconRegistry(beacon: Beacon, intervalMs: number): Registry {
  const registry = new Registry();
  collectProcessMetrics(registry);
  new Counter({
    name: 'beacon_datagrams_sent_total',
    help: `Datagrams handed to the kernel, by target, address and kind (the ${MAX_ADDRESSES_PER_TARGET} addresses per target sent to most recently)`,
    labelNames: ['target', 'address', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { target, sent } of beacon.stats().targets) {
        for (const [address, counts] of sent) {
          for (const kind of datagramSchema.shape.kind.options)
            this.inc({ target, address, kind }, counts[kind]);
        }
      }
    },
  });
  new Counter({
    name: 'beacon_send_errors_total',
    help: 'Failed lookups and sends, by target and reason (socket errors have no target)',
    labelNames: ['target', 'reason'],
    registers: [registry],
    collect() {
      const stats = beacon.stats();
      this.reset();
      for (const { target, errors } of stats.targets) {
        for (const [reason, n] of Object.entries(errors)) this.inc({ target, reason }, n);
      }
      this.inc({ target: '', reason: 'socket_error' }, stats.socketErrors);
    },
  });
  new Gauge({
    name: 'beacon_target_addresses',
    help: "Addresses each target's beats go to now (its last good answer)",
    labelNames: ['target'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { target, addresses } of beacon.stats().targets) this.set({ target }, addresses.length);
    },
  });
  new Gauge({
    name: 'beacon_target_addresses_dropped',
    help: `Addresses of a target's last good answer beyond the cap of ${MAX_ADDRESSES_PER_TARGET}: they get no beats`,
    labelNames: ['target'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { target, droppedAddresses } of beacon.stats().targets)
        this.set({ target }, droppedAddresses);
    },
  });
  new Gauge({
    name: 'beacon_last_send_timestamp_seconds',
    help: 'Unix time of the last successful send (0 before the first)',
    registers: [registry],
    collect() {
      this.set((beacon.stats().lastSendAtMs ?? 0) / 1000);
    },
  });
  new Gauge({
    name: 'beacon_lateness_seconds',
    help: 'How late the last beat left relative to its drift-free slot',
    registers: [registry],
    collect() {
      this.set(beacon.stats().lastLatenessMs / 1000);
    },
  });
  new Gauge({
    name: 'beacon_interval_seconds',
    help: 'Configured beat interval',
    registers: [registry],
  }).set(intervalMs / 1000);
  return registry;
}

export function isAlive(beacon: Beacon, intervalMs: number, nowPerfMs = performance.now()): boolean {
  return nowPerfMs - beacon.stats().lastTickPerfMs < 2 * intervalMs + 1000;
}

export async function startBeaconHttp(
  options: { port: number; host: string; intervalMs: number },
  beacon: Beacon,
  logger: Logger,
): Promise<BeaconHttp> {
  const registry = beaconRegistry(beacon, options.intervalMs);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { 'content-type': 'application/json', allow: 'GET, HEAD' })
        .end('{"error":"method not allowed"}');
    } else if (path === '/healthz') {
      const alive = isAlive(beacon, options.intervalMs);
      const stats = beacon.stats();
      res
        .writeHead(alive ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: alive ? 'ok' : 'stalled', boot: stats.boot, nextSeq: stats.nextSeq }));
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)),
      );
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        bindFailure(err, {
          host: { variable: 'HTTP_HOST', value: options.host },
          port: { variable: 'HTTP_PORT', value: options.port },
        }),
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  logger.info(
    { event: 'listening', protocol: 'http', address: address.address, port: address.port },
    'http listening',
  );
  return {
    address,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
