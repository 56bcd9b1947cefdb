/** A pino destination that keeps every line, for asserting on the log contract. */
import { Writable } from 'node:stream';
import { type LogLine, parseLogLine } from '../../services/shared/log-schema.js';
import { createLogger, type Logger, type ServiceName } from '../../services/shared/logger.js';

export interface CapturedLogs {
  logger: Logger;
  /** Every line so far, parsed as JSON (throws on a line that is not JSON). */
  lines(): Record<string, unknown>[];
  /** Lines of one event. */
  events(name: string): Record<string, unknown>[];
  /** Validates every line against the log schema; returns the problems. */
  schemaProblems(): string[];
  parsed(): LogLine[];
}

export function captureLogs(service: ServiceName, level = 'info'): CapturedLogs {
  const raw: string[] = [];
  let partial = '';
  const destination = new Writable({
    write(chunk, _enc, done) {
      const text = partial + chunk.toString();
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      raw.push(...parts.filter((l) => l.length > 0));
      done();
    },
  });
  const logger = createLogger({ service, level, destination });
  const lines = () => raw.map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    logger,
    lines,
    events: (name) => lines().filter((l) => l.event === name),
    schemaProblems: () => raw.map(parseLogLine).flatMap((r) => (r.ok ? [] : [r.error])),
    parsed: () => raw.map(parseLogLine).flatMap((r) => (r.ok ? [r.value] : [])),
  };
}
