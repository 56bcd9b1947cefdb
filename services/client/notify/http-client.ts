/**
 * The notifier's HTTP client: undici's Agent, whose connections resolve a
 * receiver's host name through the system lookup (dns/system-lookup.ts),
 * so that a stop can abandon a lookup waiting on a silent DNS server. With
 * fetch's own lookup (getaddrinfo) such a lookup would hold the process at
 * exit until glibc gave up.
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
  const dispatcher = new Agent({ connect: { lookup: netLookup(names) } });
  return {
    dispatcher,
    close() {
      names.cancel();
      dispatcher.close().catch(() => {});
    },
  };
}
