/**
 * Container HEALTHCHECK probe, run as `node dist/<service>/healthcheck.js`:
 * GET http://127.0.0.1:$HTTP_PORT<path>, exit 0 on 2xx, 1 otherwise.
 * Node's own fetch: no curl in the image.
 */
export async function probe(defaultPort: number, path: string, timeoutMs = 2000): Promise<number> {
  const port = Number(process.env.HTTP_PORT || defaultPort);
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok ? 0 : 1;
  } catch {
    return 1;
  }
}
