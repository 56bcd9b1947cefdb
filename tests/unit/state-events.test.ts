import { afterEach, describe, expect, it } from 'vitest';
import { startBeacon } from '../../services/shared/beacon/beacon.js';
import { captureLogs } from '../support/log-capture.js';
import { type LoopbackMonitor, startLoopbackMonitor } from '../support/monitor.js';
import { openEventStream, type SseReader } from '../support/sse.js';
import { eventually } from '../support/udp.js';

// Every state change reaches the live stream and the log alike, whichever
// path found it: a datagram's arrival (first_beat, bye, restart) or the
// liveness clock (late, down).
describe('live state events', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setUp(): Promise<{
    m: LoopbackMonitor;
    stream: SseReader;
    logs: ReturnType<typeof captureLogs>;
  }> {
    const logs = captureLogs('client');
    const m = await startLoopbackMonitor(logs.logger, { LATE_GRACE: '100ms', DOWN_AFTER_MISSES: '2' });
    cleanups.push(() => m.monitor.stop());
    const stream = await openEventStream(`${m.base}/api/events`);
    cleanups.push(() => stream.close());
    return { m, stream, logs };
  }

  // Beats every 400 ms: the late window (N - 1 = 1 interval) is longer than the 250 ms liveness tick,
  // so no tick can jump from up to down over it.
  function beaconTo(port: number, boot: string, sendBye = true) {
    const serverLogs = captureLogs('server');
    return startBeacon(
      {
        intervalMs: 400,
        targets: [{ host: '127.0.0.1', port }],
        source: 'live-beacon',
        boot,
        signer: null,
        sendBye,
      },
      serverLogs.logger,
    );
  }

  const states = (stream: SseReader) =>
    stream.events
      .filter((e) => e.type === 'state')
      .map((e) => e.data as { source: string; from: string | null; to: string; reason: string })
      .filter((c) => c.source === 'live-beacon')
      .map((c) => `${c.from ?? 'new'}->${c.to}:${c.reason}`);

  it('carries first_beat, bye and restart, as the log does', async () => {
    const { m, stream, logs } = await setUp();
    const first = beaconTo(m.monitor.udp.port, 'boot-a');
    await eventually(() => expect(states(stream)).toEqual(['new->up:first_beat']));
    await first.stop();
    await eventually(() => expect(states(stream)).toEqual(['new->up:first_beat', 'up->stopped:bye']));
    const second = beaconTo(m.monitor.udp.port, 'boot-b');
    cleanups.push(() => second.stop());
    await eventually(() =>
      expect(states(stream)).toEqual(['new->up:first_beat', 'up->stopped:bye', 'stopped->up:restart']),
    );
    const logged = logs
      .events('state')
      .filter((l) => l.source === 'live-beacon')
      .map((l) => `${l.from ?? 'new'}->${l.to}:${l.reason}`);
    expect(logged).toEqual(states(stream));
    expect(logs.schemaProblems()).toEqual([]);
  });

  it('carries late and down from the liveness clock', async () => {
    const { m, stream } = await setUp();
    const beacon = beaconTo(m.monitor.udp.port, 'boot-c', false);
    await eventually(() => expect(states(stream)).toEqual(['new->up:first_beat']));
    // A crash: no bye. The sender goes late, then down, on the monitor's clock.
    await beacon.stop();
    await eventually(
      () => expect(states(stream)).toEqual(['new->up:first_beat', 'up->late:no_beat', 'late->down:missed_2']),
      5000,
    );
  });

  it('sends the page its senders as the API views them, the most urgent first, with the counts', async () => {
    const { m, stream } = await setUp();
    const beacon = beaconTo(m.monitor.udp.port, 'boot-d', false);
    cleanups.push(() => beacon.stop());
    const snapshots = () =>
      stream.events
        .filter((e) => e.type === 'senders')
        .map((e) => e.data as Array<{ source: string; state: string }>);
    await eventually(() =>
      expect(
        snapshots()
          .at(-1)
          ?.map((s) => s.source),
      ).toEqual(['live-beacon']),
    );
    // Read after the snapshot: the API's view of the sender has the same fields (the bar included).
    const listed = (await (await fetch(`${m.base}/api/senders?heartbeats=true`)).json()) as Array<
      Record<string, unknown>
    >;
    const last = snapshots().at(-1)?.[0] as Record<string, unknown>;
    expect(Object.keys(last).sort()).toEqual(Object.keys(listed[0] as object).sort());
    expect(last.state).toBe('up');
    const counts = stream.events.filter((e) => e.type === 'counts').at(-1)?.data as Record<string, number>;
    expect(counts.up).toBe(1);
  });
});
