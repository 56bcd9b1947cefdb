/**
 * Silences: "no notifications for these senders until then". A silence
 * names its senders with a glob (`*` any run, `?` one character, everything
 * else literal; anchored, case-sensitive) and ends at `until`. Pure: the
 * caller hands in the time and keeps the list (the store and the API).
 */
import { z } from 'zod';
import { parseDuration } from '../../shared/duration.js';

export interface Silence {
  id: string;
  /** A glob over sender keys (a protocol sender's `source`, a plain-text sender's address). */
  sources: string;
  /** Silenced while nowMs < until (ms since the epoch). */
  until: number;
  comment: string;
  createdAtMs: number;
}

/** A silence lasts at most this long (a year and a day): a sender to be ignored for good is undeclared instead. */
export const MAX_SILENCE_MS = 366 * 86_400_000;

const DURATION_EXAMPLE = 'a duration with a unit (ms, s, m, h), e.g. 2h';

/**
 * The API's POST body. `until` is an ISO-8601 date-time with a zone (`Z` or
 * an offset) or a duration from now; whether it lies in the future is only
 * known with a clock, so parseSilenceInput checks that.
 */
export const silenceInputSchema = z.strictObject({
  sources: z
    .string()
    .min(1)
    .max(256)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
    .describe('glob over sender keys: * any run, ? one character, all else literal'),
  until: z
    .string()
    .max(64)
    .refine((t) => parseDuration(t) !== null || z.iso.datetime({ offset: true }).safeParse(t).success, {
      message: `an ISO-8601 date-time with a zone (2026-01-31T12:00:00Z) or ${DURATION_EXAMPLE}`,
    })
    .describe('end of the silence: an ISO-8601 date-time or a duration from now'),
  comment: z.string().max(500).default('').describe('why (shown on the page)'),
});

export type SilenceInput = z.input<typeof silenceInputSchema>;

export type ParsedSilenceInput =
  | { ok: true; value: { sources: string; untilMs: number; comment: string } }
  | { ok: false; parameter: string; message: string };

/** Validates a POST body at `nowMs`; a refusal names the offending parameter (`body` for a non-object). */
export function parseSilenceInput(body: unknown, nowMs: number): ParsedSilenceInput {
  const parsed = silenceInputSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue === undefined) return { ok: false, parameter: 'body', message: 'invalid body' };
    if (issue.code === 'unrecognized_keys') {
      return { ok: false, parameter: issue.keys[0] ?? 'body', message: 'unknown parameter' };
    }
    const first = issue.path[0];
    return {
      ok: false,
      parameter: typeof first === 'string' ? first : 'body',
      message: issue.path.length === 0 ? 'expected a JSON object' : issue.message,
    };
  }
  const { sources, until, comment } = parsed.data;
  const duration = parseDuration(until);
  const untilMs = duration === null ? Date.parse(until) : nowMs + duration;
  if (!(untilMs > nowMs)) return { ok: false, parameter: 'until', message: 'must be in the future' };
  if (untilMs - nowMs > MAX_SILENCE_MS) {
    return { ok: false, parameter: 'until', message: 'must be at most 366 days ahead' };
  }
  return { ok: true, value: { sources, untilMs, comment } };
}

/**
 * A glob compiled into its literal runs: `a*b?c*d` -> ['a', 'b?c', 'd']
 * (each run may hold `?`). Matching puts the first run at the start, the
 * last at the end and each run between at its leftmost place after the
 * previous one; for runs of fixed length that is a match exactly when one
 * exists, so nothing is ever tried twice: O(source length x glob length) at
 * worst, with no backtracking and no RegExp (nothing to inject).
 */
export function globMatcher(glob: string): (source: string) => boolean {
  const runs = glob.split('*');
  if (runs.length === 1) return (source) => source.length === glob.length && runAt(glob, source, 0);
  const head = runs[0] ?? '';
  const tail = runs[runs.length - 1] ?? '';
  const middle = runs.slice(1, -1).filter((run) => run !== '');
  const fixed = head.length + tail.length + middle.reduce((n, run) => n + run.length, 0);
  return (source) => {
    if (source.length < fixed) return false;
    if (!runAt(head, source, 0)) return false;
    const end = source.length - tail.length;
    if (!runAt(tail, source, end)) return false;
    let from = head.length;
    for (const run of middle) {
      const at = findRun(run, source, from, end);
      if (at < 0) return false;
      from = at + run.length;
    }
    return true;
  };
}

/** `run` (with `?` for any one character) matches source at `at`. */
function runAt(run: string, source: string, at: number): boolean {
  if (at < 0 || at + run.length > source.length) return false;
  for (let i = 0; i < run.length; i++) {
    const c = run.charCodeAt(i);
    if (c !== QUESTION && c !== source.charCodeAt(at + i)) return false;
  }
  return true;
}

/** The leftmost place in source[from, end) where `run` fits entirely, or -1. */
function findRun(run: string, source: string, from: number, end: number): number {
  for (let at = from; at + run.length <= end; at++) if (runAt(run, source, at)) return at;
  return -1;
}

const QUESTION = '?'.charCodeAt(0);

const compiled = new WeakMap<Silence, (source: string) => boolean>();

function matches(silence: Silence, source: string): boolean {
  let matcher = compiled.get(silence);
  if (matcher === undefined) {
    matcher = globMatcher(silence.sources);
    compiled.set(silence, matcher);
  }
  return matcher(source);
}

/** The silence covering `source` at `nowMs` that lasts longest, or null. A silence ends at exactly `until`. */
export function activeSilence(silences: readonly Silence[], source: string, nowMs: number): Silence | null {
  let best: Silence | null = null;
  for (const s of silences) {
    if (nowMs >= s.until || (best !== null && s.until <= best.until)) continue;
    if (matches(s, source)) best = s;
  }
  return best;
}
