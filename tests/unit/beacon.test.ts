import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { beaconRegistry } from '../../services/server/http.js';
import { type Beacon, type BeaconOptions, startBeacon } from '../../services/shared/beacon/beacon.js';
import { MAX_ADDRESSES_PER_TARGET } from '../../services/shared/beacon/targets.js';
import type { Lookup } from '../../services/shared/dns/system-lookup.js';
import { type Datagram, decodeDatagram } from '../../services/shared/protocol.js';
import { dnsStub, lookupVia } from '../support/dns-stub.js';
import { type CapturedLogs, captureLogs } from '../support/log-capture.js';

const open = { maxBytes: 1232, keyring: new Map(), requireAuth: false };

interface Sink {
  socket: Socket;
  address: string;
  port: number;
  received: Buffer[];
  datagrams(): Datagram[];
}

async function listen(address = '127.0.0.1', port = 0): Promise<Sink> {
  const socket = createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (m) => received.push(m));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, resolve);
  });
  return {
    socket,
    address,
    port: socket.address().port,
    received,
    datagrams: () =>
      received.map((b) => {
        const d = decodeDatagram(b, open);
        if (!d.ok) throw new Error(`undecodable datagram: ${b.toString()}`);
        return d.datagram;
      }),
  };
}

/** Receivers on 127.0.0.1 and 127.0.0.2 (both loopback on Linux) at one port, as two replicas of a service. */
async function replicas(): Promise<[Sink, Sink]> {
  for (let attempt = 0; ; attempt++) {
    const first = await listen('127.0.0.1');
    try {
      return [first, await listen('127.0.0.2', first.port)];
    } catch (err) {
      first.socket.close();
      if (attempt >= 5) throw err;
    }
  }
}

