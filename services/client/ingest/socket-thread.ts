/**
 * The socket's own thread (issue 12). It loads its code as soon as it is
 * made, and binds the UDP port when told to (so a monitor's start loads it
 * while it reads its state file, and binds only once that is back in the
 * tracker). Then it reads every
 * datagram as soon as the kernel has it, classifies it there (allowlist,
 * unwrap, and while the thread has time to spare the JSON's decode and
 * validation: classify.ts, decode-split.ts) and hands
 * the results to the tracking thread in batches (classified-batch.ts): one
 * every millisecond, or sooner when BATCH_DATAGRAMS are in. So the work a
 * datagram costs before it reaches a sender's state is done beside the
 * thread that tracks and serves HTTP, and whatever holds that thread for a
 * while (a scrape, a page, a burst of state changes) never leaves the
 * kernel's receive buffer unread: the datagrams wait here, in order, and are
 * tracked when the tracking thread comes back to them. At most MAX_IN_FLIGHT
 * batches are handed over before it has handled one (it counts them in
 * shared memory: read here with every datagram, and every HANDLED_POLL_MS
 * while batches are out; a message each would cost both threads a wake-up
 * per batch), so it never
 * finds more than a few milliseconds of datagrams queued for it at once.
 * (That alone does not give its HTTP requests a turn: this thread hands
 * over the next batch as soon as one is handled, and a MessagePort delivers
 * what keeps coming without returning to the event loop. So the main thread
 * handles batches in turns of its own: shared/turns.ts.) What waits here is bounded
 * (`queueBytes`, counted as each datagram's size plus RECORD_OVERHEAD): beyond it datagrams are dropped here and counted, as the
 * kernel would drop them.
 *
 * A datagram that finds the thread idle makes it sleep UDP_COALESCE before it
 * reads on (read-coalescing.ts), so spread-out datagrams are read a few at a
 * time instead of each with a wake-up of its own.
 *
 * The thread also publishes its progress in shared memory
 * (thread-progress.ts): its drops; its watermark, a time the oldest datagram
 * not yet handled by the tracking thread arrived no earlier than; and how far
 * it has read (read-through.ts). Liveness is judged no later than either, so
 * neither a tracking thread that falls behind nor a socket thread that gets
 * no core calls a sender late whose beat is waiting here or in the kernel.
 *
 * This file imports only Node's own modules: it runs as a worker, from the
 * compiled .js or, in development and tests, straight from the .ts, and
 * there it first teaches Node to find the .ts behind each `./x.js` import
 * of the classifier it loads.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { registerHooks } from 'node:module';
import { isIPv6 } from 'node:net';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { LoopDelay } from '../../shared/loop-delay.js';
import type { ClassifiedBatch } from './classified-batch.js';
import type { ClassifierSettings } from './classify.js';

export interface SocketThreadOptions {
  host: string;
  recvBufferBytes: number;
  reusePort: boolean;
  queueBytes: number;
  /** UDP_COALESCE: how long a datagram that found the thread idle lets the next ones gather (0: not at all). */
  coalesceMs: number;
  classifier: ClassifierSettings;
  /** Busy this share of its time or more, the thread hands JSON over undecoded (decode-split.ts). */
  handOverBusyShare: number;
  /** The thread's progress cells (thread-progress.ts): written by this thread, but for `handled`. */
  progress: SharedArrayBuffer;
  /**
   * Where `stats` is asked and answered: a channel of its own, so that an
   * answer never waits behind the batches handed over before it (a scrape
   * would wait for them all).
   */
  statsPort: MessagePort;
}

/** From the socket thread to the main thread. */
export type SocketThreadMessage =
  | { type: 'ready'; address: string; port: number; family: string; recvBufferBytes: number }
  | { type: 'bind-error'; message: string; code: string | null }
  | { type: 'batch'; batch: ClassifiedBatch }
  /** `stack`: where it was thrown on this thread, when it was (the main thread's error takes it). */
  | { type: 'error'; message: string; code: string | null; stack?: string }
  | { type: 'closed' }
  /** Its code is loaded and it waits for `bind`. */
  | { type: 'loaded' };

/**
 * On the stats port: the answer to a request (any message). The receiver
 * merges its threads' answers into one of the same shape (the worst loop, the
 * sum of the bytes).
 */
export interface SocketThreadStats {
  /** Event-loop delay since the previous answer. */
  loop: LoopDelay;
  /** Bytes read and not yet handled. */
  queuedBytes: number;
}

/**
 * From the main thread: bind (once; `port` 0: any free one), or stop.
 * (Batches handled are counted in shared memory, stats asked on their own port.)
 */
export type SocketThreadCommand = { type: 'bind'; port: number } | { type: 'stop' };

