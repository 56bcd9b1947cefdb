/**
 * Drops that happen before the application sees a datagram: the kernel's
 * per-socket counters from /proc/net/udp (and udp6), found by local port.
 * Columns: sl local rem st tx:rx tr:tm retrnsmt uid timeout inode ref pointer drops.
 *
 * A socket's `drops` counts every datagram the kernel discarded for it: at
 * its full receive buffer, and also one whose UDP checksum was wrong (found
 * as it was queued or read), or that a socket filter refused. Only the
 * first kind is the monitor falling behind. The network namespace's UDP
 * counters (/proc/net/snmp and snmp6) tell them apart: a full buffer counts
 * in the socket's drops, then, instructions later, in RcvbufErrors (or
 * MemErrors, the protocol's memory limit); a bad checksum in InCsumErrors
 * (net/ipv4/udp.c: __udp_enqueue_schedule_skb, __udp_queue_rcv_skb,
 * udp_queue_rcv_one_skb).
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

/** The namespace's UDP datagrams dropped for want of room: RcvbufErrors + MemErrors, IPv4 (`Udp:` rows of /proc/net/snmp). */
export function parseSnmpCapacityDrops(text: string): number | null {
  const rows = text.split('\n').filter((line) => line.startsWith('Udp: '));
  const names = rows[0]?.split(/\s+/) ?? [];
  const values = rows[1]?.split(/\s+/) ?? [];
  const at = (name: string) => Number(values[names.indexOf(name)]);
  const drops = at('RcvbufErrors') + at('MemErrors');
  return names.length === values.length && Number.isFinite(drops) ? drops : null;
}

/** The same for IPv6: Udp6RcvbufErrors + Udp6MemErrors of /proc/net/snmp6 (a name and a value per line). */
export function parseSnmp6CapacityDrops(text: string): number | null {
  let drops = 0;
  let found = 0;
  for (const line of text.split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (name !== 'Udp6RcvbufErrors' && name !== 'Udp6MemErrors') continue;
    drops += Number(value);
    found++;
  }
  return found === 2 && Number.isFinite(drops) ? drops : null;
}

/**
 * The network namespace's UDP drops for want of room, IPv4 and IPv6; null
 * where the counters cannot be read (not Linux): then every drop of the
 * socket counts as one (the monitor behind), as before they were read.
 * In a container the namespace is the monitor's own; on a host's network
 * another program's full buffer counts too, which can only make the
 * monitor take more of its own drops as falling behind, never fewer.
 */
export function readCapacityDrops(): number | null {
  let total = 0;
  for (const [file, parse] of [
    ['/proc/net/snmp', parseSnmpCapacityDrops],
    ['/proc/net/snmp6', parseSnmp6CapacityDrops],
  ] as const) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      if (file === '/proc/net/snmp6') continue; // IPv6 disabled: no such file
      return null;
    }
    const drops = parse(text);
    if (drops === null) return null;
    total += drops;
  }
  return total;
}
