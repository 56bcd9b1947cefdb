/**
 * Every project's setup file. A timer set to NaN ms fires after 1 ms: a wait
 * computed from a missing value silently becomes no wait, and the check after
 * it proves nothing. Node only warns (TimeoutNaNWarning); here the test in
 * which the timer was set fails, with the warning's stack.
 */
import { afterEach, expect } from 'vitest';

const nanTimers: string[] = [];

process.on('warning', (warning) => {
  if (warning.name === 'TimeoutNaNWarning') nanTimers.push(warning.stack ?? warning.message);
});

afterEach(async () => {
  // The warning is emitted on the next tick after the timer is set.
  await new Promise((resolve) => setImmediate(resolve));
  expect(nanTimers.splice(0), 'a timer was set to NaN ms').toEqual([]);
});
