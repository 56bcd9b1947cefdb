/** Source allowlist by CIDR (ALLOW_FROM): IPv4 and IPv6, IPv4-mapped IPv6 treated as IPv4. */
import { BlockList, isIP } from 'node:net';

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefixText = text.slice(slash + 1);
  // Digits only: `Number('')` is 0, and `10.0.0.0/` must not become "everything".
  if (slash >= 0 && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = slash < 0 ? max : Number(prefixText);
  if (prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** A predicate over remote addresses; null when everything is allowed. */
export function createAllowlist(cidrs: readonly Cidr[]): ((address: string) => boolean) | null {
  if (cidrs.length === 0) return null;
  const list = new BlockList();
  for (const c of cidrs) list.addSubnet(c.address, c.prefix, c.family);
  return (address) => {
    // An IPv4 client of a dual-stack socket arrives as ::ffff:a.b.c.d.
    const mapped = /^::ffff:/i.test(address) ? address.slice(7) : '';
    if (isIP(mapped) === 4) return list.check(mapped, 'ipv4');
    return list.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6');
  };
}
