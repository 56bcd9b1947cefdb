/**
 * A socket thread that dies (a crash, its heap limit) leaves a monitor that
 * cannot hear: it must say so and judge no silence past what it had read,
 * rather than call every sender down. The real monitor and its real threads;
 * only the Worker class is wrapped, to hold on to the socket thread and end
 * it as a crash would.
 */
import type { Worker as NodeWorker, WorkerOptions } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SOCKET_THREAD_NAME } from '../../services/client/ingest/receiver.js';
import { captureLogs } from '../support/log-capture.js';
import { type LoopbackMonitor, startLoopbackMonitor } from '../support/monitor.js';
import { beat, eventually, sendUdp } from '../support/udp.js';

const socketThreads = vi.hoisted(() => [] as NodeWorker[]);
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class Worker extends real.Worker {
    constructor(file: string | URL, options?: WorkerOptions) {
      super(file, options);
      if (options?.name?.startsWith('udp-socket')) socketThreads.push(this);
    }
  }
  return { ...real, Worker, default: { ...real, Worker } };
});

describe('a socket thread that dies', () => {
  let m: LoopbackMonitor | undefined;
  afterEach(async () => {
    await m?.monitor.stop();
  });

  it('settles `died`, and no sender is judged late or down for the deafness', async () => {
    expect(SOCKET_THREAD_NAME.startsWith('udp-socket')).toBe(true);
    const logs = captureLogs('client');
    m = await startLoopbackMonitor(logs.logger, { LATE_GRACE: '100ms', DOWN_AFTER_MISSES: '2' });
    const { monitor, base } = m;
    await sendUdp(monitor.udp.port, [beat(0, { source: 'alive', intervalMs: 200 })]);
    await eventually(() => expect(monitor.tracker.view('alive', Date.now())?.state).toBe('up'));
    expect(socketThreads).toHaveLength(1);

    await sendUdp(monitor.udp.port, [beat(1, { source: 'alive', intervalMs: 200 })]);
    await eventually(() => expect(monitor.tracker.view('alive', Date.now())?.received).toBe(2));
    await (socketThreads[0] as NodeWorker).terminate();
    const err = await monitor.died;
    expect(err.message).toMatch(/^socket thread 0 exited \(code \d+\) without being asked to stop$/);

    // Two intervals and the grace, and more: down by now, were silence judged on the wall clock.
    await new Promise((r) => setTimeout(r, 1500));
    expect(monitor.tracker.view('alive', Date.now())?.state).toBe('up');
    expect(
      logs
        .events('state')
        .filter((l) => l.source === 'alive')
        .map((l) => l.to),
    ).toEqual(['up']);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
  });
});
