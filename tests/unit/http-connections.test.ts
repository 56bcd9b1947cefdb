/**
 * What HTTP clients can hold of the monitor is bounded (request-limits.ts):
 * HTTP_MAX_CONNECTIONS connections, and an answer its client takes none of
 * within the idle time is closed. Real sockets on loopback, the real monitor.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Monitor } from '../../services/client/monitor.js';
import { captureLogs } from '../support/log-capture.js';
import { startLoopbackMonitor } from '../support/monitor.js';
import { beat, eventually, sendUdp } from '../support/udp.js';

const monitors: Monitor[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const m of monitors.splice(0)) await m.stop();
});

/** A TCP connection to the monitor's HTTP port, once connected. */
async function opened(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** Resolves with the bytes the socket received once the other end has closed it. */
function closedBy(socket: Socket): Promise<number> {
  let bytes = 0;
  socket.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  socket.on('error', () => {});
  return new Promise((resolve) => socket.once('close', () => resolve(bytes)));
}

describe('HTTP connections', () => {
  it('closes one more than HTTP_MAX_CONNECTIONS at once, counts it, and takes connections again once one ends', async () => {
    const { monitor, base } = await startLoopbackMonitor(captureLogs('client').logger, {
      HTTP_MAX_CONNECTIONS: '3',
      SSE_MAX_CLIENTS: '1',
    });
    monitors.push(monitor);
    const port = monitor.http.port;
    const held = [await opened(port), await opened(port), await opened(port)];
    const refused = await opened(port);
    // Closed by the monitor, unanswered: its request is never read.
    refused.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(await closedBy(refused)).toBe(0);
    // One of the three ends: a scrape gets a connection, and finds the refusal counted.
    const ended = closedBy(held[0] as Socket);
    held[0]?.end();
    await ended;
    const metrics = await eventually(async () => {
      const res = await fetch(`${base}/metrics`, { headers: { connection: 'close' } });
      expect(res.status).toBe(200);
      return res.text();
    });
    expect(metrics).toMatch(/^udp_monitor_http_connections_refused_total 1$/m);
  });

  it('closes an answer its client takes none of within the idle time; one it takes is whole', async () => {
    const { monitor, base } = await startLoopbackMonitor(
      captureLogs('client').logger,
      { HISTORY_SIZE: '1000' },
      { httpResponseIdleMs: 500 },
    );
    monitors.push(monitor);
    // 1,000 senders: a page of them with their heartbeat bars is about a megabyte.
    const sources = Array.from({ length: 1000 }, (_, i) => `sender-${String(i).padStart(4, '0')}`);
    await sendUdp(
      monitor.udp.port,
      sources.map((source) => beat(0, { source })),
    );
    await eventually(() => expect(monitor.tracker.size).toBe(1000));
    const path = '/api/senders?limit=1000&heartbeats=true';
    const whole = await (await fetch(base + path)).text();
    expect(JSON.parse(whole)).toHaveLength(1000);

    // Ten such answers asked at once on one connection, and none of them read: more than the kernel's
    // buffers on both ends take.
    const reader = await opened(monitor.http.port);
    reader.pause();
    reader.write(`GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`.repeat(10));
    // Three idle times with nothing taken; the monitor serves others meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    // Read now: what the kernel held, then the end the monitor gave it. (Not cut, the connection would
    // stay open after all ten answers, kept alive, and this would wait for ever.)
    const received = closedBy(reader);
    reader.resume();
    const bytes = await received;
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(10 * whole.length);
  });
});
