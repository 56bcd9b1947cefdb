/**
 * What HTTP clients can hold of the monitor is bounded (request-limits.ts):
 * HTTP_MAX_CONNECTIONS connections besides the live updates' SSE_MAX_CLIENTS,
 * one answer at a time on each, and an answer its client takes none of
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

/** The next bytes the socket receives, as text. */
function firstData(socket: Socket): Promise<string> {
  return new Promise((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
}

/** Everything the socket receives from now on, once the other end has closed it. */
function untilClosed(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  return new Promise((resolve) => socket.once('close', () => resolve(Buffer.concat(chunks))));
}

const get = (path: string, last = false) =>
  `GET ${path} HTTP/1.1\r\nhost: x\r\n${last ? 'connection: close\r\n' : ''}\r\n`;
/** The status lines of the answers in what a connection received (each right after the body before it). */
const statuses = (received: Buffer) => received.toString('latin1').match(/HTTP\/1\.1 \d{3}/g) ?? [];

describe('HTTP connections', () => {
  it('closes one connection more than HTTP_MAX_CONNECTIONS and the live updates at once, counts it, and closes the idle ones so that the next try gets in', async () => {
    const { monitor, base } = await startLoopbackMonitor(captureLogs('client').logger, {
      HTTP_MAX_CONNECTIONS: '2',
      SSE_MAX_CLIENTS: '1',
    });
    monitors.push(monitor);
    const port = monitor.http.port;
    // Three connections: a live-update stream, and two kept alive after an answer each (idle).
    const stream = await opened(port);
    const streamed = firstData(stream);
    stream.write(get('/api/events'));
    expect(await streamed).toMatch(/^HTTP\/1\.1 200 /);
    const idle = [await opened(port), await opened(port)];
    for (const socket of idle) {
      const answered = firstData(socket);
      socket.write(get('/healthz'));
      expect(await answered).toMatch(/^HTTP\/1\.1 200 /);
    }
    const idleClosed = idle.map(untilClosed);

    // One more: closed by the monitor, unanswered (its request is never read; answered, it would close
    // after its answer).
    const refused = await opened(port);
    const refusedGot = untilClosed(refused);
    refused.write(get('/healthz', true));
    expect((await refusedGot).length).toBe(0);
    // The idle ones went with it; the stream goes on.
    expect((await Promise.all(idleClosed)).map((b) => b.length)).toEqual([0, 0]);
    expect((await firstData(stream)).length).toBeGreaterThan(0);
    const metrics = await (await fetch(`${base}/metrics`, { headers: { connection: 'close' } })).text();
    expect(metrics).toMatch(/^udp_monitor_http_connections_refused_total 1$/m);
  });

  it('answers one request at a time on a connection: one pipelined behind it gets a 429', async () => {
    const { monitor } = await startLoopbackMonitor(captureLogs('client').logger);
    monitors.push(monitor);
    const socket = await opened(monitor.http.port);
    const received = untilClosed(socket);
    // Three at once; the last asks for the connection to close after its answer.
    socket.write(get('/api/status') + get('/api/status') + get('/api/status', true));
    expect(statuses(await received)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 429', 'HTTP/1.1 429']);
    // Asked one after the other, each is answered.
    const again = await opened(monitor.http.port);
    for (const last of [false, true]) {
      const answered = last ? untilClosed(again) : firstData(again).then((t) => Buffer.from(t, 'latin1'));
      again.write(get('/healthz', last));
      expect(statuses(await answered)).toEqual(['HTTP/1.1 200']);
    }
  });

  it('closes an answer its client takes none of within the idle time, and counts it', async () => {
    const SENDERS = 10_000;
    const { monitor, base } = await startLoopbackMonitor(
      captureLogs('client').logger,
      { METRICS_SENDER_SERIES: String(SENDERS), MAX_SENDERS: String(SENDERS) },
      { httpResponseIdleMs: 500 },
    );
    monitors.push(monitor);
    // 10,000 senders beating hourly (none goes late meanwhile), in batches the receive buffer takes.
    for (let from = 0; from < SENDERS; from += 500) {
      await sendUdp(
        monitor.udp.port,
        Array.from({ length: 500 }, (_, i) =>
          beat(0, { source: `sender-${String(from + i).padStart(5, '0')}`, intervalMs: 3_600_000 }),
        ),
      );
      await eventually(() => expect(monitor.tracker.size).toBe(from + 500));
    }
    // Their series make a scrape of megabytes: more than the kernel's buffers on both ends hold.
    const whole = (await (await fetch(`${base}/metrics`)).text()).length;
    expect(whole).toBeGreaterThan(8 * 1024 * 1024);

    const reader = await opened(monitor.http.port);
    reader.pause();
    reader.write(get('/metrics', true));
    // Cut once the client took nothing for the idle time; the monitor serves on meanwhile.
    await eventually(
      async () =>
        expect(await (await fetch(`${base}/metrics`)).text()).toMatch(
          /^udp_monitor_http_responses_cut_total 1$/m,
        ),
      10_000,
      250,
    );
    // What the kernel held of it, then the end the monitor gave it: never the whole answer.
    const received = untilClosed(reader);
    reader.resume();
    const bytes = (await received).length;
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(whole);
  });
});
