/**
 * The notifier's HTTP client: undici's Agent, whose connections resolve a
 * receiver's host name through the system lookup (dns/system-lookup.ts),
 * so that a stop can abandon a lookup waiting on a silent DNS server. With
 * fetch's own lookup (getaddrinfo) such a lookup would hold the process at
 * exit until glibc gave up.
 *
 * With a proxy (NOTIFY_PROXY_URL), undici's ProxyAgent: an http receiver is
 * asked of the proxy by its absolute URL, an https one through a CONNECT
 * tunnel; only the proxy's own name is resolved here, the same way. Never a
 * proxy from the environment (Node's NODE_USE_ENV_PROXY, HTTPS_PROXY): what
 * the monitor does is what its configuration says.
 */
import { Agent, type Dispatcher, ProxyAgent } from 'undici';
import { netLookup, type SystemLookup, systemLookup } from '../../shared/dns/system-lookup.js';

export interface HttpClient {
  /** For fetch's `dispatcher`. */
  readonly dispatcher: Dispatcher;
  /** Cancels the lookups in flight and closes the connections once their requests end; not awaited. */
  close(): void;
}

export interface HttpClientOptions {
  /** How host names are resolved (tests: a stub DNS server). */
  names?: SystemLookup;
  /** The proxy every request goes through; null or absent: straight to the receiver. */
  proxyUrl?: URL | null;
}

export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const names = options.names ?? systemLookup();
  const lookup = netLookup(names);
  const proxyUrl = options.proxyUrl ?? null;
  // HTTP/1.1, as Node's own fetch speaks it (undici 8 would offer HTTP/2 over TLS).
  const dispatcher =
    proxyUrl === null
      ? new Agent({ allowH2: false, connect: { lookup } })
      : new ProxyAgent({ uri: proxyUrl.href, allowH2: false, proxyTls: { lookup } });
  return {
    dispatcher,
    close() {
      names.cancel();
      dispatcher.close().catch(() => {});
    },
  };
}
