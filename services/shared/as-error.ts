/**
 * A thrown value as an Error. JavaScript can throw anything (a string, an
 * object, undefined); a log line's `err` is always `{type, message, stack}`
 * (log-schema.ts), and a failure must read as one whatever was thrown.
 */
import { inspect } from 'node:util';

/** What a thrown value that is not an Error becomes: its `type` in a log line says so. */
export class NonError extends Error {
  constructor(value: unknown) {
    super(
      `a value that is not an Error was thrown: ${inspect(value, { depth: 2, breakLength: Number.POSITIVE_INFINITY })}`,
    );
    this.name = 'NonError';
  }
}

export function asError(value: unknown): Error {
  return value instanceof Error ? value : new NonError(value);
}
