/**
 * client-bounds.ts on a bare Fastify app (the monitor's own routes answer
 * too fast to show it): an answer's idle time is counted from when the
 * answer goes out, not from its request, so an answer that takes a while
 * to make is not cut for it. Real sockets on loopback.
 */
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { boundWhatClientsHold } from '../../services/client/http/client-bounds.js';

const apps: Array<ReturnType<typeof Fastify>> = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

const IDLE_MS = 100;

describe('an answer being sent', () => {
  it('is not cut for the time it took to make: the idle time counts from when it goes out', async () => {
    const app = Fastify();
    apps.push(app);
    let cut = 0;
    boundWhatClientsHold(app, {
      maxConnections: 10,
      connectionRefused() {},
      responseIdleMs: IDLE_MS,
      responseCut: () => cut++,
    });
    // Made in five times the idle time, with nothing sent meanwhile.
    app.get('/slow', async () => {
      await new Promise((resolve) => setTimeout(resolve, 5 * IDLE_MS));
      return { made: true };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };

    const res = await fetch(`http://127.0.0.1:${port}/slow`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ made: true });
    expect(cut).toBe(0);
  });
});
