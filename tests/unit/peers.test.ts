import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { startPeerBeacon } from '../../services/client/peers/peer-beacon.js';
import { captureLogs } from '../support/log-capture.js';
import { freshDataDir, type LoopbackMonitor, startLoopbackMonitor } from '../support/monitor.js';
import { beat, eventually, sendUdp } from '../support/udp.js';

/** A UDP socket on `host`, counting what it receives. */
async function startUdpListener(host: string, port = 0) {
  const socket = createSocket('udp4');
  let count = 0;
  socket.on('message', () => count++);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, resolve);
  });
  return { host, port: socket.address().port, received: () => count, close: () => socket.close() };
}

type Listener = Awaited<ReturnType<typeof startUdpListener>>;

/**
 * A peer beacon from `own` (this host's addresses `ownAddresses`) whose peer list names both listeners:
 * beats reach `other`, and never `itself` (nor is any exception logged). Closes both listeners.
 */
async function expectBeatsOnlyTo(
  other: Listener,
  itself: Listener,
  own: { address: string; port: number },
  ownAddresses: string[],
): Promise<void> {
  const logs = captureLogs('client');
  const beacon = startPeerBeacon(
    {
      peers: [
        { host: itself.host, port: itself.port },
        { host: other.host, port: other.port },
      ],
      intervalMs: 50,
      source: 'me',
      signer: null,
      own,
      ownAddresses: new Set(ownAddresses),
    },
    logs.logger,
  );
  try {
    await eventually(() => expect(other.received()).toBeGreaterThanOrEqual(4));
    expect(itself.received()).toBe(0);
    expect(logs.events('exception')).toEqual([]);
  } finally {
    await beacon?.stop();
    itself.close();
    other.close();
  }
}

