import { describe, expect, it } from 'vitest';
import { createHistory } from '../../services/client/ingest/history.js';
import { createLogLimiter } from '../../services/client/ingest/log-limiter.js';
import { createIngest } from '../../services/client/ingest/pipeline.js';
import { createTracker } from '../../services/client/tracking/tracker.js';
import { TRACKER_OPTIONS } from '../support/builders.js';
import { captureLogs } from '../support/log-capture.js';

// The errors the socket threads hand over (a socket's, or a datagram's handling that threw) go through
// the same per-reason limit as rejected datagrams: counted exactly, logged at most EXCEPTION_LOG_LIMIT
// times a window.
describe('socket errors', () => {
  function ingestWithLimit(limit: number) {
    const logs = captureLogs('client');
    const limiter = createLogLimiter(limit);
    const ingest = createIngest({
      replay: null,
      tracker: createTracker(TRACKER_OPTIONS),
      history: createHistory(10),
      ignoreUndeclared: false,
      self: null,
      limiter,
      logger: logs.logger,
      stateChanged: () => {},
      senderEvicted: () => {},
      publish: () => {},
    });
    return { logs, limiter, ingest };
  }

  it('counts every one, logs the first of each window, and keeps how many it held back for the mark', () => {
    const { logs, limiter, ingest } = ingestWithLimit(3);
    for (let i = 0; i < 50; i++) ingest.socketError(new Error(`handling failed ${i}`));

    expect(ingest.stats.exceptions.get('socket_error')).toBe(50);
    const lines = logs.events('exception');
    expect(lines.map((l) => [l.reason, (l.err as { message: string }).message])).toEqual([
      ['socket_error', 'handling failed 0'],
      ['socket_error', 'handling failed 1'],
      ['socket_error', 'handling failed 2'],
    ]);
    expect(limiter.rollover()).toEqual([{ reason: 'socket_error', suppressed: 47 }]);

    // The next window logs again.
    ingest.socketError(new Error('after the mark'));
    expect(logs.events('exception')).toHaveLength(4);
    expect(ingest.stats.exceptions.get('socket_error')).toBe(51);
  });
});
