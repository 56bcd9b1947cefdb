/**
 * The one place a sender's state change takes effect, whichever path found
 * it (a datagram's arrival or the liveness clock): handed to the state file
 * first (written at once), then one `state` log line and one live `state`
 * event per change, in the order they happened. Every further consumer
 * (notifications) is added here, so no path can forget one.
 */
import type { Logger } from 'pino';
import type { EventHub } from '../http/sse.js';
import type { StateChange } from '../tracking/tracker.js';

export type StateChangeSink = (changes: readonly StateChange[]) => void;

export function createStateChangeSink(
  logger: Logger,
  hub: EventHub,
  persist: (changes: readonly StateChange[]) => void,
): StateChangeSink {
  return (changes) => {
    persist(changes);
    for (const c of changes) {
      logger.info(
        { event: 'state', source: c.source, from: c.from, to: c.to, reason: c.reason },
        `${c.source}: ${c.from ?? 'new'} -> ${c.to}`,
      );
      hub.publish('state', c);
    }
  };
}
