/**
 * The UDP socket: bound and read on threads of its own (socket-thread.ts),
 * `threads` of them sharing the port with SO_REUSEPORT (the kernel spreads
 * senders across them by address and port), each datagram classified there
 * (classify.ts) or, by a busy thread, framed there and decoded here
 * (decode-split.ts), and every datagram (readable) and every socket error
 * (exception) handed to the caller on the main thread, in the order each
 * thread read them, in turns of at most TURN_MS (shared/turns.ts). Nothing
 * else.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { mainTurns, type Turns } from '../../shared/turns.js';
import { readBatch } from './classified-batch.js';
import { type Classified, type ClassifierSettings, decoded } from './classify.js';
import { HAND_OVER_BUSY_SHARE } from './decode-split.js';
import type {
  SocketThreadCommand,
  SocketThreadMessage,
  SocketThreadOptions,
  SocketThreadStats,
} from './socket-thread.js';
import { threadProgress } from './thread-progress.js';

export interface ReceiverOptions {
  host: string;
  port: number;
  recvBufferBytes: number;
  /** UDP_WORKERS: socket threads (1: no SO_REUSEPORT). */
  threads: number;
  /** UDP_QUEUE_BYTES: datagrams read but not yet handled, at most, across the threads. */
  queueBytes: number;
  /** UDP_COALESCE: how long a datagram that found a socket thread idle lets the next ones gather. */
  coalesceMs: number;
  classifier: ClassifierSettings;
  /** HAND_OVER_BUSY_SHARE unless given (tests: 0 has the tracking thread decode every JSON datagram while the queue is under half full). */
  handOverBusyShare?: number;
}

export interface ReceiverHandlers {
  /** A batch of datagrams is about to be handled (the monitor looks at its clocks first: clock-steps.ts). */
  beforeBatch?(): void;
  readable(datagram: Classified): void;
  exception(err: Error): void;
  /**
   * A socket thread exited without being asked to stop (a crash, its heap
   * limit): the monitor hears nothing through it any more. Silence is judged
   * no further than what it had read (heardUntil stays there), so nobody is
   * called late or down for a deafness of the monitor's own.
   */
  died(err: Error): void;
}

export type { SocketThreadStats };

export interface Receiver {
  address: { address: string; port: number; family: string };
  /** What the kernel granted for SO_RCVBUF, per socket (Linux reports twice the asked size, capped by net.core.rmem_max). */
  recvBufferBytes: number;
  bound(): boolean;
  /** Datagrams the socket threads dropped because the queue to the main thread was full, since start. */
  queueDrops(): number;
  /** Datagrams that found a socket thread idle (each a wake-up, then UDP_COALESCE of gathering), since start. */
  wakeups(): number;
  /** JSON datagrams a busy socket thread handed over undecoded, decoded on the main thread, since start (decode-split.ts). */
  decodedOnMain(): number;
  /** Batches of datagrams the socket threads handed over and the main thread handled, since start. */
  batches(): number;
  /**
   * Silence is not judged past it: a time the oldest datagram read and not
   * yet handed to the caller arrived no earlier than, or, if earlier, the
   * time before which a socket thread has read all that arrived
   * (read-through.ts). +Infinity: no socket thread runs.
   */
  heardUntil(): number;
  /** Asks every socket thread (resetting their loop-delay windows): the worst loop delay, the bytes of all. */
  stats(): Promise<SocketThreadStats>;
  stop(): Promise<void>;
}

// The compiled .js in production; this .ts run as it is (Node strips the types) in development and tests.
const THREAD_FILE = new URL(
  import.meta.url.endsWith('.ts') ? './socket-thread.ts' : './socket-thread.js',
  import.meta.url,
);

