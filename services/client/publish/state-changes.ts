/**
 * The one place a sender's state change takes effect, whichever path found
 * it (a datagram's arrival or the liveness clock): one `state` log line and
 * one live `state` event per change, in the order they happened. Every
 * further consumer (the state file, notifications) is added here, so no path
 * can forget one.
 */
import type { Logger } from 'pino';
import type { EventHub } from '../http/sse.js';
import type { StateChange } from '../tracking/tracker.js';

export type StateChangeSink = (changes: readonly StateChange[]) => void;

export function createStateChangeSink(logger: Logger, hub: EventHub): StateChangeSink {
  return (changes) => {
    for (const c of changes) {
      logger.info(
        { event: 'state', source: c.source, from: c.from, to: c.to, reason: c.reason },
        `${c.source}: ${c.from ?? 'new'} -> ${c.to}`,
      );
      hub.publish('state', c);
    }
  };
}
