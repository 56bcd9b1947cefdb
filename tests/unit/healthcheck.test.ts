import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probe, probeUrl } from '../../services/shared/healthcheck.js';

describe('the container health check probes where the service listens', () => {
  it.each([
    [{}, 'http://127.0.0.1:8080/readyz'],
    [{ HTTP_HOST: '0.0.0.0', HTTP_PORT: '9000' }, 'http://127.0.0.1:9000/readyz'],
    [{ HTTP_HOST: '::' }, 'http://[::1]:8080/readyz'],
    [{ HTTP_HOST: '0:0:0:0:0:0:0:0' }, 'http://[::1]:8080/readyz'],
    [{ HTTP_HOST: '10.1.2.3' }, 'http://10.1.2.3:8080/readyz'],
    [{ HTTP_HOST: 'fd00::5' }, 'http://[fd00::5]:8080/readyz'],
  ])('%j: %s', (env, url) => {
    expect(probeUrl(env, 8080, '/readyz')).toBe(url);
  });

  let server: Server | undefined;
  afterEach(() => server?.close());

  /** A real server on `host` only, answering `status`. */
  async function listen(host: string, status: number): Promise<number> {
    server = createServer((_req, res) => res.writeHead(status).end());
    await new Promise<void>((resolve) => server?.listen(0, host, resolve));
    return (server.address() as AddressInfo).port;
  }

  it('reaches a server bound to one loopback address other than 127.0.0.1', async () => {
    const port = await listen('127.0.0.2', 200);
    expect(await probe(8080, '/readyz', { HTTP_HOST: '127.0.0.2', HTTP_PORT: String(port) })).toBe(0);
  });

  it('fails on an answer other than 2xx, and where nothing listens', async () => {
    const port = await listen('127.0.0.1', 503);
    expect(await probe(8080, '/readyz', { HTTP_PORT: String(port) })).toBe(1);
    expect(await probe(8080, '/readyz', { HTTP_HOST: '127.0.0.2', HTTP_PORT: String(port) })).toBe(1);
  });
});