/** Datagrams per batch at most (~2 ms of the tracking thread's work at most). */
const BATCH_DATAGRAMS = 512;
const FLUSH_MS = 1;
/** Batches handed to the main thread and not yet handled, at most (~20 ms of datagrams). */
const MAX_IN_FLIGHT = 8;
/** While batches are handed over, how often the thread looks whether they were handled, when no datagram makes it look. */
const HANDLED_POLL_MS = 1;

/** `./x.js` imports find `./x.ts` when this runs from the sources (Node strips the types). */
function resolveSourceImports(): void {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (!(specifier.startsWith('.') && specifier.endsWith('.js'))) return nextResolve(specifier, context);
      try {
        return nextResolve(specifier, context);
      } catch {
        return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
      }
    },
  });
}

async function run(options: SocketThreadOptions): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('socket-thread runs as a worker');
  if (import.meta.url.endsWith('.ts')) resolveSourceImports();
  const [
    { classifyFramed, createFramer },
    { createBatchWriter, RECORD_OVERHEAD, transferables },
    { decodeSplit },
    { threadProgress },
    { readCoalescing, threadClock },
    { monitorLoopDelay },
    { READ_THROUGH_PERIOD_MS, readThrough },
  ] = await Promise.all([
    import('./classify.js'),
    import('./classified-batch.js'),
    import('./decode-split.js'),
    import('./thread-progress.js'),
    import('./read-coalescing.js'),
    import('../../shared/loop-delay.js'),
    import('./read-through.js'),
  ]);
  const frame = createFramer(options.classifier);
  const post = (message: SocketThreadMessage, transfer: ArrayBuffer[] = []) =>
    port.postMessage(message, transfer);

  const loop = monitorLoopDelay();
  const progress = threadProgress(options.progress);
  progress.setWatermark(Number.POSITIVE_INFINITY);
  // Before the socket is bound: nothing can have arrived before its first vouch.
  const reads = readThrough(progress.setReadThrough, Date.now);
  const vouchTimer = setInterval(reads.turn, READ_THROUGH_PERIOD_MS);
  // It does not keep the thread alive: the socket does.
  vouchTimer.unref();
  let pollEndAwaited = false;
  const endOfPoll = () => {
    pollEndAwaited = false;
    reads.endOfPoll();
  };
  const clock = threadClock();
  const coalescing = readCoalescing(options.coalesceMs, () => progress.addWakeup(), clock);
  const split = decodeSplit(clock, options.handOverBusyShare);
  let queuedBytes = 0;
  const writer = createBatchWriter(BATCH_DATAGRAMS);
  /** Bytes (as the queue counts them) of the batch being filled, and when its first datagram arrived at the earliest. */
  let fillingBytes = 0;
  let fillingFromMs = Number.POSITIVE_INFINITY;
  let flushTimer: NodeJS.Timeout | null = null;
  /** The batch being filled was due (FLUSH_MS) while MAX_IN_FLIGHT were in flight: it goes when one is handled. */
  let heldBack = false;

  // Each batch is first waiting here, then handed over (in flight) until handled; each moves once.
  type Batch = { batch: ClassifiedBatch; bytes: number; fromMs: number };
  // In flight, only what the queue and the watermark need: the batch itself went over
  // (kept here, its strings lived on until the tracking thread had handled it).
  type Handed = Omit<Batch, 'batch'>;
  const waiting: Batch[] = [];
  const inFlight: Handed[] = [];
  /** Batches taken off inFlight as handled, since start (the tracking thread's count, as last read). */
  let released = 0;
  let pollTimer: NodeJS.Timeout | null = null;

  /** The oldest datagram not yet handled: in flight, else waiting, else in the batch being filled. */
  function updateWatermark(): void {
    progress.setWatermark(inFlight[0]?.fromMs ?? waiting[0]?.fromMs ?? fillingFromMs);
  }

  function send({ batch, bytes, fromMs }: Batch): void {
    inFlight.push({ bytes, fromMs });
    post({ type: 'batch', batch }, transferables(batch));
    if (pollTimer === null) pollTimer = setTimeout(poll, HANDLED_POLL_MS);
  }

  /** The batches the tracking thread handled since the last look leave the queue; the next ones go over. */
  function release(): void {
    const handled = progress.handled();
    if (handled === released) return;
    for (; released < handled; released++) queuedBytes -= inFlight.shift()?.bytes ?? 0;
    handOver();
    if (heldBack && inFlight.length < MAX_IN_FLIGHT) flush();
    updateWatermark();
  }

  function poll(): void {
    pollTimer = null;
    release(); // which may hand over more, and look again
    if (inFlight.length > 0 && pollTimer === null) pollTimer = setTimeout(poll, HANDLED_POLL_MS);
  }

  function handOver(): void {
    while (inFlight.length < MAX_IN_FLIGHT && waiting.length > 0) send(waiting.shift() as Batch);
  }

  /**
   * The batch being filled goes over, or waits its turn. But while the
   * tracking thread holds MAX_IN_FLIGHT batches, one that is not full would
   * only wait: it fills on, and goes once one of them is handled (release()).
   * Cut every FLUSH_MS, a wait of a few datagrams a batch would take a
   * batch's arrays (sized for BATCH_DATAGRAMS, ~36 KiB) for each few, far
   * beyond what UDP_QUEUE_BYTES counts of them; full, about 72 bytes a
   * datagram, within its RECORD_OVERHEAD. `force`: at the stop, whatever.
   */
  function flush(force = false): void {
    if (flushTimer !== null) {
      clearTimeout(flushTimer);
      flushTimer = null;
    }
    if (writer.count === 0) return;
    heldBack = !force && !writer.full && inFlight.length >= MAX_IN_FLIGHT;
    if (heldBack) return;
    queuedBytes += fillingBytes;
    waiting.push({ batch: writer.take(), bytes: fillingBytes, fromMs: fillingFromMs });
    fillingBytes = 0;
    fillingFromMs = Number.POSITIVE_INFINITY;
    handOver();
    updateWatermark();
  }

  function take(message: Buffer, remote: RemoteInfo): void {
    const receivedAtMs = Date.now();
    const arrivedFromMs = reads.read(receivedAtMs);
    // Only before a poll's first datagram can the loop have waited for input (read-coalescing.ts).
    const firstOfPoll = !pollEndAwaited;
    if (firstOfPoll) {
      pollEndAwaited = true;
      setImmediate(endOfPoll); // right after this poll of the loop
    }
    try {
      queue(message, remote, receivedAtMs, arrivedFromMs);
    } catch (err) {
      // A datagram the classifier cannot take (a bug: no input should throw) is reported as an error,
      // counted and rate-limited there. Uncaught, it would end the thread, and the monitor with it.
      const e = err as Error;
      const detail = `a datagram could not be classified: ${e.message}`;
      post({
        type: 'error',
        message: detail,
        code: null,
        ...(e.stack === undefined ? {} : { stack: e.stack }),
      });
    }
    if (firstOfPoll) coalescing.handled();
  }

  /** `arrivedFromMs`: it arrived no earlier (read-through.ts); the watermark holds judgement there. */
  function queue(message: Buffer, remote: RemoteInfo, receivedAtMs: number, arrivedFromMs: number): void {
    release();
    const framed = frame(message, remote, receivedAtMs);
    // Its JSON decoded here, or by the tracking thread while this one is busy (and the queue not half full).
    const halfFull = 2 * (queuedBytes + fillingBytes) > options.queueBytes;
    const c = framed.outcome === 'framed' && split.decodeHere(halfFull) ? classifyFramed(framed) : framed;
    // An oversize datagram's record keeps none of its bytes (its reason and size): counted as the record
    // alone, it is reported as `oversize` like any other, never dropped here for its size (nor the watermark
    // held for it). Config makes each thread's share hold the largest datagram accepted (config.ts).
    const size = RECORD_OVERHEAD + (message.length > options.classifier.maxBytes ? 0 : message.length);
    if (queuedBytes + fillingBytes + size > options.queueBytes) {
      progress.addDrop();
      return;
    }
    if (writer.count === 0) {
      fillingFromMs = arrivedFromMs;
      if (inFlight.length === 0 && waiting.length === 0) progress.setWatermark(arrivedFromMs);
    }
    writer.add(c);
    fillingBytes += size;
    if (writer.full) flush();
    else flushTimer ??= setTimeout(flush, FLUSH_MS);
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
  const bind = (portNumber: number) =>
    socket.bind(portNumber, options.host, () => {
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

  const { statsPort } = options;
  statsPort.on('message', () => {
    // The batch being filled counts too: while the main thread is behind it may hold 512 (flush()).
    statsPort.postMessage({
      loop: loop.read(),
      queuedBytes: queuedBytes + fillingBytes,
    } satisfies SocketThreadStats);
  });
  // It does not keep the thread alive: the socket does.
  statsPort.unref();

  // Commands sent while the code above loaded wait for this listener.
  port.on('message', (command: SocketThreadCommand) => {
    switch (command.type) {
      case 'bind':
        bind(command.port);
        break;
      case 'stop':
        clearInterval(vouchTimer);
        socket.close(() => {
          flush(true);
          // What is still queued goes over at once: the main thread handles it all before `closed`.
          while (waiting.length > 0) send(waiting.shift() as Batch);
          post({ type: 'closed' });
          statsPort.close();
          port.close();
        });
        break;
    }
  });
  post({ type: 'loaded' });
}

// A failure to start rejects: unhandled, it ends the worker, and the main thread sees its error.
if (parentPort !== null && workerData?.socketThread === true)
  void run(workerData.options as SocketThreadOptions);
