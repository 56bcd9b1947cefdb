import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Monitor } from '../../services/client/monitor.js';
import { captureLogs } from '../support/log-capture.js';
import { startLoopbackMonitor } from '../support/monitor.js';
import { openRaw, responsesIn } from '../support/raw-http.js';
import { openEventStream } from '../support/sse.js';
import { beat, eventually, sendUdp } from '../support/udp.js';

const TOKEN = 'k'.repeat(40);
/** The monitor's request timeout here (REQUEST_TIMEOUT_MS otherwise): short, for a quick test. */
const TIMEOUT_MS = 500;
/** How long a test waits for a connection to be closed before it calls it held. */
const HELD_MS = 5000;

/** A silence's headers and the first byte of its body (under the 16 KiB a write may send). */
const postSilence = (authorization: string) =>
  'POST /api/silences HTTP/1.1\r\nHost: monitor\r\n' +
  authorization +
  'Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n{';

// A client must send its whole request, headers and body, within the request timeout; answers
// that last (the event stream) and idle keep-alive connections are not its business.
describe('the request timeout', () => {
  const logs = captureLogs('client');
  let monitor: Monitor;
  let port: number;

  beforeAll(async () => {
    let base: string;
    ({ monitor, base } = await startLoopbackMonitor(
      logs.logger,
      {},
      { adminToken: TOKEN, httpRequestTimeoutMs: TIMEOUT_MS },
    ));
    port = Number(new URL(base).port);
  });
  afterAll(async () => {
    await monitor?.stop();
  });

  it.each([
    [
      'a silence whose body trickles in, with the token',
      postSilence(`Authorization: Bearer ${TOKEN}\r\n`),
      408,
    ],
    // Refused at once (401), its body is still read before the connection could serve another request.
    ['a silence whose body trickles in, without the token', postSilence(''), 401],
    ['a request whose headers trickle in', 'GET /api/status HTTP/1.1\r\nHost: monitor\r\nX-Slow: ', 408],
  ])('closes the connection once the timeout is past: %s', async (_name, start, firstStatus) => {
    const conn = await openRaw(port);
    conn.write(start);
    const trickle = setInterval(() => conn.write('a'), 50);
    try {
      const openForMs = await conn.closedWithin(HELD_MS);
      expect(openForMs, 'connection still open').not.toBeNull();
      expect(openForMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(openForMs).toBeLessThan(TIMEOUT_MS + 2000);
    } finally {
      clearInterval(trickle);
      conn.destroy();
    }
    const [first] = responsesIn(conn.received());
    expect(first?.status).toBe(firstStatus);
    if (firstStatus === 408) {
      expect(first?.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(first?.headers['x-content-type-options']).toBe('nosniff');
      expect(JSON.parse(first?.body ?? '')).toEqual({
        error: 'request_timeout',
        message: 'the request (headers and body) did not arrive within 0.5 s',
      });
    }
    expect(logs.events('http_error')).toEqual([]);
  });

  it('answers a request sent slowly but within the timeout', async () => {
    const conn = await openRaw(port);
    try {
      conn.write('GET /api/status HTTP/1.1\r\nHost: monitor\r\n');
      // A pause well within the timeout: a loaded machine may run this timer late.
      await new Promise((r) => setTimeout(r, TIMEOUT_MS / 10));
      conn.write('\r\n');
      await eventually(() => expect(responsesIn(conn.received()).map((r) => r.status)).toEqual([200]));
    } finally {
      conn.destroy();
    }
  });

  it('keeps an idle keep-alive connection past the timeout: it bounds a request, not the wait for the next', async () => {
    const conn = await openRaw(port);
    try {
      const get = 'GET /healthz HTTP/1.1\r\nHost: monitor\r\n\r\n';
      conn.write(get);
      await eventually(() => expect(responsesIn(conn.received())).toHaveLength(1));
      expect(await conn.closedWithin(TIMEOUT_MS * 3)).toBeNull();
      conn.write(get);
      await eventually(() => expect(responsesIn(conn.received()).map((r) => r.status)).toEqual([200, 200]));
    } finally {
      conn.destroy();
    }
  });

  it('leaves the event stream open past the timeout: it is a long answer, its request came at once', async () => {
    const stream = await openEventStream(`http://127.0.0.1:${port}/api/events`);
    try {
      await new Promise((r) => setTimeout(r, TIMEOUT_MS * 3));
      await sendUdp(monitor.udp.port, [beat(0, { source: 'after-the-timeout' })]);
      await eventually(() =>
        expect(
          stream.events.some(
            (e) => e.type === 'datagram' && (e.data as { source: string }).source === 'after-the-timeout',
          ),
        ).toBe(true),
      );
    } finally {
      await stream.close();
    }
  });
});
