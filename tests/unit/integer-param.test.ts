import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datagramsQuery } from '../../services/client/http/api.js';
import { integerParam } from '../../services/client/http/integer-param.js';
import type { Monitor } from '../../services/client/monitor.js';
import { captureLogs } from '../support/log-capture.js';
import { startLoopbackMonitor } from '../support/monitor.js';
import { beat, eventually, sendUdp } from '../support/udp.js';

/** What Number() makes of a text that is no plain decimal integer, and so what a coercion let through. */
const NOT_DECIMAL_DIGITS = [
  '1e2',
  '0x10',
  '0b11',
  '0o7',
  ' 5',
  '5 ',
  '',
  '5.0',
  '+5',
  '-1',
  '1_000',
  '５',
  'Infinity',
];

describe('an integer parameter', () => {
  const limit = integerParam({ min: 1, max: 1000 });

  it.each(['1', '42', '007', '1000'])('takes %j, its decimal digits', (text) => {
    expect(limit.parse(text)).toBe(Number(text));
  });

  it.each(NOT_DECIMAL_DIGITS)('refuses %j, which is not decimal digits only', (text) => {
    const issues = limit.safeParse(text).error?.issues;
    expect(issues?.[0]?.message).toBe('expected an integer in decimal digits (0-9)');
  });

  it.each(['0', '1001', '9'.repeat(400)])('refuses %j, out of its range', (text) => {
    expect(limit.safeParse(text).success).toBe(false);
  });
});

// Every integer of a query string is read with integerParam: a 400 naming it otherwise.
describe('integer query parameters served by the monitor', () => {
  let monitor: Monitor;
  let base: string;

  beforeAll(async () => {
    ({ monitor, base } = await startLoopbackMonitor(captureLogs('client').logger));
    await sendUdp(monitor.udp.port, [beat(0)]);
    await eventually(() => expect(monitor.tracker.size).toBe(1));
  });
  afterAll(async () => {
    await monitor?.stop();
  });

  const ROUTES = ['/api/datagrams', '/api/senders', '/api/senders/test-sender/incidents'];

  it.each(ROUTES.flatMap((route) => NOT_DECIMAL_DIGITS.map((text) => [route, text])))(
    '%s answers limit=%j with a 400 naming limit',
    async (route, text) => {
      const res = await fetch(`${base}${route}?limit=${encodeURIComponent(text)}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: 'bad_request',
        parameter: 'limit',
        message: 'limit: expected an integer in decimal digits (0-9)',
      });
    },
  );

  it.each(ROUTES)('%s takes a limit in decimal digits', async (route) => {
    for (const text of ['1', '07']) expect((await fetch(`${base}${route}?limit=${text}`)).status).toBe(200);
  });
});

describe('GET /api/datagrams answers 1,000 datagrams at most', () => {
  it('whatever HISTORY_SIZE keeps: one answer is serialized in one go', () => {
    const query = datagramsQuery(100_000);
    expect(query.safeParse({ limit: '1000' }).success).toBe(true);
    expect(query.safeParse({ limit: '1001' }).success).toBe(false);
    // A smaller history bounds it first.
    expect(datagramsQuery(500).safeParse({ limit: '501' }).success).toBe(false);
    expect(datagramsQuery(500).parse({})).toEqual({ limit: 100 });
  });
});
