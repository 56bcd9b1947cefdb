import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { startBeacon } from '../../services/server/beacon.js';
import { decodeDatagram } from '../../services/shared/protocol.js';
import { captureLogs } from '../support/log-capture.js';

const open = { maxBytes: 1232, keyring: new Map(), requireAuth: false };

async function listen(): Promise<{ socket: Socket; port: number; received: Buffer[] }> {
  const socket = createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (m) => received.push(m));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port, received };
}

const until = async (check: () => boolean, timeoutMs = 3000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('beacon over real UDP on loopback', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('sends a beat at once, then one per interval with consecutive seq, and a bye on stop', async () => {
    const sink = await listen();
    cleanups.push(() => {
      sink.socket.close();
    });
    const logs = captureLogs('server');
    const beacon = startBeacon(
      {
        intervalMs: 50,
        targets: [{ host: '127.0.0.1', port: sink.port }],
        source: 'unit-beacon',
        signer: null,
        sendBye: true,
      },
      logs.logger,
    );
    await until(() => sink.received.length >= 4);
    await beacon.stop();
    await until(() => sink.received.some((b) => b.includes('"bye"')));
    const decoded = sink.received.map((b) => decodeDatagram(b, open));
    const datagrams = decoded.map((d) => (d.ok ? d.datagram : null));
    expect(datagrams.every((d) => d !== null)).toBe(true);
    expect(datagrams.map((d) => d?.seq)).toEqual(datagrams.map((_, i) => i));
    expect(datagrams.at(-1)?.kind).toBe('bye');
    expect(new Set(datagrams.map((d) => d?.boot)).size).toBe(1);
    expect(datagrams[0]).toMatchObject({ v: 1, source: 'unit-beacon', intervalMs: 50 });
    expect(logs.events('send')).toHaveLength(datagrams.length);
    expect(logs.schemaProblems()).toEqual([]);
  });

  it('logs a failed lookup as an exception and keeps beating', async () => {
    const sink = await listen();
    cleanups.push(() => {
      sink.socket.close();
    });
    const logs = captureLogs('server');
    let calls = 0;
    const beacon = startBeacon(
      {
        intervalMs: 30,
        targets: [{ host: 'client', port: sink.port }],
        source: 's',
        signer: null,
        sendBye: false,
        // The first two lookups fail as if the client were not up yet.
        lookup: async () => {
          calls++;
          if (calls <= 2)
            throw Object.assign(new Error('getaddrinfo ENOTFOUND client'), { code: 'ENOTFOUND' });
          return { address: '127.0.0.1' };
        },
      },
      logs.logger,
    );
    cleanups.push(() => beacon.stop());
    await until(() => sink.received.length >= 2);
    expect(logs.events('exception').map((l) => l.reason)).toEqual(['dns_error', 'dns_error']);
    expect(beacon.stats().sendErrors.dns_error).toBe(2);
    expect(logs.schemaProblems()).toEqual([]);
  });
});
