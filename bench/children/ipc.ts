/**
 * The parent <-> child protocol of the benchmark (over the fork IPC channel).
 * Parent -> child: a command; child -> parent: one reply per command, plus
 * `ready` once at start. Kept tiny: commands arrive only between load steps.
 */
export type Command = { cmd: 'probe' } | { cmd: 'flush' } | { cmd: 'stop' };

export interface Ready {
  type: 'ready';
  udpPort: number;
  /** 0 for the baseline, which has no HTTP side. */
  httpPort: number;
  /** What getRecvBufferSize() reports (Linux: twice what was granted). */
  recvBufferBytes: number;
  /** Milliseconds from the process's start to ready (the client only). */
  startupMs?: number;
}

export interface Probe {
  type: 'probe';
  /** Datagrams the receiver has handled so far. */
  received: number;
  /** process.cpuUsage() user + system, all threads, microseconds. */
  cpuUs: number;
  rssBytes: number;
  /** V8 heap: reserved (heapTotal) and in use; off-heap buffers (external). */
  heapTotalBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  /** Log lines the destination dropped (client only). */
  logDropped: number;
}

export type Reply = Ready | Probe | { type: 'flushed' } | { type: 'stopped' };

/** Child side: answer commands with `handle`; exits when the parent goes away. */
export function serve(handle: (command: Command) => Promise<Reply> | Reply): void {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('run me through bench/run.ts (needs an IPC channel)');
  process.on('message', async (command: Command) => {
    const reply = await handle(command);
    send(reply);
    if (reply.type === 'stopped') process.disconnect();
  });
  process.on('disconnect', () => process.exit(0));
}

export function reply(message: Reply): void {
  process.send?.(message);
}

export function memory(): Pick<Probe, 'rssBytes' | 'heapTotalBytes' | 'heapUsedBytes' | 'externalBytes'> {
  const m = process.memoryUsage();
  return {
    rssBytes: m.rss,
    heapTotalBytes: m.heapTotal,
    heapUsedBytes: m.heapUsed,
    externalBytes: m.external,
  };
}

export function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}
