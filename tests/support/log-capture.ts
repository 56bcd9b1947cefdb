/**
 * A pino destination that keeps every line, for asserting on the log contract.
 *
 * Every line a capture takes is checked against the log schema: when a test
 * reads the lines, and after each test and after the file's last hook
 * whether or not anything read them, since many captures only feed a
 * monitor's logger and nothing else would look at those lines. The
 * after-hooks below belong to the test file that imports this module (vitest
 * collects a file's imports in that file's suite, as it does its setup
 * file's) and run after the file's own: a monitor stopped in an afterEach or
 * afterAll has written its last lines by then.
 */
import { Writable } from 'node:stream';
import { afterAll, afterEach } from 'vitest';
import { createLogger, type Logger, type ServiceName } from '../../services/shared/logger.js';
import { expectSchemaValid, type LogRecord, schemaProblems, validLogRecords } from './log-lines.js';

export interface CapturedLogs {
  logger: Logger;
  /** Every line so far, parsed with the log schema (a line that breaks it fails the test). */
  lines(): LogRecord[];
  /** Lines of one event, parsed as lines() does. */
  events(name: string): LogRecord[];
  /** Every line so far checked against the log schema; returns the problems. */
  schemaProblems(): string[];
}

/** Each capture's lines taken since they were last checked (and from then on counted as checked). */
const captureChecks = new Set<() => string[]>();

/** Every capture's new lines checked, then one assertion: each line is reported once, in the test that wrote it. */
function checkEveryCapture(): void {
  const problems: string[] = [];
  let lines = 0;
  for (const take of captureChecks) {
    const fresh = take();
    lines += fresh.length;
    problems.push(...schemaProblems(fresh));
  }
  expectSchemaValid(problems, lines);
}

afterEach(checkEveryCapture);
afterAll(checkEveryCapture);

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
  let checked = 0;
  captureChecks.add(() => {
    const fresh = raw.slice(checked);
    // Past them whatever the outcome: a bad line fails the one test in which it was written.
    checked = raw.length;
    return fresh;
  });
  const logger = createLogger({ service, level, destination });
  const lines = () => {
    // Checked here, so not again after the test (a bad line is reported once).
    checked = raw.length;
    return validLogRecords(raw);
  };
  return {
    logger,
    lines,
    events: (name) => lines().filter((l) => l.event === name),
    schemaProblems: () => schemaProblems(raw),
  };
}
