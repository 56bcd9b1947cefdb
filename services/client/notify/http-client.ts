/**
 * The notifier's HTTP client: undici's Agent, whose connections resolve a
 * receiver's host name through the system lookup (dns/system-lookup.ts),
 * so that a stop can abandon a lookup waiting on a silent DNS server. With
 * fetch's own lookup (getaddrinfo) such a lookup would hold the process at
 * exit until glibc gave up. Unlike Node's own fetch, it never goes through
 * a proxy from the environment (NODE_USE_ENV_PROXY).
 */
import { Agent } from 'undici';
import { netLookup, type SystemLookup, systemLookup } from '../../shared/dns/system-lookup.js';

export interface HttpClient {
  /** For fetch's `dispatcher`. */
  readonly dispatcher: Agent;
  /** Cancels the lookups in flight and closes the connections once their requests end; not awaited. */
  close(): void;
}

export function createHttpClient(names: SystemLookup = systemLookup()): HttpClient {
  // HTTP/1.1, as Node's own fetch speaks it (undici 8 would offer HTTP/2 over TLS).
  const dispatcher = new Agent({ allowH2: false, connect: { lookup: netLookup(names) } });
  return {
    dispatcher,
    close() {
      names.cancel();
      dispatcher.close().catch(() => {});
    },
  };
}