const until = async (check: () => boolean, timeoutMs = 3000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

const answer =
  (...addresses: string[]): Lookup =>
  async () =>
    addresses.map((address) => ({ address }));

const seqs = (sink: Sink) => sink.datagrams().map((d) => d.seq);

/** Until every datagram the beacon logged as sent to these sinks has arrived (loopback loses none). */
const delivered = (logs: CapturedLogs, ...list: Sink[]) =>
  until(() =>
    list.every(
      (sink) =>
        sink.received.length ===
        logs.events('send').filter((l) => l.address === sink.address && l.port === sink.port).length,
    ),
  );

describe('beacon over real UDP on loopback', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function sinks(...list: Sink[]): void {
    for (const s of list)
      cleanups.push(() => {
        s.socket.close();
      });
  }

  function beaconFor(options: Partial<BeaconOptions> & Pick<BeaconOptions, 'targets'>) {
    const logs = captureLogs('server');
    const beacon: Beacon = startBeacon(
      { intervalMs: 30, source: 'unit-beacon', signer: null, sendBye: false, ...options },
      logs.logger,
    );
    cleanups.push(() => beacon.stop());
    return { beacon, logs };
  }

  it('sends a beat at once, then one per interval with consecutive seq, and a bye on stop', async () => {
    const sink = await listen();
    sinks(sink);
    const { beacon, logs } = beaconFor({
      intervalMs: 50,
      targets: [{ host: '127.0.0.1', port: sink.port }],
      sendBye: true,
    });
    await until(() => sink.received.length >= 4);
    await beacon.stop();
    await until(() => sink.received.some((b) => b.includes('"bye"')));
    const datagrams = sink.datagrams();
    expect(datagrams.map((d) => d.seq)).toEqual(datagrams.map((_, i) => i));
    expect(datagrams.at(-1)?.kind).toBe('bye');
    expect(new Set(datagrams.map((d) => d.boot)).size).toBe(1);
    expect(datagrams[0]).toMatchObject({ v: 1, source: 'unit-beacon', intervalMs: 50 });
    expect(logs.events('send')).toHaveLength(datagrams.length);
    expect(logs.events('start')[0]?.targets).toEqual([`127.0.0.1:${sink.port}`]);
    expect(logs.schemaProblems()).toEqual([]);
  });

  it('sends every beat, and the bye, to every address a name resolves to', async () => {
    const [one, two] = await replicas();
    sinks(one, two);
    const { beacon, logs } = beaconFor({
      targets: [{ host: 'tasks.client', port: one.port }],
      sendBye: true,
      lookup: answer('127.0.0.2', '127.0.0.1'),
    });
    await until(() => one.received.length >= 4 && two.received.length >= 4);
    await beacon.stop();
    await delivered(logs, one, two);
    expect([one, two].every((s) => s.datagrams().at(-1)?.kind === 'bye')).toBe(true);
    expect(seqs(one)).toEqual(seqs(one).map((_, i) => i));
    expect(seqs(two)).toEqual(seqs(one));
    const sends = logs.events('send');
    expect(sends).toHaveLength(2 * seqs(one).length);
    for (const seq of seqs(one)) {
      expect(
        sends
          .filter((l) => l.seq === seq)
          .map((l) => l.address)
          .sort(),
      ).toEqual(['127.0.0.1', '127.0.0.2']);
    }
    expect(sends[0]).toMatchObject({ target: `tasks.client:${one.port}`, port: one.port });
    const stats = beacon.stats().targets[0];
    expect(stats?.addresses).toEqual(['127.0.0.1', '127.0.0.2']);
    const beats = seqs(one).length - 1;
    expect(Object.fromEntries(stats?.sent ?? [])).toEqual({
      '127.0.0.1': { beat: beats, bye: 1 },
      '127.0.0.2': { beat: beats, bye: 1 },
    });
    expect(logs.schemaProblems()).toEqual([]);
  });

  it('/first sends only to the first address of the answer', async () => {
    const [one, two] = await replicas();
    sinks(one, two);
    const { beacon, logs } = beaconFor({
      targets: [{ host: 'client', port: one.port, mode: 'first' }],
      lookup: answer('127.0.0.2', '127.0.0.1'),
    });
    await until(() => two.received.length >= 4);
    await beacon.stop();
    await delivered(logs, one, two);
    expect(one.received).toHaveLength(0);
    expect(seqs(two)).toEqual(seqs(two).map((_, i) => i));
    expect(new Set(logs.events('send').map((l) => l.address))).toEqual(new Set(['127.0.0.2']));
    expect(logs.events('send')[0]?.target).toBe(`client:${one.port}/first`);
    expect(logs.schemaProblems()).toEqual([]);
  });

  it('starts sending to an address that joins the answer (a scaled-up service)', async () => {
    const [one, two] = await replicas();
    sinks(one, two);
    let scaled = false;
    const { beacon, logs } = beaconFor({
      targets: [{ host: 'client', port: one.port }],
      lookup: async () =>
        (scaled ? ['127.0.0.1', '127.0.0.2'] : ['127.0.0.1']).map((address) => ({ address })),
    });
    await until(() => one.received.length >= 2);
    expect(two.received).toHaveLength(0);
    scaled = true;
    await until(() => two.received.length >= 2);
    await beacon.stop();
    await delivered(logs, one, two);
    // From the first beat .2 got, both got the same beats.
    const joined = seqs(two)[0] ?? -1;
    expect(seqs(one).filter((s) => s >= joined)).toEqual(seqs(two));
  });

  it('before the first answer, each datagram not sent is a dns_error with its seq; then it keeps beating', async () => {
    const sink = await listen();
    sinks(sink);
    let clientUp = false;
    let failures = 0;
    const { beacon, logs } = beaconFor({
      targets: [{ host: 'client', port: sink.port }],
      // Lookups fail as if the client were not up yet.
      lookup: async () => {
        if (clientUp) return [{ address: '127.0.0.1' }];
        failures++;
        throw Object.assign(new Error('getaddrinfo ENOTFOUND client'), { code: 'ENOTFOUND' });
      },
    });
    await until(() => logs.events('exception').length >= 2);
    clientUp = true;
    await until(() => sink.received.length >= 2);
    await beacon.stop();
    await delivered(logs, sink);
    const exceptions = logs.events('exception');
    for (const l of exceptions) {
      expect(l).toMatchObject({
        reason: 'dns_error',
        target: `client:${sink.port}`,
        detail: 'not sent: no address yet',
        err: { message: 'getaddrinfo ENOTFOUND client' },
      });
      expect(l).not.toHaveProperty('address');
    }
    // Every datagram has one fate: not sent (before the client was up), or received.
    const notSent = exceptions.map((l) => l.seq);
    expect([...notSent, ...seqs(sink)]).toEqual(Array.from({ length: beacon.stats().nextSeq }, (_, i) => i));
    expect(failures).toBeGreaterThanOrEqual(notSent.length);
    expect(beacon.stats().targets[0]?.errors).toEqual({ dns_error: notSent.length, send_error: 0 });
    expect(logs.schemaProblems()).toEqual([]);
  });

  it('when lookups fail later, logs dns_error and keeps sending to the last good answer', async () => {
    const [one, two] = await replicas();
    sinks(one, two);
    let calls = 0;
    let failures = 0;
    const { beacon, logs } = beaconFor({
      targets: [{ host: 'tasks.client', port: one.port }],
      lookup: async () => {
        calls++;
        if (calls === 1) return ['127.0.0.1', '127.0.0.2'].map((address) => ({ address }));
        failures++;
        throw Object.assign(new Error('getaddrinfo EAI_AGAIN tasks.client'), { code: 'EAI_AGAIN' });
      },
    });
    await until(() => failures >= 3 && one.received.length >= 5 && two.received.length >= 5);
    await beacon.stop();
    await delivered(logs, one, two);
    expect(seqs(two)).toEqual(seqs(one));
    expect(seqs(one)).toEqual(seqs(one).map((_, i) => i));
    const dnsErrors = logs.events('exception').filter((l) => l.reason === 'dns_error');
    expect(dnsErrors.length).toBeGreaterThanOrEqual(3);
    for (const l of dnsErrors) {
      expect(l).toMatchObject({
        target: `tasks.client:${one.port}`,
        detail: 'sending to the last good answer (2 addresses)',
        err: { message: 'getaddrinfo EAI_AGAIN tasks.client' },
      });
      expect(l).not.toHaveProperty('seq');
    }
    expect(beacon.stats().targets[0]?.errors.dns_error).toBe(dnsErrors.length);
    expect(logs.schemaProblems()).toEqual([]);
  });

  it('a send error on one address does not stop the others', async () => {
    const sink = await listen('127.0.0.1');
    sinks(sink);
    // Broadcast without SO_BROADCAST: the kernel refuses every send to it (EACCES).
    const { beacon, logs } = beaconFor({
      targets: [{ host: 'client', port: sink.port }],
      lookup: answer('255.255.255.255', '127.0.0.1'),
    });
    await until(() => sink.received.length >= 4);
    await beacon.stop();
    await delivered(logs, sink);
    const errors = logs.events('exception');
    expect(errors.length).toBeGreaterThanOrEqual(4);
    for (const l of errors) {
      expect(l).toMatchObject({
        reason: 'send_error',
        target: `client:${sink.port}`,
        address: '255.255.255.255',
        err: { code: 'EACCES' },
      });
    }
    // Every beat reached the good address, including those whose other send failed.
    expect(seqs(sink)).toEqual(seqs(sink).map((_, i) => i));
    expect(errors.map((l) => l.seq)).toEqual(expect.arrayContaining(seqs(sink).slice(0, 4)));
    const stats = beacon.stats().targets[0];
    expect(stats?.errors.send_error).toBe(errors.length);
    expect([...(stats?.sent.keys() ?? [])]).toEqual(['127.0.0.1']);
    expect(logs.schemaProblems()).toEqual([]);
  });

  it('several targets each get every beat', async () => {
    const [a, b] = [await listen(), await listen()];
    sinks(a, b);
    const { beacon, logs } = beaconFor({
      targets: [
        { host: '127.0.0.1', port: a.port },
        { host: 'peer', port: b.port, mode: 'first' },
      ],
      lookup: answer('127.0.0.1'),
    });
    await until(() => a.received.length >= 3 && b.received.length >= 3);
    await beacon.stop();
    await delivered(logs, a, b);
    expect(seqs(b)).toEqual(seqs(a));
    expect(beacon.stats().targets.map((t) => t.target)).toEqual([
      `127.0.0.1:${a.port}`,
      `peer:${b.port}/first`,
    ]);
  });

  it(`keeps the per-address counters bounded at ${MAX_ADDRESSES_PER_TARGET} per target as addresses churn`, async () => {
    // Loopback addresses nobody listens on: the sends still succeed.
    const block = (third: number, n: number) =>
      Array.from({ length: n }, (_, i) => `127.0.${third}.${i + 1}`);
    let answer = block(1, MAX_ADDRESSES_PER_TARGET + 6);
    const { beacon, logs } = beaconFor({
      targets: [{ host: 'tasks.client', port: 9 }],
      lookup: async () => answer.map((address) => ({ address })),
    });
    await until(() => (beacon.stats().targets[0]?.sent.size ?? 0) >= MAX_ADDRESSES_PER_TARGET);
    expect(beacon.stats().targets[0]?.addresses).toHaveLength(MAX_ADDRESSES_PER_TARGET);
    expect(beacon.stats().targets[0]?.droppedAddresses).toBe(6);
    answer = block(2, 10);
    await until(() => beacon.stats().targets[0]?.sent.has('127.0.2.10') === true);
    await beacon.stop();
    const stats = beacon.stats().targets[0];
    expect(stats?.addresses).toHaveLength(10);
    expect(stats?.droppedAddresses).toBe(0);
    expect(stats?.sent.size).toBe(MAX_ADDRESSES_PER_TARGET);
    // The newest addresses are kept, the least recently used forgotten.
    expect([...(stats?.sent.keys() ?? [])].filter((a) => a.startsWith('127.0.2.'))).toHaveLength(10);
    expect(logs.events('exception')).toEqual([]);
  });

  it('stop cancels a lookup waiting on a silent DNS server, and sends nothing for it', async () => {
    const stub = await dnsStub('silent');
    cleanups.push(() => stub.close());
    // Tries far longer than the test: only the stop's cancel can end the lookup.
    const { names, asked } = lookupVia(stub, '127.0.0.1');
    const outcomes: Promise<unknown>[] = [];
    const { beacon, logs } = beaconFor({
      targets: [{ host: 'client', port: 9 }],
      lookup: {
        lookup(host) {
          const answered = names.lookup(host);
          outcomes.push(answered.catch((err: { code?: string }) => err.code));
          return answered;
        },
        cancel: () => names.cancel(),
      },
    });
    await until(() => stub.names.length > 0);
    await beacon.stop();
    expect(outcomes).toHaveLength(1);
    await expect(outcomes[0]).resolves.toBe('ECANCELLED');
    expect(asked).toEqual([]);
    expect(beacon.stats().targets[0]?.sent.size).toBe(0);
    expect(logs.schemaProblems()).toEqual([]);
  });

  it('/metrics counts per target and address, and errors per target and reason', async () => {
    const [one, two] = await replicas();
    sinks(one, two);
    const { beacon, logs } = beaconFor({
      targets: [
        { host: 'tasks.client', port: one.port },
        { host: 'gone', port: one.port },
      ],
      sendBye: true,
      lookup: async (host) => {
        if (host === 'gone')
          throw Object.assign(new Error('getaddrinfo ENOTFOUND gone'), { code: 'ENOTFOUND' });
        return ['127.0.0.1', '127.0.0.2', '255.255.255.255'].map((address) => ({ address }));
      },
    });
    await until(() => one.received.length >= 3);
    await beacon.stop();
    await delivered(logs, one, two);
    const text = await beaconRegistry(beacon, 30).metrics();
    const datagrams = beacon.stats().nextSeq;
    expect(seqs(one)).toHaveLength(datagrams);
    const beats = datagrams - 1;
    const t = `tasks.client:${one.port}`;
    for (const address of ['127.0.0.1', '127.0.0.2']) {
      expect(text).toContain(
        `beacon_datagrams_sent_total{target="${t}",address="${address}",kind="beat"} ${beats}`,
      );
      expect(text).toContain(`beacon_datagrams_sent_total{target="${t}",address="${address}",kind="bye"} 1`);
    }
    expect(text).not.toContain('address="255.255.255.255"');
    expect(text).toContain(`beacon_send_errors_total{target="${t}",reason="send_error"} ${beats + 1}`);
    expect(text).toContain(`beacon_send_errors_total{target="${t}",reason="dns_error"} 0`);
    expect(text).toContain(
      `beacon_send_errors_total{target="gone:${one.port}",reason="dns_error"} ${beats + 1}`,
    );
    expect(text).toContain('beacon_send_errors_total{target="",reason="socket_error"} 0');
    expect(text).toContain(`beacon_target_addresses{target="${t}"} 3`);
    expect(text).toContain(`beacon_target_addresses{target="gone:${one.port}"} 0`);
    expect(text).toContain(`beacon_target_addresses_dropped{target="${t}"} 0`);
  });
});
