/**
 * Server-Sent Events hub for the live page. Publishing is O(1) and free when
 * nobody listens; events are batched and written to every client a few
 * times a second. Bounded whatever the traffic:
 * - at most `maxClients` connections;
 * - per batch, the newest picture of each kind (the page's `senders`
 *   snapshot, `counts`, `mark`), sent first: no flood of other events
 *   displaces them;
 * - per batch, at most `maxPending` events of each other kind. `datagram` events
 *   are a sample: the page shows its newest `maxSamples` rows only, so a
 *   batch keeps that many, older ones giving way to newer ones, and they
 *   are rendered (converted and stringified) at flush time, only those
 *   sent. Other events (`state`) beyond the bound are dropped and counted,
 *   and a reader catches up from the next snapshot;
 * - a client that stops reading is disconnected instead of buffering
 *   without limit.
 *
 * A client that accepts gzip gets the stream compressed, each batch flushed
 * as it is written. At 50,000 senders the page's snapshot of its 500 most
 * urgent senders, sent every second, is ~540 KB of JSON, and compressed
 * ~40 KB (docs/PERFORMANCE.md). Its compressor (a 4 KiB window) takes ~125
 * KiB of memory per client (measured), bounded by `maxClients`.
 */
import type { ServerResponse } from 'node:http';
import { constants, createGzip, type Gzip } from 'node:zlib';
import { textChunks } from './text-chunks.js';

export interface EventHubOptions {
  maxClients: number;
  flushMs?: number;
  maxPending?: number;
  /** Sampled events (`datagram`) per batch at most: the rows the page shows. */
  maxSamples?: number;
  /** A client with more than this many unsent bytes is cut off. */
  maxClientBacklogBytes?: number;
  keepAliveMs?: number;
}

/** An event's data serialized already (JSON text, in chunks), sent as it is: a snapshot built in parts. */
export class JsonText {
  constructor(readonly chunks: readonly string[]) {}
}

export interface EventHub {
  /**
   * `data` is the event's JSON value, its JsonText, or a function that
   * renders its value when the batch is sent.
   */
  publish(type: string, data: unknown): void;
  /**
   * Adopts an HTTP response as an event stream, compressed when `gzip` (the
   * request's Accept-Encoding takes it: acceptsGzip()); false when the hub is full.
   */
  attach(res: ServerResponse, gzip?: boolean): boolean;
  readonly clients: number;
  /** Events other than `datagram` samples dropped because a batch was full. */
  readonly dropped: number;
  /**
   * Sends what is pending and ends every stream; resolves once each response
   * has finished (so the server then finds its connections idle), or after
   * CLOSE_WAIT_MS, when those still open are cut off.
   */
  close(): Promise<void>;
}

/** How long close() waits for the streams to finish (a client that reads nothing holds its last bytes). */
const CLOSE_WAIT_MS = 1000;

/**
 * Whether an Accept-Encoding header takes gzip (RFC 9110, 12.5.3): by its
 * own entry (`gzip` or `x-gzip`) with a quality above 0, or, when it has
 * none, by `*` with a quality above 0.
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  let named: number | null = null;
  let any: number | null = null;
  for (const part of header.toLowerCase().split(',')) {
    const [name, ...params] = part.split(';').map((p) => p.trim());
    const q = params.find((p) => p.startsWith('q='));
    const quality = q === undefined ? 1 : Number(q.slice(2));
    if (name === 'gzip' || name === 'x-gzip') named = Math.max(named ?? 0, quality);
    else if (name === '*') any = quality;
  }
  return (named ?? any ?? 0) > 0;
}

/** A compressor's window and memory: small, since the repeats worth finding are within one sender's record. */
const GZIP_OPTIONS = { level: 1, windowBits: 12, memLevel: 5 } as const;

/** One stream: the response, and where its events are written (the response, or its compressor). */
interface Client {
  res: ServerResponse;
  gzip: Gzip | null;
}

/** The event types that are a sample of a stream: newer ones displace older ones in a full batch. */
const SAMPLED = new Set(['datagram']);
/**
 * The event types that are a whole picture (the counts, the page's
 * snapshot, the mark): only the newest of a batch is sent, first, so that no
 * flood of other events can push them out. In this order, the order the
 * monitor publishes them in: the page renders its verdict from the counts
 * when the snapshot comes.
 */
const LATEST: ReadonlySet<string> = new Set(['counts', 'senders', 'mark']);

/** The newest `capacity` items pushed since the last drain, O(1) per push. */
class NewestRing {
  private items: unknown[] = [];
  private next = 0;
  displaced = 0;
  constructor(private readonly capacity: number) {}
  push(item: unknown): void {
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return;
    }
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    this.displaced++;
  }
  drain(): unknown[] {
    const out =
      this.next === 0 ? this.items : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
    this.items = [];
    this.next = 0;
    return out;
  }
  get size(): number {
    return this.items.length;
  }
}

