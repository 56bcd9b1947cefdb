/**
 * Drops that happen before the application sees a datagram: the kernel's
 * per-socket counters from /proc/net/udp (and udp6), found by local port.
 * Columns: sl local rem st tx:rx tr:tm retrnsmt uid timeout inode ref pointer drops.
 */
import { readFileSync } from 'node:fs';

export interface KernelSocketStats {
  drops: number;
  rxQueueBytes: number;
}

export function parseProcNetUdp(text: string, port: number): KernelSocketStats | null {
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  let found = false;
  const total: KernelSocketStats = { drops: 0, rxQueueBytes: 0 };
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 13) continue;
    const local = cols[1] as string;
    if (!local.endsWith(`:${portHex}`)) continue;
    const rxQueue = Number.parseInt((cols[4] as string).split(':')[1] ?? '0', 16);
    const drops = Number(cols[12]);
    found = true;
    total.drops += Number.isFinite(drops) ? drops : 0;
    total.rxQueueBytes += Number.isFinite(rxQueue) ? rxQueue : 0;
  }
  return found ? total : null;
}

/** Reads both tables; null where /proc is not available (not Linux). */
export function readKernelSocketStats(port: number): KernelSocketStats | null {
  let found = false;
  const total: KernelSocketStats = { drops: 0, rxQueueBytes: 0 };
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const s = parseProcNetUdp(text, port);
    if (s !== null) {
      found = true;
      total.drops += s.drops;
      total.rxQueueBytes += s.rxQueueBytes;
    }
  }
  return found ? total : null;
}
