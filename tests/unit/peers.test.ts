import { afterEach, describe, expect, it } from 'vitest';
import { withoutOwn } from '../../services/client/peers/peer-beacon.js';
import { captureLogs } from '../support/log-capture.js';
import { type LoopbackMonitor, startLoopbackMonitor } from '../support/monitor.js';
import { eventually } from '../support/udp.js';

describe('monitors that watch each other', () => {
  const monitors: LoopbackMonitor[] = [];
  afterEach(async () => {
    for (const m of monitors.splice(0)) await m.monitor.stop();
  });

  it('leaves its own addresses out of a peer name', async () => {
    const lookup = withoutOwn(
      async () => [{ address: '10.0.0.1' }, { address: '10.0.0.2' }],
      new Set(['10.0.0.2']),
    );
    expect(await lookup('tasks.monitor')).toEqual([{ address: '10.0.0.1' }]);
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
});
