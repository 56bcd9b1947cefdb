/** The real monitor in-process on loopback, on ports the kernel picks. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClientConfig } from '../../services/client/config.js';
import { type Monitor, type MonitorOptions, startMonitor } from '../../services/client/monitor.js';
import type { Logger } from '../../services/shared/logger.js';

export const LOOPBACK_ENV = {
  UDP_HOST: '127.0.0.1',
  UDP_PORT: '0',
  HTTP_HOST: '127.0.0.1',
  HTTP_PORT: '0',
} as const;

export interface LoopbackMonitor {
  monitor: Monitor;
  /** http://127.0.0.1:<port> */
  base: string;
}

/** A fresh state-file directory under the system's temp dir (the test removes it, or the OS does). */
export function freshDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'udpts-data-'));
}

export async function startLoopbackMonitor(
  logger: Logger,
  env: Record<string, string> = {},
  options: MonitorOptions = {},
): Promise<LoopbackMonitor> {
  const monitor = await startMonitor(
    loadClientConfig({ ...LOOPBACK_ENV, DATA_DIR: env.DATA_DIR ?? freshDataDir(), ...env }),
    logger,
    options,
  );
  return { monitor, base: `http://127.0.0.1:${monitor.http.port}` };
}
