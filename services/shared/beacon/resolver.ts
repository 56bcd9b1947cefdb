/**
 * Name resolution for one target, in the background: the beacon asks for a
 * lookup shortly before each beat (`refresh`) and sends to the last good
 * answer (`addresses`), so a beat never waits for a resolver that has
 * answered once. One lookup at a time: a hung resolver (a cut network)
 * holds one lookup, not one per beat, and a lookup not answered within
 * `timeoutMs` counts as failed while it keeps its place.
 */
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { Lookup } from '../dns/system-lookup.js';
import { canonicalIp } from '../ip-address.js';
import { formatTarget, pickAddresses, type Target } from './targets.js';

export interface ResolverOptions {
  target: Target;
  lookup: Lookup;
  /** A lookup not answered within this long is a failure (it still keeps its place). */
  timeoutMs: number;
  /** Called for each `dns_error` line this resolver writes (the beacon counts them per target). */
  onDnsError(): void;
  /**
   * A socket never to send to: a monitor's own (its addresses, on its port),
   * in a peer list naming every monitor. For a target on another port it
   * excludes nothing (another monitor on this host). An answer of only these
   * addresses, or an IP address that is one of them, is a good one that
   * names nobody now: beats go nowhere, and that is no error.
   */
  exclude?: OwnSocket;
}

/** This host's addresses (each as canonicalAddress() writes it), and the port its own socket is bound to on them. */
export interface OwnSocket {
  addresses: ReadonlySet<string>;
  port: number;
}

/** An address as OwnSocket keeps it: canonical (shared/ip-address.ts), brackets dropped; anything else as it is. */
export function canonicalAddress(address: string): string {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  return canonicalIp(bare) ?? bare;
}

export interface Resolver {
  /** Where the target's beats go: the last good answer; null before the first one. */
  addresses(): readonly string[] | null;
  /** Addresses of the last good answer left out by the cap (MAX_ADDRESSES_PER_TARGET). */
  dropped(): number;
  /** Why the last lookup failed; null after a good answer. */
  lastError(): Error | null;
  /** Starts a lookup unless one is in flight (a no-op for an IP address). */
  refresh(): void;
  /** Settles when the lookup in flight has answered, failed or timed out; at once when none is. */
  settled(): Promise<void>;
  stop(): void;
}

/**
 * A failed lookup is logged here (`exception`, reason `dns_error`, no `seq`)
 * when the target has a last good answer, which its beats keep going to.
 * Before the first good answer there is nothing to keep: the beacon reports
 * the failure with each datagram that had nowhere to go.
 */
export function startResolver(options: ResolverOptions, log: Logger): Resolver {
  const { target } = options;
  const exclude = options.exclude?.port === target.port ? options.exclude.addresses : undefined;
  if (isIP(target.host) !== 0) {
    const fixed = exclude?.has(canonicalAddress(target.host)) ? [] : [target.host];
    return {
      addresses: () => fixed,
      dropped: () => 0,
      lastError: () => null,
      refresh() {},
      settled: () => Promise.resolve(),
      stop() {},
    };
  }

  const name = formatTarget(target);
  let current: readonly string[] | null = null;
  let dropped = 0;
  let lastError: Error | null = null;
  /** The lookup in flight; settles when it answers or times out. */
  let inFlight: Promise<void> | null = null;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  function fail(err: Error): void {
    lastError = err;
    if (current === null) return;
    options.onDnsError();
    const kept = `${current.length} address${current.length === 1 ? '' : 'es'}`;
    log.warn(
      {
        event: 'exception',
        reason: 'dns_error',
        target: name,
        detail: `sending to the last good answer (${kept})`,
        err,
      },
      `cannot resolve ${target.host}: sending to its last ${kept}`,
    );
  }

  /** Takes a good answer; false when it has no usable address. */
  function accept(answer: readonly { address: string }[]): boolean {
    if (exclude !== undefined && answer.length > 0) {
      answer = answer.filter((a) => !exclude.has(canonicalAddress(a.address)));
      if (answer.length === 0) {
        current = [];
        dropped = 0;
        lastError = null;
        return true;
      }
    }
    const pick = pickAddresses(answer, target.mode);
    if (pick.addresses.length === 0) return false;
    current = pick.addresses;
    dropped = pick.dropped;
    lastError = null;
    return true;
  }

  function refresh(): void {
    if (stopped || inFlight !== null) return;
    let timedOut = false;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        timedOut = true;
        fail(new Error(`lookup of ${target.host} took over ${options.timeoutMs} ms`));
        resolve();
      }, options.timeoutMs);
      timer.unref();
    });
    const answered = (async () => options.lookup(target.host))().then(
      (answer) => {
        if (stopped || accept(answer) || timedOut) return;
        fail(new Error(`${target.host} resolved to no usable address`));
      },
      (err: unknown) => {
        if (stopped || timedOut) return;
        fail(err instanceof Error ? err : new Error(String(err)));
      },
    );
    // The place is held until the lookup itself settles, however late.
    const held = answered.finally(() => {
      clearTimeout(timer);
      inFlight = null;
    });
    inFlight = Promise.race([held, timeout]);
  }

  return {
    addresses: () => current,
    dropped: () => dropped,
    lastError: () => lastError,
    refresh,
    settled: () => inFlight ?? Promise.resolve(),
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
