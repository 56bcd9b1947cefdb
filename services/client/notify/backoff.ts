/**
 * When to try a failed delivery again: exponential backoff with full jitter
 * (the AWS Architecture Blog's "full jitter": the delay is uniform in
 * [0, min(max, base * 2^(attempt-1))]), so many monitors retrying against
 * one receiver spread out instead of arriving in waves. Pure: the caller
 * hands in the times, and the randomness for tests.
 */

export interface BackoffOptions {
  /** The ceiling of the first retry's delay. */
  baseMs: number;
  /** The ceiling never grows beyond this. */
  maxMs: number;
}

export const BACKOFF_DEFAULTS: Readonly<BackoffOptions> = Object.freeze({ baseMs: 1000, maxMs: 5 * 60_000 });

/**
 * The delay before retry number `attempt` (1 = the first retry after the
 * first failure), in whole milliseconds from 0 to the attempt's ceiling
 * inclusive. `random` returns a number in [0, 1), like Math.random. Any
 * attempt count is safe: the exponent stops growing once the cap is reached,
 * so attempt 1000 gives maxMs as the ceiling, never Infinity or NaN.
 */
export function retryDelayMs(
  attempt: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  if (!(Number.isInteger(attempt) && attempt >= 1)) {
    throw new RangeError(`attempt must be an integer >= 1, got ${attempt}`);
  }
  const { baseMs, maxMs } = opts;
  if (!(Number.isFinite(baseMs) && baseMs > 0 && Number.isFinite(maxMs) && maxMs >= baseMs)) {
    throw new RangeError(`backoff needs 0 < baseMs <= maxMs (finite), got ${baseMs} and ${maxMs}`);
  }
  const ceiling = ceilingMs(attempt, opts);
  const r = random();
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  return Math.min(ceiling, Math.floor(unit * (ceiling + 1)));
}

/** The largest delay retry `attempt` may get: min(maxMs, baseMs * 2^(attempt-1)), an integer. */
export function ceilingMs(attempt: number, { baseMs, maxMs }: BackoffOptions): number {
  // Doubling stops at the cap: at most log2(maxMs / baseMs) steps, whatever the attempt.
  let ceiling = baseMs;
  for (let i = 1; i < attempt && ceiling < maxMs; i++) ceiling *= 2;
  return Math.floor(Math.min(ceiling, maxMs));
}

/** When a notification is dropped: it was created at `createdAtMs` and may be tried for `maxAgeMs`. */
export function giveUpAt(createdAtMs: number, maxAgeMs: number): number {
  return createdAtMs + maxAgeMs;
}

/**
 * When to make retry `attempt` of a delivery created at `createdAtMs`, after
 * a failure at `nowMs`: nowMs + the jittered delay, or a server's
 * Retry-After if that is later (capped at maxMs), but never past giveUpAt:
 * a retry that would fall later is made at giveUpAt, the last one.
 */
export function nextAttemptAtMs(
  attempt: number,
  createdAtMs: number,
  nowMs: number,
  opts: BackoffOptions & { maxAgeMs: number; retryAfterMs?: number | null },
  random: () => number = Math.random,
): number {
  const jittered = retryDelayMs(attempt, opts, random);
  const asked = opts.retryAfterMs == null ? 0 : Math.min(Math.max(opts.retryAfterMs, 0), opts.maxMs);
  return Math.min(nowMs + Math.max(jittered, asked), giveUpAt(createdAtMs, opts.maxAgeMs));
}
