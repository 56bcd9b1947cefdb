import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants, gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { acceptsGzip, createEventHub, type EventHub, JsonText } from '../../services/client/http/sse.js';
import { CHUNK_CHARS } from '../../services/client/http/text-chunks.js';
import { longestChunk } from '../support/chunks.js';

// The live stream's bounds, over a real HTTP connection: a datagram flood is
// sampled (the newest rows, rendered only when sent) and never displaces the
// state events, which are dropped and counted only beyond their own bound.
describe('the live event hub', () => {
  let server: Server | null = null;
  const hubs: EventHub[] = [];
  afterEach(async () => {
    // A test that failed half-way leaves no stream open.
    await Promise.all(hubs.splice(0).map((hub) => hub.close()));
    server?.close();
    server = null;
  });

  async function stream(
    hub: EventHub,
    watch: (res: ServerResponse) => void = () => {},
  ): Promise<{ body: Promise<string> }> {
    server = createServer((_req, res) => {
      watch(res);
      hub.attach(res);
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/`);
    // Attached once the headers are back.
    expect(hub.clients).toBe(1);
    return { body: res.text() };
  }

  const events = (body: string) =>
    [...body.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map((m) => `${m[1]}:${m[2]}`);

  it('sends the newest datagrams of a batch, renders only those, and keeps every state event', async () => {
    const hub = createEventHub({ maxClients: 1, maxPending: 5, maxSamples: 3, flushMs: 60_000 });
    const { body } = await stream(hub);
    let rendered = 0;
    hub.publish('state', { n: 1 });
    for (let i = 0; i < 1000; i++) {
      hub.publish('datagram', () => {
        rendered++;
        return i;
      });
    }
    hub.publish('state', { n: 2 });
    hub.close();
    expect(events(await body)).toEqual([
      'state:{"n":1}',
      'state:{"n":2}',
      'datagram:997',
      'datagram:998',
      'datagram:999',
    ]);
    expect(rendered).toBe(3);
    expect(hub.dropped).toBe(0);
  });

  it('sends an event serialized already (a snapshot built in parts) as its text, not as a JSON string', async () => {
    const hub = createEventHub({ maxClients: 1, flushMs: 60_000 });
    const { body } = await stream(hub);
    hub.publish('counts', { up: 2 });
    hub.publish('senders', new JsonText(['[{"source":"a"}', ',{"source":"b"}', ']']));
    hub.close();
    expect(events(await body)).toEqual(['counts:{"up":2}', 'senders:[{"source":"a"},{"source":"b"}]']);
  });

  it('sends a snapshot larger than a chunk whole, in one event, after the events before it, never writing more than a chunk at once', async () => {
    const hub = createEventHub({ maxClients: 1, flushMs: 60_000 });
    // What the hub hands its response in each write (text-chunks.ts: no string V8 maps on its own).
    const written: string[] = [];
    const { body } = await stream(hub, (res) => {
      const write = res.write.bind(res) as (chunk: string) => boolean;
      res.write = ((chunk: string) => {
        written.push(chunk);
        return write(chunk);
      }) as typeof res.write;
    });
    // ~600 KB in chunks of ~30 KB, as a snapshot of 500 senders at 50,000 is.
    const values = Array.from({ length: 1000 }, (_, i) => ({ i, text: 'x'.repeat(580) }));
    const chunks = ['['];
    for (let at = 0; at < values.length; at += 50) {
      chunks.push(`${at === 0 ? '' : ','}${JSON.stringify(values.slice(at, at + 50)).slice(1, -1)}`);
    }
    chunks.push(']');
    hub.publish('counts', { up: 1000 });
    hub.publish('senders', new JsonText(chunks));
    hub.close();
    expect(events(await body)).toEqual(['counts:{"up":1000}', `senders:${JSON.stringify(values)}`]);
    expect(written.reduce((sum, chunk) => sum + chunk.length, 0)).toBeGreaterThan(10 * CHUNK_CHARS);
    expect(longestChunk(written)).toBeLessThanOrEqual(CHUNK_CHARS);
  });

  it('sends the newest counts, snapshot and mark of a batch first, in that order, whatever flood of state events came with them', async () => {
    const hub = createEventHub({ maxClients: 1, maxPending: 5, flushMs: 60_000 });
    const { body } = await stream(hub);
    hub.publish('counts', { up: 1 });
    hub.publish('senders', new JsonText(['[1]']));
    for (let n = 0; n < 20; n++) hub.publish('state', { n });
    hub.publish('senders', new JsonText(['[2]']));
    hub.publish('mark', { m: 1 });
    for (let n = 20; n < 40; n++) hub.publish('state', { n });
    hub.close();
    expect(events(await body)).toEqual([
      'counts:{"up":1}',
      'senders:[2]',
      'mark:{"m":1}',
      ...[35, 36, 37, 38, 39].map((n) => `state:{"n":${n}}`),
    ]);
    expect(hub.dropped).toBe(35);
  });

  it('drops the oldest state events beyond the bound, and counts them', async () => {
    const hub = createEventHub({ maxClients: 1, maxPending: 5, flushMs: 60_000 });
    const { body } = await stream(hub);
    for (let n = 0; n < 8; n++) hub.publish('state', { n });
    hub.close();
    expect(events(await body)).toEqual([3, 4, 5, 6, 7].map((n) => `state:{"n":${n}}`));
    expect(hub.dropped).toBe(3);
  });

  /** The responses the gzip server handed to its hub. */
  const responses: ServerResponse[] = [];

  /** A hub that compresses for every client, on a real server; the port. */
  async function gzipServer(hub: EventHub): Promise<number> {
    hubs.push(hub);
    responses.length = 0;
    server = createServer((_req, res) => {
      responses.push(res);
      hub.attach(res, true);
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  /** A request taking gzip; its raw bytes as they come off the wire, not decompressed. */
  function rawStream(port: number): {
    raw: Buffer[];
    headers: Promise<Record<string, unknown>>;
    ended: Promise<void>;
    abort(): void;
  } {
    const raw: Buffer[] = [];
    let headersOf: (h: Record<string, unknown>) => void = () => {};
    const headers = new Promise<Record<string, unknown>>((resolve) => {
      headersOf = resolve;
    });
    const req = request(`http://127.0.0.1:${port}/`, { headers: { 'accept-encoding': 'gzip' } });
    const ended = new Promise<void>((resolve, reject) => {
      req.on('error', reject);
      req.on('response', (res) => {
        headersOf(res.headers);
        res.on('data', (chunk: Buffer) => raw.push(chunk));
        res.on('end', resolve);
        res.on('error', reject);
      });
    });
    req.end();
    return { raw, headers, ended, abort: () => req.destroy() };
  }

  it('compresses the stream for a client that takes gzip, and flushes each batch as it is written', async () => {
    const hub = createEventHub({ maxClients: 1, flushMs: 20 });
    const { raw, headers, ended } = rawStream(await gzipServer(hub));
    await expect.poll(() => hub.clients).toBe(1);
    // A snapshot like the page's: many senders, the same keys and words over and over.
    const senders = Array.from({ length: 500 }, (_, i) => ({
      source: `host-${i}.example.net`,
      state: 'up',
      heartbeats: Array.from({ length: 50 }, () => 'received'),
    }));
    hub.publish('senders', senders);
    // Flushed: the whole event can be decompressed while the stream is still open.
    const sent = `event: senders\ndata: ${JSON.stringify(senders)}\n\n`;
    const sofar = () => gunzipSync(Buffer.concat(raw), { finishFlush: constants.Z_SYNC_FLUSH }).toString();
    await expect.poll(() => sofar().endsWith(sent)).toBe(true);
    hub.publish('state', { n: 1 });
    // Closing waits for the stream to finish (its compressor ends it later, in the pool): by then
    // the last bytes are handed on, and the server finds the connection idle.
    await hub.close();
    expect(responses.map((r) => r.writableFinished)).toEqual([true]);
    await ended;
    expect((await headers)['content-encoding']).toBe('gzip');
    const body = gunzipSync(Buffer.concat(raw)).toString();
    expect(events(body)).toEqual([`senders:${JSON.stringify(senders)}`, 'state:{"n":1}']);
    const wire = Buffer.concat(raw).length;
    expect(wire).toBeLessThan(body.length / 10);
  });

  it('lets a gzip client go when it hangs up, and frees its slot', async () => {
    const hub = createEventHub({ maxClients: 1, flushMs: 10 });
    const stream = rawStream(await gzipServer(hub));
    await expect.poll(() => hub.clients).toBe(1);
    stream.abort();
    await expect(stream.ended).rejects.toThrow();
    await expect.poll(() => hub.clients).toBe(0);
    // Batches after it are written to no one, and nothing throws.
    hub.publish('state', { n: 1 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(hub.clients).toBe(0);
  });

  it('reads gzip in Accept-Encoding as RFC 9110 does: its own entry first, then *; a quality of 0 refuses', () => {
    const cases: Array<[string | undefined, boolean]> = [
      ['gzip, deflate, br', true],
      ['br;q=1.0, GZIP;q=0.5', true],
      ['x-gzip', true],
      ['*', true],
      ['deflate, *;q=0.1', true],
      ['gzip;q=0', false],
      ['gzip; q=0.0, deflate', false],
      // `*` stands only for what is not named.
      ['gzip;q=0, *', false],
      ['*;q=1, gzip;q=0', false],
      ['*;q=0', false],
      ['identity', false],
      ['', false],
      [undefined, false],
    ];
    for (const [header, takes] of cases) expect(acceptsGzip(header), String(header)).toBe(takes);
  });
});
