/**
 * The one way both services log: pino, one JSON object per line, with
 * `time` (ISO-8601), `level` (a word), `service` and, by convention at every
 * call site, `event`. The schema of every line is in log-schema.ts.
 */
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';
export type ServiceName = 'server' | 'client';

export interface LoggerSetup {
  service: ServiceName;
  level: string;
  /** Where lines go; stdout (asynchronous, bounded buffer) when omitted. */
  destination?: DestinationStream;
}

export function loggerOptions(service: ServiceName, level: string): LoggerOptions {
  return {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
}

export function createLogger(setup: LoggerSetup): Logger {
  return pino(loggerOptions(setup.service, setup.level), setup.destination ?? stdoutDestination().stream);
}

export interface StdoutDestination {
  stream: DestinationStream & { flushSync(): void };
  /** Lines dropped because stdout could not keep up and the buffer was full. */
  dropped(): number;
}

/**
 * Stdout through sonic-boom, asynchronous so a slow reader of the logs never
 * stalls the event loop, with a bounded buffer: past `maxBufferBytes` lines
 * are dropped and counted instead of growing memory without limit.
 */
export function stdoutDestination(maxBufferBytes = 16 * 1024 * 1024): StdoutDestination {
  const stream = pino.destination({ dest: 1, sync: false, maxLength: maxBufferBytes });
  let dropped = 0;
  stream.on('drop', () => {
    dropped++;
  });
  return { stream, dropped: () => dropped };
}
