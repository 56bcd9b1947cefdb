/**
 * Where beats go, as pure logic: a target is `host:port`, optionally followed
 * by how to use the name's addresses, `/all` (the default: every address, the
 * fan-out to every replica behind Swarm's `tasks.<service>`, a Kubernetes
 * headless Service or `docker compose --scale`) or `/first` (only the first
 * address of each answer, as a plain lookup would). Parsing, the canonical
 * text and the choice of addresses from a resolver's answer live here; the
 * lookups themselves are in resolver.ts.
 */
import { isIP, isIPv6 } from 'node:net';
import { z } from 'zod';
import { canonicalIp } from '../ip-address.js';

export const resolveModeSchema = z.enum(['all', 'first']);
export type ResolveMode = z.infer<typeof resolveModeSchema>;

export interface Target {
  host: string;
  port: number;
  /** Which addresses of the name get the beats; absent means `all`. */
  mode?: ResolveMode;
}

/**
 * The most addresses one target sends to, and the most addresses per target
 * the beacon keeps counters for: it bounds the label sets of the metrics.
 */
export const MAX_ADDRESSES_PER_TARGET = 64;

const TARGET = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9_.-]+)):(\d{1,5})(?:\/([a-z]+))?$/;

/** `client:5000`, `tasks.client:5000/first`, `10.0.0.7:5000`, `[::1]:5000` -> Target; undefined when invalid. */
export function parseTarget(text: string): Target | undefined {
  const m = TARGET.exec(text);
  if (m === null) return undefined;
  const [, bracketed, name, portText, modeText] = m;
  if (bracketed !== undefined && !isIPv6(bracketed)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  const mode = resolveModeSchema.safeParse(modeText ?? 'all');
  if (!mode.success) return undefined;
  const host = (bracketed ?? name) as string;
  return mode.data === 'all' ? { host, port } : { host, port, mode: mode.data };
}

/**
 * What makes two targets the same socket, whatever their mode: the host (an
 * IP address canonical, a name in lower case) and the port. Listed twice, a
 * target would get every beat twice.
 */
export function targetKey(target: Target): string {
  return `${canonicalIp(target.host) ?? target.host.toLowerCase()} ${target.port}`;
}

/** The canonical text of a target, as logs and metric labels name it: `host:port`, `[::1]:5000/first`. */
export function formatTarget(target: Target): string {
  const host = isIPv6(target.host) ? `[${target.host}]` : target.host;
  return `${host}:${target.port}${target.mode === 'first' ? '/first' : ''}`;
}

export interface Pick {
  /** The addresses the beats go to, in sending order. */
  addresses: string[];
  /** Usable addresses left out by MAX_ADDRESSES_PER_TARGET. */
  dropped: number;
}

/**
 * The addresses a target's beats go to, from one answer of the resolver (in
 * its order). Only the family of the answer's first address is used, so a
 * dual-stack host (an A and an AAAA record for one container) gets each beat
 * once, not twice. `first` keeps the resolver's first address (a DNS
 * round-robin then spreads the beats); `all` sorts the addresses, so the
 * same set in another order is the same answer and the cap keeps the same
 * ones, and keeps at most `max`.
 */
export function pickAddresses(
  answer: readonly { address: string }[],
  mode: ResolveMode = 'all',
  max = MAX_ADDRESSES_PER_TARGET,
): Pick {
  const usable = answer.map((a) => a.address).filter((a) => isIP(a) !== 0);
  const first = usable[0];
  if (first === undefined) return { addresses: [], dropped: 0 };
  if (mode === 'first') return { addresses: [first], dropped: 0 };
  const family = isIP(first);
  const same = [...new Set(usable.filter((a) => isIP(a) === family))].sort();
  return { addresses: same.slice(0, max), dropped: Math.max(0, same.length - max) };
}

/** Whether two picks send to the same addresses in the same order. */
export function sameAddresses(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((address, i) => address === b[i]);
}
