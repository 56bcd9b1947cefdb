/**
 * The one place a sender's state change takes effect, whichever path found
 * it (a datagram's arrival or the liveness clock): handed first to the state
 * file (written at once), the silences and the notifier (whose outbox rows
 * are written before this returns), then one `state` log line and one live
 * `state` event per change, in the order they happened. Every consumer is
 * wired here, so no path can forget one.
 */
import type { Logger } from 'pino';
import type { EventHub } from '../http/sse.js';
import type { StateChange } from '../tracking/tracker.js';

export type StateChangeSink = (changes: readonly StateChange[]) => void;

export function createStateChangeSink(
  logger: Logger,
  hub: EventHub,
  /** Run first, in order: the state file, silences, notifications (the outbox). */
  before: ReadonlyArray<(changes: readonly StateChange[]) => void>,
): StateChangeSink {
  return (changes) => {
    for (const consume of before) consume(changes);
    for (const c of changes) {
      logger.info(
        { event: 'state', source: c.source, from: c.from, to: c.to, reason: c.reason },
        `${c.source}: ${c.from ?? 'new'} -> ${c.to}`,
      );
      hub.publish('state', c);
    }
  };
}
