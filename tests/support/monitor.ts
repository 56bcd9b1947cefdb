/** The real monitor in-process on loopback, on ports the kernel picks. */
import { loadClientConfig } from '../../services/client/config.js';
import { type Monitor, startMonitor } from '../../services/client/monitor.js';
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

export async function startLoopbackMonitor(
  logger: Logger,
  env: Record<string, string> = {},
): Promise<LoopbackMonitor> {
  const monitor = await startMonitor(loadClientConfig({ ...LOOPBACK_ENV, ...env }), logger);
  return { monitor, base: `http://127.0.0.1:${monitor.http.port}` };
}