interface SocketThread {
  ready: Extract<SocketThreadMessage, { type: 'ready' }>;
  alive(): boolean;
  /** As of its latest batch (every drop is followed by a batch: it drops only while one waits). */
  dropped(): number;
  wakeups(): number;
  /** JSON datagrams of its decoded here: it was busy (decode-split.ts). */
  decodedOnMain(): number;
  /** Its batches handled here. */
  batches(): number;
  heardUntil(): number;
  /** Resolved with the answer to this request (answers come in the order asked). */
  stats(): Promise<SocketThreadStats>;
  stop(): Promise<void>;
}

class BindError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** What a socket thread that is gone says. */
const NO_STATS: SocketThreadStats = {
  loop: { p99Ms: 0, maxMs: 0 },
  queuedBytes: 0,
};

/** The socket threads' names, as `top -H` and /proc/PID/task/TID/comm show them (`udp-socket-0`, ...). */
export const SOCKET_THREAD_NAME = 'udp-socket';

/**
 * A socket thread's heap. Its live data is the queue (bounded by queueBytes)
 * and the decoder's modules: a bounded heap, so that under a flood it
 * collects garbage instead of growing (Node sizes a worker's heap like the
 * main one's otherwise). A queued datagram holds about 1.25 times what it is
 * counted as in the heap (its strings, at the smallest beats): twice the
 * queue, over 96 MB for the rest, so that any UDP_QUEUE_BYTES fits (128 MB
 * at the default). 48 MB of young generation: a datagram's decoding garbage
 * dies young. At 16 MB the thread promoted some 11 MB a second at 50,000
 * datagrams a second and paid a mark-compact every 0.8 s; at 48 MB, in two
 * runs of 40 s, one mark-compact in all, half the scavenges, a quarter of
 * the time collecting (docs/PERFORMANCE.md). (At 8 MB and 64 MB old, a
 * third of the thread went to collecting and a full queue ran out of heap;
 * at 32 MB the mark-compacts stayed.)
 */
function socketThreadHeap(queueBytes: number): {
  maxYoungGenerationSizeMb: number;
  maxOldGenerationSizeMb: number;
} {
  return { maxYoungGenerationSizeMb: 48, maxOldGenerationSizeMb: 96 + Math.ceil((2 * queueBytes) / 2 ** 20) };
}

/** A socket thread made and loading its code, not yet bound. */
interface SpawnedThread {
  /** Binds it to `port` (0: any free one), handing what it reads to `handlers`; settles when it reads, or with the failure. Once. */
  bind(port: number, handlers: ReceiverHandlers): Promise<SocketThread>;
  /** Resolves once it has loaded its code and waits for bind(). */
  loaded: Promise<void>;
  /** Ends it, bound or not (a start given up): not reported as died. */
  terminate(): Promise<void>;
}

/** Whom a thread not yet bound tells: nobody (a failure then reaches the start as its bind()'s rejection). */
const NOBODY: ReceiverHandlers = { readable() {}, exception() {}, died() {} };

