/**
 * One text per IP address, so that two spellings of it compare equal: as
 * Node writes a remote address (IPv6 lower-case and compressed: `::0001` and
 * `0:0:0:0:0:0:0:1` are `::1`), and an IPv4-mapped IPv6 address as plain
 * IPv4 (`::ffff:127.0.0.1`, what an IPv4 peer of a dual-stack socket looks
 * like, is `127.0.0.1`).
 */
import { isIP, SocketAddress } from 'node:net';

/** The canonical text of a bare IP address; undefined for anything else (ports, brackets and zone ids are refused). */
export function canonicalIp(address: string): string | undefined {
  const version = isIP(address);
  if (version === 0 || address.includes('%')) return undefined;
  const canonical = new SocketAddress({ address, family: version === 4 ? 'ipv4' : 'ipv6' }).address;
  return /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(canonical)?.[1] ?? canonical;
}