describe('monitors that watch each other', () => {
  const monitors: LoopbackMonitor[] = [];
  afterEach(async () => {
    for (const m of monitors.splice(0)) await m.monitor.stop();
  });

  it('leaves its own addresses out of a peer name, and a name of only its own is no DNS error', async () => {
    const logs = captureLogs('client');
    let answer = [{ address: '127.0.0.1' }, { address: '127.0.0.2' }];
    let lookups = 0;
    const peer = await startUdpListener('127.0.0.2');
    const beacon = startPeerBeacon(
      {
        peers: [{ host: 'tasks.monitor', port: peer.port }],
        intervalMs: 100,
        source: 'me',
        signer: null,
        lookup: async () => {
          lookups++;
          return answer;
        },
        own: { address: '0.0.0.0', port: peer.port },
        ownAddresses: new Set(['127.0.0.1']),
      },
      logs.logger,
    );
    try {
      await eventually(() => expect(peer.received()).toBeGreaterThan(0));
      // The other monitor is gone: the name names only this one.
      answer = [{ address: '127.0.0.1' }];
      // Two lookups since: every beat from the second on goes by the new answer (whatever the machine's load).
      const asked = lookups;
      await eventually(() => expect(lookups).toBeGreaterThanOrEqual(asked + 2));
      const before = peer.received();
      await new Promise((r) => setTimeout(r, 400));
      expect(peer.received()).toBe(before);
      // The beacon went on all along: the other monitor back in the answer, its beats come again.
      answer = [{ address: '127.0.0.1' }, { address: '127.0.0.2' }];
      await eventually(() => expect(peer.received()).toBeGreaterThan(before));
      expect(logs.events('exception')).toEqual([]);
      expect(logs.events('send').every((l) => l.address === '127.0.0.2')).toBe(true);
    } finally {
      await beacon?.stop();
      peer.close();
    }
  });

  it('leaves out an IP address of its own on its own port, and keeps one on another port (another monitor here)', async () => {
    const itself = await startUdpListener('127.0.0.1');
    const other = await startUdpListener('127.0.0.1');
    await expectBeatsOnlyTo(other, itself, { address: '0.0.0.0', port: itself.port }, ['127.0.0.1']);
  });

  it('expects its peers, named in a list every monitor shares, but not itself', async () => {
    const a = await startLoopbackMonitor(captureLogs('client').logger, {
      MONITOR_NAME: 'monitor-a',
      EXPECTED_SENDERS: 'monitor-a=1s,monitor-b=1s',
    });
    monitors.push(a);
    expect(a.monitor.tracker.view('monitor-b', Date.now())).toMatchObject({
      state: 'pending',
      declared: true,
    });
    expect(a.monitor.tracker.view('monitor-a', Date.now())).toBeUndefined();
  });

  it('bound to one address, leaves out only that address on its port: another address here is another monitor', async () => {
    const itself = await startUdpListener('127.0.0.2');
    const other = await startUdpListener('127.0.0.1', itself.port);
    await expectBeatsOnlyTo(other, itself, { address: '127.0.0.2', port: itself.port }, [
      '127.0.0.1',
      '127.0.0.2',
    ]);
  });

  it('never tracks its own beats come back through an address that reaches it (127.0.1.1): an exception `self`; a sender of its name with another boot is tracked', async () => {
    // A free port, taken at once by the monitor: its peer list must name it before it starts.
    const probe = createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, '0.0.0.0', resolve));
    const port = probe.address().port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const logs = captureLogs('client');
    // Bound to every address: 127.0.1.1 reaches it, and is none of this host's interfaces'.
    const a = await startLoopbackMonitor(logs.logger, {
      MONITOR_NAME: 'monitor-a',
      UDP_HOST: '0.0.0.0',
      UDP_PORT: String(port),
      PEER_MONITORS: `127.0.1.1:${port}`,
      PEER_INTERVAL: '100ms',
    });
    monitors.push(a);
    await eventually(() =>
      expect(a.monitor.ingest.stats.exceptions.get('self') ?? 0).toBeGreaterThanOrEqual(3),
    );
    expect(a.monitor.tracker.view('monitor-a', Date.now())).toBeUndefined();
    // A beacon on this host whose source is the same name (the host name, both defaults) is another sender.
    await sendUdp(port, [beat(0, { source: 'monitor-a', boot: 'a-beacon-here' })]);
    await eventually(() => expect(a.monitor.tracker.view('monitor-a', Date.now())?.state).toBe('up'));
    expect(logs.schemaProblems()).toEqual([]);
  });

  it('forgets a stored record of its own name (an earlier release, or another name, stored it), and keeps the others', async () => {
    const env = { MONITOR_NAME: 'monitor-a', DATA_DIR: freshDataDir() };
    // The same state file, written by a monitor of another name that heard from monitor-a.
    const before = await startLoopbackMonitor(captureLogs('client').logger, {
      ...env,
      MONITOR_NAME: 'earlier',
    });
    try {
      await sendUdp(before.monitor.udp.port, [
        beat(0, { source: 'monitor-a' }),
        beat(0, { source: 'monitor-b' }),
      ]);
      await eventually(() => expect(before.monitor.tracker.stateCounts().up).toBe(2));
    } finally {
      await before.monitor.stop();
    }
    const after = await startLoopbackMonitor(captureLogs('client').logger, env);
    monitors.push(after);
    expect(after.monitor.tracker.view('monitor-a', Date.now())).toBeUndefined();
    expect(after.monitor.tracker.view('monitor-b', Date.now())?.state).toBe('up');
  });

  it('tracks its peer like any sender: up while it beats, stopped after its clean stop (bye)', async () => {
    const a = await startLoopbackMonitor(captureLogs('client').logger, {
      MONITOR_NAME: 'monitor-a',
      LATE_GRACE: '100ms',
    });
    monitors.push(a);
    const bEnv = {
      MONITOR_NAME: 'monitor-b',
      PEER_MONITORS: `127.0.0.1:${a.monitor.udp.port}`,
      PEER_INTERVAL: '200ms',
    };
    const b = await startLoopbackMonitor(captureLogs('client').logger, bEnv);
    await eventually(() => expect(a.monitor.tracker.view('monitor-b', Date.now())?.state).toBe('up'), 3000);
    // A clean stop says bye.
    await b.monitor.stop();
    await eventually(
      () => expect(a.monitor.tracker.view('monitor-b', Date.now())?.state).toBe('stopped'),
      3000,
    );
  });

  it('signs its beats with its first key, so a peer that requires authentication accepts them', async () => {
    const keyring = new Map([
      ['k1', randomBytes(32)],
      ['k2', randomBytes(32)],
    ]);
    const auth = { REQUIRE_AUTH: 'true', AUTH_KEY_FILES: 'k1=/run/secrets/k1,k2=/run/secrets/k2' };
    const aLogs = captureLogs('client');
    const a = await startLoopbackMonitor(aLogs.logger, { ...auth, MONITOR_NAME: 'monitor-a' }, { keyring });
    monitors.push(a);
    const bEnv = {
      ...auth,
      MONITOR_NAME: 'monitor-b',
      PEER_MONITORS: `127.0.0.1:${a.monitor.udp.port}`,
      PEER_INTERVAL: '200ms',
    };
    monitors.push(await startLoopbackMonitor(captureLogs('client').logger, bEnv, { keyring }));
    await eventually(() => expect(a.monitor.tracker.view('monitor-b', Date.now())?.state).toBe('up'), 3000);
    const beats = aLogs.events('readable').filter((l) => l.source === 'monitor-b');
    expect(beats.length).toBeGreaterThan(0);
    expect(beats.every((l) => l.verified === true)).toBe(true);
    expect(aLogs.events('exception')).toEqual([]);
  });
});
