/**
 * The one place a process hooks SIGTERM/SIGINT and fatal errors: it stops
 * the service, flushes the logs and exits (0 after a clean stop, 1 after a
 * failed one or a fatal error; a second signal forces exit). Built on
 * close-with-grace. Only main.ts files call this.
 */
import closeWithGrace from 'close-with-grace';
import type { Logger } from 'pino';
import { asError } from './as-error.js';
import type { LogDestination } from './logger.js';

export interface ShutdownOptions {
  logger: Logger;
  /**
   * Stops the service: sockets, servers, timers. `planned` is false after a
   * fatal error: no `bye` then, for the crash must look like the death it is.
   */
  stop: (how: { planned: boolean }) => Promise<void>;
  /** The log destination: flushed in order on the normal path, synchronously on the exit-now paths (timeout, second signal). */
  logs: LogDestination['stream'];
  /** Hard limit for stop() (STOP_TIMEOUT); the process exits 1 past it. */
  timeoutMs: number;
}

export function installShutdown({ logger, stop, logs, timeoutMs }: ShutdownOptions): void {
  const flush = () => new Promise<void>((resolve) => logs.flush(() => resolve()));
  const flushSync = () => logs.flushSync();
  closeWithGrace(
    {
      delay: timeoutMs,
      logger: false,
      onTimeout: (ms) => {
        logger.error({ event: 'stop', reason: 'timeout', timeoutMs: ms }, 'stop timed out');
        flushSync();
      },
      onSecondSignal: (signal) => {
        logger.warn({ event: 'stop', reason: 'second_signal', signal }, 'second signal: exiting now');
        flushSync();
      },
    },
    async (out) => {
      const { signal } = out;
      // An error or rejection, whatever its value: `throw undefined` is as fatal as any other.
      const failed = 'err' in out;
      const err = failed ? asError(out.err) : null;
      if (err !== null) logger.fatal({ event: 'fatal', err }, 'fatal error: stopping');
      const startedAt = performance.now();
      logger.info({ event: 'stop', reason: signal ?? (failed ? 'fatal' : 'exit'), signal }, 'stopping');
      try {
        await stop({ planned: !failed });
        if (!failed) {
          logger.info(
            { event: 'stopped', durationMs: Math.round(performance.now() - startedAt) },
            'stopped cleanly',
          );
        }
      } catch (stopErr) {
        // close-with-grace logs nothing (logger: false): the line that says why the stop failed.
        logger.fatal({ event: 'fatal', err: stopErr }, 'stop failed');
        throw stopErr;
      } finally {
        // Asynchronous, so the lines stay in order behind a write in flight.
        await flush();
      }
      // close-with-grace exits 1 for a truthy error only: one that threw undefined or null too.
      if (err !== null && !out.err) throw err;
    },
  );
}
