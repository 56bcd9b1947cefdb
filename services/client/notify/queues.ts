/**
 * The webhooks' queues in the outbox: what each is called, and which queue a
 * changed configuration hands to which URL. A queue follows its URL, not its
 * place in the list (a label's `#2` would hand one URL's queue to another
 * when two on one host swap places, or the first is removed).
 */
import { createHash } from 'node:crypto';
import { targetLabel } from './targets.js';

/**
 * The name of a webhook's queue (the outbox's `target`): its label's host
 * part and 12 hex digits of the URL's SHA-256,
 * `https://hooks.slack.com#3f9a0c51d2e4`. 48 bits tell a list's URLs apart
 * and say nothing of a secret path.
 */
export function queueKey(url: URL): string {
  return `${targetLabel(url)}#${createHash('sha256').update(url.href).digest('hex').slice(0, 12)}`;
}

/** What a queue key (or a label) says of its URL that is safe to log: scheme, host and port. */
export function keyHost(key: string): string {
  return key.replace(/#[^#]*$/, '');
}

/**
 * The queues that follow a URL changed in place (a webhook's secret
 * rotated, or one channel's URL put in another's place): on a host where
 * exactly one queue waits for a URL the configuration no longer names, and
 * exactly one configured URL is new (not configured at the last start),
 * the new URL takes the old one's queue. Any other reading cannot be told
 * apart from a removal (two URLs on one host, one removed: the other's
 * queue is its own) and moves nothing. Returns [from, to] pairs of keys.
 */
export function queuesMovedInPlace(
  orphaned: readonly string[],
  added: readonly string[],
): Array<[from: string, to: string]> {
  const addedByHost = Map.groupBy(added, keyHost);
  const moves: Array<[string, string]> = [];
  for (const [host, [from, ...otherFrom]] of Map.groupBy(orphaned, keyHost)) {
    const [to, ...otherTo] = addedByHost.get(host) ?? [];
    if (from !== undefined && to !== undefined && otherFrom.length === 0 && otherTo.length === 0)
      moves.push([from, to]);
  }
  return moves;
}
