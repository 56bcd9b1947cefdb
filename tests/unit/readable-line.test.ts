import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AcceptedDatagram } from '../../services/client/ingest/classify.js';
import { readableLineWriter } from '../../services/client/ingest/readable-line.js';
import { parseLogLine } from '../../services/shared/log-schema.js';
import { createLogger } from '../../services/shared/logger.js';

function datagram(over: Partial<AcceptedDatagram> = {}): AcceptedDatagram {
  return {
    outcome: 'accepted',
    address: '10.0.0.7',
    family: 'IPv4',
    port: 40123,
    size: 141,
    receivedAtMs: Date.parse('2026-12-03T06:00:00.012Z'),
    kind: 'beat',
    source: 'svc-a',
    boot: 'b1',
    seq: 42,
    sentAt: '2026-12-03T06:00:00.010Z',
    sentAtMs: Date.parse('2026-12-03T06:00:00.010Z'),
    intervalMs: 1000,
    text: '',
    verified: false,
    ...over,
  } as AcceptedDatagram;
}

// The line is put together by hand for speed: it must stay the line pino writes for the same fields.
describe('the readable line', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2026-12-03T06:00:00.020Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each([
    ['an ordinary beat', datagram()],
    ['a signed bye from IPv6', datagram({ kind: 'bye', address: 'fd00::1', family: 'IPv6', verified: true })],
    ['quotes and backslashes in the source', datagram({ source: 'a"b\\c' })],
    [
      'a fractional, negative delay (clocks apart)',
      datagram({ receivedAtMs: Date.parse('2026-12-03T06:00:00.010Z') - 2.5 }),
    ],
  ])('is, byte for byte, what pino writes: %s', (_, d) => {
    const lines: string[] = [];
    const log = createLogger({
      service: 'client',
      level: 'info',
      destination: { write: (l: string) => lines.push(l) },
    }).child({ event: 'readable' });
    readableLineWriter(log)(d);
    log.info({
      from: d.address,
      port: d.port,
      bytes: d.size,
      kind: d.kind,
      source: d.source,
      seq: d.seq,
      sentAt: d.sentAt,
      delayMs: d.receivedAtMs - d.sentAtMs,
      verified: d.verified,
    });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(lines[1]);
    const parsed = parseLogLine((lines[0] as string).trimEnd());
    expect(parsed).toMatchObject({ ok: true, value: { event: 'readable', source: d.source } });
  });

  it('is not written below the info level', () => {
    const lines: string[] = [];
    const log = createLogger({
      service: 'client',
      level: 'warn',
      destination: { write: (l: string) => lines.push(l) },
    }).child({ event: 'readable' });
    readableLineWriter(log)(datagram());
    expect(lines).toEqual([]);
  });
});
