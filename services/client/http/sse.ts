/**
 * Server-Sent Events hub for the live page. Publishing is O(1) and free when
 * nobody listens; events are batched and written to every client a few
 * times a second. Bounded whatever the traffic:
 * - at most `maxClients` connections;
 * - per batch, at most `maxPending` events of each kind. `datagram` events
 *   are a sample: the page shows its newest `maxSamples` rows only, so a
 *   batch keeps that many, older ones giving way to newer ones, and they
 *   are rendered (converted and stringified) at flush time, only those
 *   sent. Other events (state,
 *   counts, ...) beyond the bound are dropped and counted, and the page
 *   catches up from its next snapshot;
 * - a client that stops reading is disconnected instead of buffering
 *   without limit.
 */
import type { ServerResponse } from 'node:http';

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

export interface EventHub {
  /** `data` is the event's JSON value, or a function that renders it when the batch is sent. */
  publish(type: string, data: unknown): void;
  /** Adopts an HTTP response as an event stream; false when the hub is full. */
  attach(res: ServerResponse): boolean;
  readonly clients: number;
  /** Events other than `datagram` samples dropped because a batch was full. */
  readonly dropped: number;
  close(): void;
}

/** The event types that are a sample of a stream: newer ones displace older ones in a full batch. */
const SAMPLED = new Set(['datagram']);

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
  const clients = new Set<ServerResponse>();
  // One lane for the events that count, one per sampled type; each keeps its newest maxPending.
  const lanes = new Map<string, NewestRing>();
  const lane = (type: string) => (SAMPLED.has(type) ? type : '');
  let closed = false;

  const flushTimer = setInterval(flush, flushMs);
  flushTimer.unref();
  const keepAlive = setInterval(() => writeAll(': keep-alive\n\n'), options.keepAliveMs ?? 15_000);
  keepAlive.unref();

  function writeAll(chunk: string): void {
    for (const res of clients) {
      if (res.writableLength > maxBacklog) {
        res.destroy();
        clients.delete(res);
        continue;
      }
      res.write(chunk);
    }
  }

  function flush(): void {
    if (clients.size === 0) return;
    let chunk = '';
    for (const ring of lanes.values()) {
      if (ring.size === 0) continue;
      for (const e of ring.drain() as Array<{ type: string; data: unknown }>) {
        const data = typeof e.data === 'function' ? (e.data as () => unknown)() : e.data;
        chunk += `event: ${e.type}\ndata: ${JSON.stringify(data)}\n\n`;
      }
    }
    if (chunk !== '') writeAll(chunk);
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
    attach(res) {
      if (closed || clients.size >= options.maxClients) return false;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write('retry: 2000\n\n');
      clients.add(res);
      res.on('close', () => clients.delete(res));
      return true;
    },
    get clients() {
      return clients.size;
    },
    get dropped() {
      return lanes.get('')?.displaced ?? 0;
    },
    close() {
      closed = true;
      clearInterval(flushTimer);
      clearInterval(keepAlive);
      flush();
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}
