/**
 * Server-Sent Events hub for the live page. Publishing is O(1) and free when
 * nobody listens; events are batched and written to every client a few
 * times a second. Bounded: at most `maxClients` connections, at most
 * `maxPending` events per batch (older ones are dropped and counted, the
 * page catches up from its next snapshot), and a client that stops reading
 * is disconnected instead of buffering without limit.
 */
import type { ServerResponse } from 'node:http';

export interface EventHubOptions {
  maxClients: number;
  flushMs?: number;
  maxPending?: number;
  /** A client with more than this many unsent bytes is cut off. */
  maxClientBacklogBytes?: number;
  keepAliveMs?: number;
}

export interface EventHub {
  publish(type: string, data: unknown): void;
  /** Adopts an HTTP response as an event stream; false when the hub is full. */
  attach(res: ServerResponse): boolean;
  readonly clients: number;
  readonly dropped: number;
  close(): void;
}

export function createEventHub(options: EventHubOptions): EventHub {
  const flushMs = options.flushMs ?? 200;
  const maxPending = options.maxPending ?? 500;
  const maxBacklog = options.maxClientBacklogBytes ?? 1024 * 1024;
  const clients = new Set<ServerResponse>();
  let pending: Array<{ type: string; data: unknown }> = [];
  let dropped = 0;
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
    if (pending.length === 0 || clients.size === 0) return;
    const batch = pending;
    pending = [];
    let chunk = '';
    for (const e of batch) chunk += `event: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`;
    writeAll(chunk);
  }

  return {
    publish(type, data) {
      if (clients.size === 0) return;
      if (pending.length >= maxPending) {
        pending.shift();
        dropped++;
      }
      pending.push({ type, data });
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
      return dropped;
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
