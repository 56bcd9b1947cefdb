/**
 * The system's name resolution, which a stop can always abandon while the
 * DNS servers are silent: the beacon's targets (beacon/resolver.ts), and
 * the hosts the monitor's notifications go to (`netLookup`, for sockets).
 *
 * The answer is `dns.lookup` with `all: true` (getaddrinfo), so /etc/hosts,
 * search domains (a Kubernetes short name) and Docker's embedded DNS answer
 * as they do for every other program. But getaddrinfo runs on one of
 * libuv's threads and cannot be cancelled, and a process cannot exit while
 * one is in flight (libuv joins its threads at exit): a DNS server that
 * never answers (a container cut from its network) would hold a SIGTERM
 * for glibc's whole timeout, and Docker would kill the process.
 *
 * So a lookup of a name that /etc/hosts lists goes to getaddrinfo at
 * once (glibc answers it from the file), and any other lookup first asks
 * the DNS servers, through c-ares (on the event loop, cancellable), for
 * the A record of the first name getaddrinfo will ask for
 * (resolver-config.ts), and calls getaddrinfo only once a server has
 * answered in any way: an address, "no such name", a refusal. While every
 * server is silent the lookup fails with c-ares' ETIMEOUT, and `cancel()`
 * ends it at once. Not covered: a server that answers the probe and then
 * not getaddrinfo's own queries (its AAAA query, the next search domain, a
 * first nameserver that is silent while the second answers c-ares), a
 * network cut between the two, or an nsswitch.conf that asks the DNS
 * before the file; a stop can still wait for getaddrinfo then. The price:
 * one more query per lookup.
 */
import type { LookupAddress, LookupOptions } from 'node:dns';
import { Resolver as DnsResolver, lookup as dnsLookup } from 'node:dns/promises';
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import {
  firstQueryName,
  hostsFileNames,
  NO_SEARCH,
  parseResolvConf,
  type SearchConfig,
} from './resolver-config.js';

/** A name's addresses, in the resolver's order (getaddrinfo's, for the system's). */
export type Lookup = (host: string) => Promise<readonly { address: string }[]>;

/** The system's name resolution, and a way to abandon what it has in flight. */
export interface SystemLookup {
  lookup: Lookup;
  /** For stop: fails the lookups waiting on a silent DNS server, and every later one (ECANCELLED). */
  cancel(): void;
}

export interface SystemLookupOptions {
  /** How long each try waits for a DNS server, and how many tries: then the servers count as silent. */
  probeTimeoutMs?: number;
  probeTries?: number;
  /** The DNS servers the probe asks: the system's (resolv.conf) unless given (tests: a stub). */
  servers?: readonly string[];
  /** The search list and ndots: /etc/resolv.conf's (as it is at each lookup) unless given. */
  search?: SearchConfig;
  /** The names /etc/hosts lists: the file's, as it is at each lookup, unless given. */
  hostsNames?: ReadonlySet<string>;
  /** getaddrinfo (`dns.lookup(host, { all: true })`) unless given (tests). */
  getaddrinfo?: Lookup;
}

/** A silent server fails a lookup after about 4 s (c-ares waits longer on the second try); glibc: 2 × 5 s. */
const PROBE_TIMEOUT_MS = 1000;
const PROBE_TRIES = 2;

export function systemLookup(options: SystemLookupOptions = {}): SystemLookup {
  const getaddrinfo = options.getaddrinfo ?? ((host) => dnsLookup(host, { all: true }));
  // Made at the first lookup: a beacon whose targets are all IP addresses never asks.
  let probe: DnsResolver | null = null;
  let cancelled = false;
  const cancelledError = (host: string) =>
    Object.assign(new Error(`lookup of ${host} cancelled: stopping`), { code: 'ECANCELLED' });

  function makeProbe(): DnsResolver {
    const resolver = new DnsResolver({
      timeout: options.probeTimeoutMs ?? PROBE_TIMEOUT_MS,
      tries: options.probeTries ?? PROBE_TRIES,
    });
    if (options.servers !== undefined) resolver.setServers(options.servers);
    return resolver;
  }

  return {
    async lookup(host) {
      if (cancelled) throw cancelledError(host);
      const hosts = options.hostsNames ?? hostsFile();
      if (!hosts.has(host.toLowerCase())) {
        probe ??= makeProbe();
        try {
          await probe.resolve4(firstQueryName(host, options.search ?? resolvConf()));
        } catch (err) {
          if (isSilence(err)) throw err;
        }
        // Cancelled while the probe's answer was on its way: no getaddrinfo after a stop.
        if (cancelled) throw cancelledError(host);
      }
      return getaddrinfo(host);
    },
    cancel() {
      cancelled = true;
      probe?.cancel();
    },
  };
}

/** c-ares' errors that mean no server answered (or the query was cancelled). */
function isSilence(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ETIMEOUT' || code === 'ECANCELLED';
}

/**
 * A file's parse, read again only when the file changes (its inode, size
 * or mtime): glibc reads /etc/hosts at every lookup, and a stat costs less
 * than a read and a parse. A missing or unreadable file parses as `missing`.
 */
function watchedFile<T>(path: string, parse: (text: string) => T, missing: T): () => T {
  let seen = '';
  let value = missing;
  return () => {
    try {
      const stat = statSync(path);
      const now = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
      if (now !== seen) {
        value = parse(readFileSync(path, 'utf8'));
        seen = now;
      }
    } catch {
      seen = '';
      value = missing;
    }
    return value;
  };
}

const hostsFile = watchedFile('/etc/hosts', hostsFileNames, new Set<string>());
// No resolv.conf: glibc searches nothing either.
const resolvConf = watchedFile('/etc/resolv.conf', parseResolvConf, NO_SEARCH);

/** `dns.lookup`'s callback shape, as `net.connect` (and undici's `connect`) take a lookup. */
export type NetLookup = (
  hostname: string,
  options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

/**
 * The system lookup in `dns.lookup`'s shape: the answer filtered by
 * `family`, all of it or its first address. `hints` (net asks for
 * ADDRCONFIG) are not passed on: getaddrinfo applies the system's own, and
 * an address of a family this host cannot reach only costs net's
 * happy-eyeballs a fallback.
 */
export function netLookup(names: SystemLookup): NetLookup {
  return (hostname, options, callback) => {
    names.lookup(hostname).then(
      (answer) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
        const addresses: LookupAddress[] = answer
          .map(({ address }) => ({ address, family: isIP(address) }))
          .filter((a) => a.family !== 0 && (wanted === 0 || a.family === wanted));
        const first = addresses[0];
        if (first === undefined) {
          const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
          err.code = 'ENOTFOUND';
          callback(err, options.all ? [] : '');
        } else if (options.all) callback(null, addresses);
        else callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, options.all ? [] : ''),
    );
  };
}
