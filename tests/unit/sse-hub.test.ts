import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventHub, type EventHub } from '../../services/client/http/sse.js';

// The live stream's bounds, over a real HTTP connection: a datagram flood is
// sampled (the newest rows, rendered only when sent) and never displaces the
// state events, which are dropped and counted only beyond their own bound.
describe('the live event hub', () => {
  let server: Server | null = null;
  afterEach(() => {
    server?.close();
    server = null;
  });

  async function stream(hub: EventHub): Promise<{ body: Promise<string> }> {
    server = createServer((_req, res) => {
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

  it('drops the oldest state events beyond the bound, and counts them', async () => {
    const hub = createEventHub({ maxClients: 1, maxPending: 5, flushMs: 60_000 });
    const { body } = await stream(hub);
    for (let n = 0; n < 8; n++) hub.publish('state', { n });
    hub.close();
    expect(events(await body)).toEqual([3, 4, 5, 6, 7].map((n) => `state:{"n":${n}}`));
    expect(hub.dropped).toBe(3);
  });
});
