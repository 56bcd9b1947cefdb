/**
 * The log contract applied to the lines a test reads: every line both
 * services write is one JSON object that matches services/shared/log-schema.ts.
 * Tests read log lines through here, so a line that breaks the contract
 * fails the test that read it, with the zod error and the line.
 */
import { expect } from 'vitest';
import { parseLogLine } from '../../services/shared/log-schema.js';
import { eventually } from './udp.js';

/** One log line, checked against the log schema, its fields looked up by name. */
export type LogRecord = Record<string, unknown> & { event?: string; time?: string };

/** A failure shows this many problems: enough to see what breaks, not a screenful per line of a flood. */
export const PROBLEMS_SHOWN = 10;

type Parsed = ReturnType<typeof parseLogLine>;

const problemsOf = (parsed: readonly Parsed[]): string[] => parsed.flatMap((p) => (p.ok ? [] : [p.error]));

/** The lines that break the log schema, each as its zod error followed by the line; [] when all match. */
export function schemaProblems(lines: readonly string[]): string[] {
  return problemsOf(lines.map(parseLogLine));
}

/**
 * Fails the test when any of `lineCount` lines broke the schema, showing the
 * first problems. `problemCount` is for a caller that kept only the first
 * few of many (a log too large to keep every problem of).
 */
export function expectSchemaValid(
  problems: readonly string[],
  lineCount: number,
  problemCount = problems.length,
): void {
  expect(
    problems.slice(0, PROBLEMS_SHOWN),
    `${problemCount} of ${lineCount} log lines break the log schema (services/shared/log-schema.ts)`,
  ).toEqual([]);
}

/** Every line parsed with the log schema; a line that breaks it fails the test. */
export function validLogRecords(lines: readonly string[]): LogRecord[] {
  const parsed = lines.map(parseLogLine);
  expectSchemaValid(problemsOf(parsed), lines.length);
  return parsed.flatMap((p) => (p.ok ? [p.value as LogRecord] : []));
}

/** Each `state` line's change, as `from->to:reason` (`null->up:first_beat` for a sender new to the monitor). */
export const transitions = (events: readonly LogRecord[]): string[] =>
  events.map((e) => `${e.from}->${e.to}:${e.reason}`);

/**
 * `read` (lines from `docker logs`) again until `check` passes on them, at most 10 s: the log reaches
 * Docker a little after the API shows what its lines say. Returns what passed.
 */
export function untilLogged<T>(read: () => Promise<T>, check: (found: T) => void): Promise<T> {
  return eventually(
    async () => {
      const found = await read();
      check(found);
      return found;
    },
    10_000,
    200,
  );
}
