/**
 * The real Alertmanager (the Debian package's /usr/bin/prometheus-alertmanager)
 * in-process for a test: on 127.0.0.1 at a free port, with a temporary
 * config (one route to a receiver that sends nothing) and temporary storage,
 * clustering off. Start-up waits for GET /-/ready; a missing binary or a
 * failed start fails the test with the binary's stderr (never a skip).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ALERTMANAGER_BIN = process.env.ALERTMANAGER_BIN ?? '/usr/bin/prometheus-alertmanager';

export interface RunningAlertmanager {
  /** http://127.0.0.1:<port> */
  url: string;
  /** GET /api/v2/alerts (`query` e.g. `?active=true`): the alerts as Alertmanager lists them. */
  alerts(query?: string): Promise<unknown[]>;
  stop(): Promise<void>;
}

const CONFIG = `# written by tests/support/alertmanager.ts
route:
  receiver: blackhole
  group_by: [alertname, source]
  group_wait: 100ms
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: blackhole
`;

const READY_TIMEOUT_MS = 15_000;
const STDERR_KEPT = 8192;

export async function startAlertmanager(): Promise<RunningAlertmanager> {
  const dir = await mkdtemp(join(tmpdir(), 'udpts-alertmanager-'));
  try {
    const configFile = join(dir, 'alertmanager.yml');
    await writeFile(configFile, CONFIG);
    // The free port is found by binding port 0 and letting go; if another
    // process takes it in between, Alertmanager exits and we try again.
    let lastError: Error | null = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      try {
        return await launch(configFile, join(dir, 'data'), port, dir);
      } catch (err) {
        lastError = err as Error;
        if (!/address already in use/.test(lastError.message)) break;
      }
    }
    throw lastError ?? new Error('alertmanager did not start');
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function launch(
  configFile: string,
  storage: string,
  port: number,
  dir: string,
): Promise<RunningAlertmanager> {
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    ALERTMANAGER_BIN,
    [
      `--config.file=${configFile}`,
      `--storage.path=${storage}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEPT);
  });
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) =>
      reject(
        new Error(`cannot run ${ALERTMANAGER_BIN} (apt-get install prometheus-alertmanager): ${err.message}`),
      ),
    );
  });
  await spawned;

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited !== null) throw new Error(`alertmanager ${exited} before it was ready:\n${stderr}`);
    if (await ready(url)) break;
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`alertmanager not ready at ${url} within ${READY_TIMEOUT_MS} ms:\n${stderr}`);
    }
    await sleep(100);
  }

  return {
    url,
    async alerts(query = '') {
      const response = await fetch(`${url}/api/v2/alerts${query}`, { signal: AbortSignal.timeout(5000) });
      if (!response.ok)
        throw new Error(`GET /api/v2/alerts: HTTP ${response.status}: ${await response.text()}`);
      return (await response.json()) as unknown[];
    },
    async stop() {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function ready(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL if it has not exited within 5 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exit;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