function spawnThread(
  index: number,
  threadOptions: Omit<SocketThreadOptions, 'statsPort'>,
  turns: Turns,
): SpawnedThread {
  let handlers = NOBODY;
  const progress = threadProgress(threadOptions.progress);
  const statsChannel = new MessageChannel();
  const options: SocketThreadOptions = { ...threadOptions, statsPort: statsChannel.port2 };
  const worker = new Worker(THREAD_FILE, {
    name: `${SOCKET_THREAD_NAME}-${index}`,
    workerData: { socketThread: true, options },
    transferList: [statsChannel.port2],
    resourceLimits: socketThreadHeap(options.queueBytes),
  });
  let exited = false;
  let terminating = false;
  let closed: (() => void) | null = null;
  /** How far it had read when it died (not when it was stopped): judgement stops there. */
  let heardUntilDeath = Number.POSITIVE_INFINITY;
  // Not past the oldest datagram it holds, nor past what it has read (read-through.ts). How far it
  // has read is loaded first (arguments are read left to right): a datagram read after that load
  // arrived after it.
  const heardUntil = () => Math.min(progress.readThrough(), progress.watermark());
  const statsWaiting: Array<(m: SocketThreadStats) => void> = [];
  const statsPort = statsChannel.port1;
  statsPort.on('message', (message: SocketThreadStats) => statsWaiting.shift()?.(message));
  // It does not hold the process open (the worker does, while it runs).
  statsPort.unref();

  let decodedOnMain = 0;
  // Counted as handled only once handled: till then its datagrams hold the watermark back.
  function handleBatch(message: Extract<SocketThreadMessage, { type: 'batch' }>): void {
    handlers.beforeBatch?.();
    readBatch(message.batch, (datagram) => {
      try {
        // Handed over undecoded by a busy socket thread (decode-split.ts): decoded here.
        if (datagram.outcome === 'framed') decodedOnMain++;
        handlers.readable(decoded(datagram));
      } catch (err) {
        handlers.exception(err as Error);
      }
    });
    progress.addHandled();
  }

  const { promise: started, resolve, reject } = Promise.withResolvers<SocketThread>();
  const { promise: loaded, resolve: hasLoaded } = Promise.withResolvers<void>();
  // A thread that fails while nobody has asked it to bind yet: its bind() rejects with it.
  started.catch(() => {});
  worker.on('error', (err) => {
    if (!exited) handlers.exception(err);
    reject(err);
  });
  worker.on('exit', (code) => {
    // Neither asked to stop (stop() sets `closed` first) nor ended by terminate(): it died.
    const died = closed === null && !terminating;
    if (died) heardUntilDeath = heardUntil();
    exited = true;
    // Its batches still queued are handled before its stop resolves.
    turns.drain();
    closed?.();
    // A scrape waiting for this thread's figures gets empty ones rather than waiting for ever.
    for (const answer of statsWaiting.splice(0)) {
      answer(NO_STATS);
    }
    statsPort.close();
    reject(new Error('the socket thread exited before it was ready'));
    if (died)
      handlers.died(new Error(`socket thread ${index} exited (code ${code}) without being asked to stop`));
  });
  worker.on('message', (message: SocketThreadMessage) => {
    switch (message.type) {
      case 'batch':
        turns.push(() => handleBatch(message));
        break;
      case 'error':
        // After the datagrams read before it, as the thread saw them.
        turns.push(() => {
          const err = Object.assign(new Error(message.message), { code: message.code ?? undefined });
          if (message.stack !== undefined) err.stack = message.stack;
          handlers.exception(err);
        });
        break;
      case 'bind-error':
        reject(new BindError(message.message, message.code ?? undefined));
        break;
      case 'closed':
        turns.drain();
        break;
      case 'loaded':
        hasLoaded();
        break;
      case 'ready':
        resolve({
          ready: message,
          alive: () => !exited,
          dropped: () => progress.drops(),
          wakeups: () => progress.wakeups(),
          decodedOnMain: () => decodedOnMain,
          batches: () => progress.handled(),
          heardUntil: () => (exited ? heardUntilDeath : heardUntil()),
          stats: () =>
            new Promise((resolveStats) => {
              if (exited) {
                resolveStats(NO_STATS);
                return;
              }
              statsWaiting.push(resolveStats);
              statsPort.postMessage(null);
            }),
          stop: () =>
            new Promise<void>((resolveStop) => {
              if (exited) return resolveStop();
              // Every batch before `closed` is handled by then: messages arrive in order.
              closed = resolveStop;
              worker.postMessage({ type: 'stop' } satisfies SocketThreadCommand);
            }),
        });
        break;
    }
  });
  return {
    loaded,
    bind(port, bindHandlers) {
      handlers = bindHandlers;
      worker.postMessage({ type: 'bind', port } satisfies SocketThreadCommand);
      return started;
    },
    async terminate() {
      terminating = true;
      await worker.terminate();
    },
  };
}

