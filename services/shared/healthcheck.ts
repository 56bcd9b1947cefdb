/**
 * Container HEALTHCHECK probe, run as `node dist/<service>/healthcheck.js`:
 * GET <probeUrl()>, exit 0 on 2xx, 1 otherwise. Node's own fetch: no curl
 * in the image.
 */
import { isIP } from 'node:net';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Where the service listens, as its own HTTP_HOST and HTTP_PORT say: a
 * wildcard address (the default 0.0.0.0, or `::`) is reached on loopback,
 * any other address as it is, since the server answers only there.
 */
export function probeUrl(env: Env, defaultPort: number, path: string): string {
  const port = Number(env.HTTP_PORT || defaultPort);
  const host = env.HTTP_HOST || '0.0.0.0';
  const family = isIP(host);
  const wildcard = host === '0.0.0.0' || (family === 6 && /^[0:]+$/.test(host));
  const address = wildcard ? (family === 6 ? '::1' : '127.0.0.1') : host;
  return `http://${family === 6 ? `[${address}]` : address}:${port}${path}`;
}

export async function probe(
  defaultPort: number,
  path: string,
  env: Env = process.env,
  timeoutMs = 2000,
): Promise<number> {
  try {
    const res = await fetch(probeUrl(env, defaultPort, path), { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok ? 0 : 1;
  } catch {
    return 1;
  }
}
