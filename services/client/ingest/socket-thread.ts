/**
 * The socket's own thread (issue 12). It binds the UDP port, reads every
 * datagram as soon as the kernel has it, and hands them to the main thread
 * in batches: one transferred buffer every millisecond, or sooner when
 * BATCH_BYTES are full (64 KiB, some 300 datagrams: a few milliseconds of
 * the main thread's work, so an HTTP request waits at most that long). So whatever holds the main thread for a while (a
 * scrape, a page, a burst of state changes) never leaves the kernel's
 * receive buffer unread: the datagrams wait here, in order, and are decoded
 * and tracked when the main thread comes back to them. At most
 * MAX_IN_FLIGHT batches are handed over before the main thread says it has
 * handled one, so it never finds more than a few milliseconds of datagrams
 * queued for it at once and its HTTP requests get their turn in between,
 * however hard the network pushes. What waits here is bounded
 * (`queueBytes`): beyond it datagrams are dropped here and counted, as the
 * kernel would drop them.
 *
 * It imports only Node's own modules (it runs as a worker, from the compiled
 * .js or, in development, straight from this .ts). The batch layout, one
 * record per datagram:
 *   u8 family (4 | 6), u8 address length, address (ASCII), u16 port,
 *   u32 length, the datagram's bytes.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';

export interface SocketThreadOptions {
  host: string;
  port: number;
  recvBufferBytes: number;
  reusePort: boolean;
  queueBytes: number;
}

/** From the socket thread to the main thread. */
export type SocketThreadMessage =
  | { type: 'ready'; address: string; port: number; family: string; recvBufferBytes: number }
  | { type: 'bind-error'; message: string; code: string | null }
  | { type: 'batch'; buffer: ArrayBuffer; length: number; count: number; dropped: number }
  | { type: 'error'; message: string; code: string | null }
  | { type: 'stats'; loopP99Ms: number; loopMaxMs: number; queuedBytes: number }
  | { type: 'closed' };

/** From the main thread: a batch handled (its bytes leave the queue), a stats request, or stop. */
export type SocketThreadCommand = { type: 'ack'; length: number } | { type: 'stats' } | { type: 'stop' };

const BATCH_BYTES = 64 * 1024;
const FLUSH_MS = 1;
/** Batches handed to the main thread and not yet handled, at most. */
const MAX_IN_FLIGHT = 2;

function run(options: SocketThreadOptions): void {
  const port = parentPort;
  if (port === null) throw new Error('socket-thread runs as a worker');
  const post = (message: SocketThreadMessage, transfer: ArrayBuffer[] = []) =>
    port.postMessage(message, transfer);

  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let dropped = 0;
  let queuedBytes = 0;
  // The batch being filled; what is handed over is a copy of its used part, so the queue's
  // bound counts the memory it really holds, and this buffer is filled again at once.
  const buffer = new ArrayBuffer(BATCH_BYTES);
  const view = new DataView(buffer);
  const bytes = Buffer.from(buffer);
  let length = 0;
  let count = 0;
  let flushTimer: NodeJS.Timeout | null = null;

  // Batches waiting for the main thread to take them, oldest first from `head`.
  type Batch = { buffer: ArrayBuffer; length: number; count: number };
  let waiting: Batch[] = [];
  let head = 0;
  let inFlight = 0;

  function handOver(): void {
    while (inFlight < MAX_IN_FLIGHT && head < waiting.length) {
      const batch = waiting[head++] as Batch;
      inFlight++;
      post({ type: 'batch', ...batch, dropped }, [batch.buffer]);
    }
    if (head === waiting.length) {
      waiting = [];
      head = 0;
    }
  }

  function flush(): void {
    if (flushTimer !== null) {
      clearTimeout(flushTimer);
      flushTimer = null;
    }
    if (count === 0) return;
    queuedBytes += length;
    waiting.push({ buffer: buffer.slice(0, length), length, count });
    handOver();
    length = 0;
    count = 0;
  }

  function take(message: Buffer, remote: RemoteInfo): void {
    const address = remote.address;
    const size = 1 + 1 + address.length + 2 + 4 + message.length;
    if (queuedBytes + length + size > options.queueBytes) {
      dropped++;
      return;
    }
    if (length + size > BATCH_BYTES) flush();
    view.setUint8(length, remote.family === 'IPv6' ? 6 : 4);
    view.setUint8(length + 1, address.length);
    bytes.write(address, length + 2, 'latin1');
    let at = length + 2 + address.length;
    view.setUint16(at, remote.port);
    view.setUint32(at + 2, message.length);
    at += 6;
    message.copy(bytes, at);
    length = at + message.length;
    count++;
    flushTimer ??= setTimeout(flush, FLUSH_MS);
  }

  const socket = createSocket({
    type: isIPv6(options.host) ? 'udp6' : 'udp4',
    recvBufferSize: options.recvBufferBytes,
    reuseAddr: false,
    ...(options.reusePort ? { reusePort: true } : {}),
  });
  socket.on('message', take);
  socket.once('error', (err: NodeJS.ErrnoException) => {
    post({ type: 'bind-error', message: err.message, code: err.code ?? null });
    port.close();
  });
  socket.bind(options.port, options.host, () => {
    socket.removeAllListeners('error');
    socket.on('error', (err: NodeJS.ErrnoException) =>
      post({ type: 'error', message: err.message, code: err.code ?? null }),
    );
    const a = socket.address();
    post({
      type: 'ready',
      address: a.address,
      port: a.port,
      family: a.family,
      recvBufferBytes: socket.getRecvBufferSize(),
    });
  });

  port.on('message', (command: SocketThreadCommand) => {
    switch (command.type) {
      case 'ack':
        queuedBytes -= command.length;
        inFlight--;
        handOver();
        break;
      case 'stats': {
        const p99 = loop.percentile(99);
        post({
          type: 'stats',
          loopP99Ms: Number.isFinite(p99) ? p99 / 1e6 : 0,
          loopMaxMs: Number.isFinite(loop.max) ? loop.max / 1e6 : 0,
          queuedBytes,
        });
        loop.reset();
        break;
      }
      case 'stop':
        socket.close(() => {
          flush();
          // What is still queued goes over at once: the main thread handles it all before `closed`.
          for (const batch of waiting.slice(head)) post({ type: 'batch', ...batch, dropped }, [batch.buffer]);
          post({ type: 'closed' });
          port.close();
        });
        break;
    }
  });
}

if (parentPort !== null && workerData?.socketThread === true) run(workerData.options as SocketThreadOptions);
