/**
 * Who watches the watchman: the monitor beats to its peer monitors
 * (PEER_MONITORS) with the same beacon the time server uses, so each peer
 * tracks it like any sender and notifies when it dies. A peer list may name
 * this monitor too (Swarm's `tasks.<service>`, a headless Service, the same
 * list of IP addresses on every host): its own socket (an address of this
 * host, on the port it listens on) is left out, so it never watches itself,
 * and a name that names only this monitor (its peers are gone) is no DNS
 * error. A peer on this host at another port is another monitor, and kept.
 * The beats are signed with the first of AUTH_KEY_FILES' keys, so a peer
 * that requires authentication (REQUIRE_AUTH) accepts them; unsigned when
 * the monitor has no key.
 */
import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import { type Beacon, startBeacon } from '../../shared/beacon/beacon.js';
import { canonicalAddress } from '../../shared/beacon/resolver.js';
import type { Target } from '../../shared/beacon/targets.js';
import type { Lookup } from '../../shared/dns/system-lookup.js';
import type { Signer } from '../../shared/protocol.js';
import type { Keyring } from '../../shared/signing.js';

export interface PeerBeaconOptions {
  peers: readonly Target[];
  intervalMs: number;
  /** This monitor's name: the `source` of its beats. */
  source: string;
  /** The `boot` of its beats (the ingest knows one come back by it); a random one if absent. */
  boot?: string;
  /** Signs the beats: peerSigner() of the monitor's keyring. */
  signer: Signer | null;
  lookup?: Lookup;
  /** Where this monitor's own UDP socket is bound: the port, and the address (a wildcard: every interface's). */
  own: { address: string; port: number };
  /** This host's addresses; the network interfaces' unless given (tests). */
  ownAddresses?: ReadonlySet<string>;
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** The key this monitor signs its beats to its peers with: the first one configured, if any. */
export function peerSigner(keyring: Keyring): Signer | null {
  for (const [keyId, key] of keyring) return { keyId, key };
  return null;
}

export function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) out.add(a.address);
  }
  return out;
}

export function startPeerBeacon(options: PeerBeaconOptions, logger: Logger): Beacon | null {
  if (options.peers.length === 0) return null;
  const { address, port } = options.own;
  const own = WILDCARDS.has(address) ? (options.ownAddresses ?? localAddresses()) : [address];
  const addresses = new Set([...own].map(canonicalAddress));
  return startBeacon(
    {
      intervalMs: options.intervalMs,
      targets: options.peers,
      source: options.source,
      ...(options.boot === undefined ? {} : { boot: options.boot }),
      signer: options.signer,
      sendBye: true,
      ...(options.lookup === undefined ? {} : { lookup: options.lookup }),
      exclude: { addresses, port },
    },
    logger,
  );
}
