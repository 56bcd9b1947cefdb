/**
 * What the system resolver reads before it asks a DNS server, as far as
 * system-lookup.ts needs it. Pure: the caller reads the files.
 *
 * - The first name glibc's res_search asks the DNS for, given a host and
 *   resolv.conf's search list and ndots: a name with fewer dots than ndots
 *   is tried with the first search domain appended before it is tried as
 *   given (a Kubernetes short name such as `udp-monitor-0.udp-monitor-beats`
 *   under `ndots:5`), and a name ending in a dot is only tried as given.
 *   The probe asks for this name, so that "a server answered" is said of
 *   the query getaddrinfo starts with.
 * - The names /etc/hosts gives addresses to: glibc answers those from the
 *   file (`hosts: files dns`, every distribution's default) without asking
 *   any DNS server.
 */

import { isIP } from 'node:net';

export interface SearchConfig {
  /** The search list: the last `search` or `domain` line's domains. */
  search: readonly string[];
  /** `options ndots:n` (glibc's default 1, capped at 15). */
  ndots: number;
}

export const NO_SEARCH: SearchConfig = { search: [], ndots: 1 };

/**
 * The search list and ndots of a resolv.conf text. Not read: glibc's own
 * environment overrides (LOCALDOMAIN, RES_OPTIONS) and the domain it takes
 * from the hostname when the file names none.
 */
export function parseResolvConf(text: string): SearchConfig {
  let search: string[] = [];
  let ndots = NO_SEARCH.ndots;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || line.startsWith(';')) continue;
    const [keyword, ...words] = line.split(/\s+/);
    if (keyword === 'search') search = words;
    else if (keyword === 'domain') search = words.slice(0, 1);
    else if (keyword === 'options') {
      for (const word of words) {
        const m = /^ndots:(\d+)$/.exec(word);
        if (m) ndots = Math.min(15, Number(m[1]));
      }
    }
  }
  return { search, ndots };
}

export function firstQueryName(host: string, config: SearchConfig): string {
  if (host.endsWith('.')) return host;
  const dots = host.split('.').length - 1;
  // `search .` (systemd-resolved's "no search domain") appends nothing.
  const domain = config.search[0]?.replace(/\.+$/, '');
  if (dots >= config.ndots || domain === undefined || domain === '') return host;
  return `${host}.${domain}`;
}

/**
 * The names an /etc/hosts text gives addresses to, lower-cased (glibc
 * matches them whatever their case); a line that does not start with an
 * address is skipped, as glibc skips it.
 */
export function hostsFileNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const raw of text.split('\n')) {
    const [address, ...fields] = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (address === undefined || isIP(address) === 0) continue;
    for (const name of fields) names.add(name.toLowerCase());
  }
  return names;
}
