/**
 * What HTTP clients can hold of the monitor is bounded (client-bounds.ts):
 * HTTP_MAX_CONNECTIONS + SSE_MAX_CLIENTS connections, one answer at a time
 * on each, and an answer its client takes none of within the idle time is
 * closed. Real sockets on loopback, the real monitor.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Monitor } from '../../services/client/monitor.js';
import { captureLogs } from '../support/log-capture.js';
import { startLoopbackMonitor } from '../support/monitor.js';
import { openRaw, type RawConnection, responsesIn } from '../support/raw-http.js';
import { beat, eventually, sendUdp } from '../support/udp.js';

const monitors: Monitor[] = [];
const connections: RawConnection[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) c.destroy();
  for (const m of monitors.splice(0)) await m.stop();
});

async function opened(port: number): Promise<RawConnection> {
  const connection = await openRaw(port);
  connections.push(connection);
  return connection;
}

const get = (path: string, last = false) =>
  `GET ${path} HTTP/1.1\r\nhost: x\r\n${last ? 'connection: close\r\n' : ''}\r\n`;
const statuses = (connection: RawConnection) => responsesIn(connection.received()).map((r) => r.status);

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
    stream.write(get('/api/events'));
    await eventually(() => expect(stream.received()).toMatch(/^HTTP\/1\.1 200 /));
    const idle = [await opened(port), await opened(port)];
    for (const connection of idle) {
      connection.write(get('/healthz'));
      await eventually(() => expect(statuses(connection)).toEqual([200]));
    }

    // One more: closed by the monitor, unanswered (its request is never read; answered, it would close
    // after its answer).
    const refused = await opened(port);
    refused.write(get('/healthz', true));
    expect(await refused.closedWithin(5000)).not.toBeNull();
    expect(refused.received()).toBe('');
    // The idle ones went with it; the stream goes on.
    for (const connection of idle) expect(await connection.closedWithin(5000)).not.toBeNull();
    const streamedBefore = stream.received().length;
    await eventually(() => expect(stream.received().length).toBeGreaterThan(streamedBefore));
    const metrics = await (await fetch(`${base}/metrics`, { headers: { connection: 'close' } })).text();
    expect(metrics).toMatch(/^udp_monitor_http_connections_refused_total 1$/m);
  });

  it('answers one request at a time on a connection: one pipelined behind it gets a 429', async () => {
    const { monitor } = await startLoopbackMonitor(captureLogs('client').logger);
    monitors.push(monitor);
    const pipelined = await opened(monitor.http.port);
    // Three at once; the last asks for the connection to close after its answer.
    pipelined.write(get('/api/status') + get('/api/status') + get('/api/status', true));
    expect(await pipelined.closedWithin(5000)).not.toBeNull();
    expect(statuses(pipelined)).toEqual([200, 429, 429]);
    // Asked one after the other, each is answered.
    const oneByOne = await opened(monitor.http.port);
    oneByOne.write(get('/api/status'));
    await eventually(() => expect(statuses(oneByOne)).toEqual([200]));
    oneByOne.write(get('/api/status', true));
    expect(await oneByOne.closedWithin(5000)).not.toBeNull();
    expect(statuses(oneByOne)).toEqual([200, 200]);
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
    reader.resume();
    expect(await reader.closedWithin(5000)).not.toBeNull();
    expect(reader.received().length).toBeGreaterThan(0);
    expect(reader.received().length).toBeLessThan(whole);
  });
});