export function createEventHub(options: EventHubOptions): EventHub {
  const flushMs = options.flushMs ?? 200;
  const maxPending = options.maxPending ?? 500;
  const maxSamples = options.maxSamples ?? maxPending;
  const maxBacklog = options.maxClientBacklogBytes ?? 1024 * 1024;
  const clients = new Set<Client>();
  // A lane of its own for each picture (its newest one), one for the events that count, one per sampled
  // type; each keeps its newest maxPending. The pictures' lanes come first in a batch.
  const lanes = new Map<string, NewestRing>([...LATEST].map((type) => [type, new NewestRing(1)]));
  const lane = (type: string) => (SAMPLED.has(type) || LATEST.has(type) ? type : '');
  let closed = false;

  const flushTimer = setInterval(flush, flushMs);
  flushTimer.unref();
  const keepAlive = setInterval(() => writeAll([': keep-alive\n\n']), options.keepAliveMs ?? 15_000);
  keepAlive.unref();

  function writeAll(chunks: readonly string[]): void {
    for (const client of clients) write(client, chunks);
  }

  /**
   * To one client, flushed through its compressor. A client too far behind is
   * cut off: what it holds is the text its compressor has not taken yet plus
   * the bytes its response has not sent, both memory kept for it.
   */
  function write(client: Client, chunks: readonly string[]): void {
    const { res, gzip } = client;
    if (res.writableLength + (gzip?.writableLength ?? 0) > maxBacklog) {
      drop(client);
      res.destroy();
      return;
    }
    if (gzip === null) {
      for (const chunk of chunks) res.write(chunk);
      return;
    }
    for (const chunk of chunks) gzip.write(chunk);
    gzip.flush(constants.Z_SYNC_FLUSH);
  }

  /** Nothing more is written to it, and its compressor lets go of the response before anyone ends it. */
  function drop(client: Client): void {
    clients.delete(client);
    client.gzip?.unpipe(client.res);
    client.gzip?.destroy();
  }

  /** A batch in chunks of bounded length (text-chunks.ts): a snapshot is ~540 KB at 50,000 senders. */
  function flush(): void {
    if (clients.size === 0) return;
    const batch = textChunks();
    for (const ring of lanes.values()) {
      if (ring.size === 0) continue;
      for (const e of ring.drain() as Array<{ type: string; data: unknown }>) {
        const data = typeof e.data === 'function' ? (e.data as () => unknown)() : e.data;
        batch.add(`event: ${e.type}\ndata: `);
        if (data instanceof JsonText) for (const chunk of data.chunks) batch.add(chunk);
        else batch.add(JSON.stringify(data));
        batch.add('\n\n');
      }
    }
    const chunks = batch.close();
    if (chunks.length > 0) writeAll(chunks);
  }

  return {
    publish(type, data) {
      if (clients.size === 0) return;
      const key = lane(type);
      let ring = lanes.get(key);
      if (ring === undefined) {
        ring = new NewestRing(key === '' ? maxPending : maxSamples);
        lanes.set(key, ring);
      }
      ring.push({ type, data });
    },
    attach(res, gzip = false) {
      if (closed || clients.size >= options.maxClients) return false;
      // Its client is gone already: nothing to adopt, and no 'close' is coming to free a slot.
      if (res.destroyed) return true;
      const vary = res.getHeader('vary');
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        vary: vary === undefined ? 'accept-encoding' : `${vary}, accept-encoding`,
        ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      });
      const client: Client = { res, gzip: gzip ? createGzip(GZIP_OPTIONS) : null };
      if (client.gzip !== null) {
        client.gzip.pipe(res);
        client.gzip.on('error', () => res.destroy());
      }
      clients.add(client);
      const gone = () => drop(client);
      res.req?.once('close', gone);
      res.on('close', gone);
      write(client, ['retry: 2000\n\n']);
      return true;
    },
    get clients() {
      return clients.size;
    },
    get dropped() {
      return lanes.get('')?.displaced ?? 0;
    },
    async close() {
      closed = true;
      clearInterval(flushTimer);
      clearInterval(keepAlive);
      flush();
      const ending = [...clients];
      clients.clear();
      // A compressor ends its response once it has written all it holds.
      for (const { res, gzip } of ending) (gzip ?? res).end();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(ending.map(({ res }) => finished(res))),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, CLOSE_WAIT_MS);
        }),
      ]);
      clearTimeout(timer);
      for (const { res } of ending) if (!res.writableFinished) res.destroy();
    },
  };
}

/** Resolves once `res` has handed its last bytes on, or was closed. */
function finished(res: ServerResponse): Promise<void> {
  if (res.writableFinished || res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    res.once('finish', resolve);
    res.once('close', resolve);
  });
}