/** Socket threads made (they load their code at once), bound when asked. */
export interface PreparedReceiver {
  /** Resolves once every thread has loaded its code and waits for bind() (never, if one failed). */
  loaded: Promise<void>;
  /** Binds the threads, handing what they read to `handlers`: the receiver, once they read. A second call is refused. */
  bind(handlers: ReceiverHandlers): Promise<Receiver>;
  /** Ends every thread still running, bound or not (a start given up); none is reported as died. */
  abandon(): Promise<void>;
}

/**
 * Makes the socket threads now, so that they load their code (a few hundred
 * milliseconds) while the caller does what must come before the port is
 * bound: the monitor reads its state file.
 */
export function prepareReceiver(options: ReceiverOptions): PreparedReceiver {
  const threadOptions: Omit<SocketThreadOptions, 'statsPort' | 'progress'> = {
    host: options.host,
    recvBufferBytes: options.recvBufferBytes,
    reusePort: options.threads > 1,
    queueBytes: Math.floor(options.queueBytes / options.threads),
    coalesceMs: options.coalesceMs,
    classifier: options.classifier,
    handOverBusyShare: options.handOverBusyShare ?? HAND_OVER_BUSY_SHARE,
  };
  // The main thread's one queue, for all the threads: each thread's batches stay in its order.
  const turns = mainTurns();
  const spawned = Array.from({ length: options.threads }, (_, i) =>
    spawnThread(i, { ...threadOptions, progress: threadProgress().buffer }, turns),
  );
  let bindAsked = false;
  return {
    loaded: Promise.all(spawned.map((t) => t.loaded)).then(() => {}),
    bind: (handlers) => {
      if (bindAsked) return Promise.reject(new Error('the socket threads were asked to bind already'));
      bindAsked = true;
      return bindThreads(spawned, options.port, handlers);
    },
    abandon: async () => {
      await Promise.all(spawned.map((t) => t.terminate()));
    },
  };
}

async function bindThreads(
  spawned: readonly SpawnedThread[],
  port: number,
  handlers: ReceiverHandlers,
): Promise<Receiver> {
  const threads: SocketThread[] = [];
  try {
    // The first picks the port (0: any free one); the others share it.
    const [first, ...others] = spawned as [SpawnedThread, ...SpawnedThread[]];
    const firstBound = await first.bind(port, handlers);
    threads.push(firstBound);
    for (const t of others) threads.push(await t.bind(firstBound.ready.port, handlers));
  } catch (err) {
    await Promise.all(threads.map((t) => t.stop()));
    await Promise.all(spawned.slice(threads.length).map((t) => t.terminate()));
    throw err;
  }
  const first = threads[0] as SocketThread;
  let bound = true;
  return {
    address: { address: first.ready.address, port: first.ready.port, family: first.ready.family },
    recvBufferBytes: first.ready.recvBufferBytes,
    bound: () => bound && threads.every((t) => t.alive()),
    queueDrops: () => threads.reduce((a, t) => a + t.dropped(), 0),
    wakeups: () => threads.reduce((a, t) => a + t.wakeups(), 0),
    decodedOnMain: () => threads.reduce((a, t) => a + t.decodedOnMain(), 0),
    batches: () => threads.reduce((a, t) => a + t.batches(), 0),
    heardUntil: () => Math.min(...threads.map((t) => t.heardUntil())),
    async stats() {
      const all = await Promise.all(threads.map((t) => t.stats()));
      return {
        loop: {
          p99Ms: Math.max(...all.map((s) => s.loop.p99Ms)),
          maxMs: Math.max(...all.map((s) => s.loop.maxMs)),
        },
        queuedBytes: all.reduce((a, s) => a + s.queuedBytes, 0),
      };
    },
    async stop() {
      if (!bound) return;
      bound = false;
      await Promise.all(threads.map((t) => t.stop()));
    },
  };
}
