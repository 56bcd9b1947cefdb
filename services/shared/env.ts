/**
 * Configuration from environment variables, described by zod schemas keyed
 * by the variable's name. Each field has a default and a description (the
 * README's configuration table is checked against them). `parseEnv` reads
 * the environment once, at the edge; everything below gets a typed object.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseDuration } from './duration.js';

export type EnvSpec = Record<string, z.ZodType<unknown, string | undefined>>;
export type EnvValues<S extends EnvSpec> = { [K in keyof S]: z.output<S[K]> };

export interface EnvProblem {
  variable: string;
  /** undefined when unset, or when the value is a secret. */
  value: string | undefined;
  expected: string;
  /** The value may hold a secret (a webhook's token, a password): it is never shown. */
  secret?: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: EnvProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: EnvProblem): string {
  const shown =
    p.secret === true ? '(a secret, not shown)' : p.value === undefined ? '(unset)' : JSON.stringify(p.value);
  return `invalid configuration: ${p.variable}=${shown}: expected ${p.expected}`;
}

/**
 * A setting read from the environment variable `variable`, for a spec keyed
 * by the config's own names (`{ udpPort: fromEnv('UDP_PORT', port(...)) }`):
 * the spec then yields the typed config object itself. Without it, a
 * spec's key is the variable's name.
 */
export function fromEnv<T>(variable: string, schema: z.ZodType<T, string | undefined>) {
  VARIABLES.set(schema, variable);
  return schema;
}
const VARIABLES = new WeakMap<object, string>();

/**
 * Marks a setting whose value may hold a secret (a webhook URL's token, a
 * proxy's password): a problem with it names the variable and what is
 * expected, never the value, which would otherwise reach the log.
 */
export function secret<T>(schema: z.ZodType<T, string | undefined>) {
  SECRETS.add(schema);
  return schema;
}
const SECRETS = new WeakSet<object>();
const variableOf = (key: string, schema: object) => VARIABLES.get(schema) ?? key;

/** Parse every setting of `spec`; throws one ConfigError listing every bad variable. */
export function parseEnv<S extends EnvSpec>(spec: S, env: Record<string, string | undefined>): EnvValues<S> {
  const values: Record<string, unknown> = {};
  const problems: EnvProblem[] = [];
  for (const [key, schema] of Object.entries(spec)) {
    const variable = variableOf(key, schema);
    const raw = env[variable];
    const value = raw === undefined || raw.trim() === '' ? undefined : raw.trim();
    const result = schema.safeParse(value);
    if (result.success) values[key] = result.data;
    else {
      const expected = result.error.issues[0]?.message ?? 'a valid value';
      problems.push(
        SECRETS.has(schema)
          ? { variable, value: undefined, expected, secret: true }
          : { variable, value: raw, expected },
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return values as EnvValues<S>;
}

export interface EnvDoc {
  variable: string;
  default: string;
  description: string;
}

/** Rows for the README's configuration table. */
export function describeEnv(spec: EnvSpec): EnvDoc[] {
  return Object.entries(spec).map(([key, schema]) => {
    const meta = DEFAULTS.get(schema);
    return { variable: variableOf(key, schema), default: meta ?? '', description: schema.description ?? '' };
  });
}

// Field builders. Each takes the default as the string a user would write.
const DEFAULTS = new WeakMap<object, string>();

/** A field of its own kind: `convert` gives the value, or undefined when the text is not one (`expected` says what is). */
export function custom<T>(
  def: string,
  expected: string,
  description: string,
  convert: (text: string) => T | undefined,
): z.ZodType<T, string | undefined> {
  return field(def, description, expected, convert);
}

function field<T>(
  defaultText: string | undefined,
  description: string,
  expected: string,
  convert: (text: string) => T | undefined,
): z.ZodType<T, string | undefined> {
  const schema = z
    .string({ error: expected })
    .optional()
    .transform((text, ctx) => {
      const source = text ?? defaultText;
      if (source === undefined) {
        ctx.addIssue({ code: 'custom', message: expected });
        return z.NEVER;
      }
      const value = convert(source);
      if (value === undefined) {
        ctx.addIssue({ code: 'custom', message: expected });
        return z.NEVER;
      }
      return value;
    })
    .describe(description);
  DEFAULTS.set(schema, defaultText ?? '(none)');
  return schema as z.ZodType<T, string | undefined>;
}

export function integer(def: number, min: number, max: number, description: string) {
  return field(String(def), description, `an integer from ${min} to ${max}`, (t) => {
    if (!/^-?\d+$/.test(t)) return undefined;
    const n = Number(t);
    return n >= min && n <= max ? n : undefined;
  });
}

export function port(def: number, description: string) {
  return integer(def, 0, 65535, description);
}

export function duration(def: string, minMs: number, maxMs: number, description: string) {
  return field(
    def,
    description,
    `a duration with a unit (ms, s, m, h) from ${minMs}ms to ${maxMs}ms, e.g. 5s`,
    (t) => {
      const ms = parseDuration(t);
      return ms !== null && ms >= minMs && ms <= maxMs ? ms : undefined;
    },
  );
}

/** An optional duration: unset or `auto` gives null. */
export function optionalDuration(minMs: number, maxMs: number, description: string) {
  return field('auto', description, `\`auto\` or a duration with a unit (ms, s, m, h), e.g. 2s`, (t) => {
    if (t === 'auto') return null;
    const ms = parseDuration(t);
    return ms !== null && ms >= minMs && ms <= maxMs ? ms : undefined;
  });
}

export function bytes(def: string, min: number, max: number, description: string) {
  return field(
    def,
    description,
    `a size in bytes from ${min} to ${max}, optionally with KiB or MiB, e.g. 4MiB`,
    (t) => {
      const m = /^(\d+)\s*(B|KiB|MiB)?$/.exec(t);
      if (m === null) return undefined;
      const n = Number(m[1]) * (m[2] === 'MiB' ? 1024 * 1024 : m[2] === 'KiB' ? 1024 : 1);
      return n >= min && n <= max ? n : undefined;
    },
  );
}

export function boolean(def: boolean, description: string) {
  return field(String(def), description, '`true` or `false`', (t) =>
    t === 'true' ? true : t === 'false' ? false : undefined,
  );
}

export function text(def: string | undefined, pattern: RegExp, expected: string, description: string) {
  return field(def, description, expected, (t) => (pattern.test(t) ? t : undefined));
}

/** An IP address, v4 or v6 (what a socket binds to; a host name is not resolved here). */
export function ipAddress(def: string, description: string) {
  return field(def, description, 'an IP address', (t) => (isIP(t) === 0 ? undefined : t));
}

/** An optional file path (a Docker secret, a list): empty for none. */
export function filePath(description: string) {
  return text('', /^(\S(.*\S)?)?$/, 'a file path', description);
}

export function oneOf<const T extends readonly string[]>(def: T[number], choices: T, description: string) {
  return field(def, description, `one of ${choices.join(', ')}`, (t) =>
    (choices as readonly string[]).includes(t) ? (t as T[number]) : undefined,
  );
}

/**
 * A comma-separated list, each item converted by `item` (undefined = invalid);
 * with `keyOf`, two items of one key are invalid too (the same thing twice).
 */
export function list<T>(
  def: string,
  expected: string,
  description: string,
  item: (text: string) => T | undefined,
  maxItems = 64,
  keyOf?: (value: T) => string,
) {
  return field(def, description, expected, (t) => {
    const parts = t === '' ? [] : t.split(',').map((p) => p.trim());
    if (parts.length > maxItems) return undefined;
    const out: T[] = [];
    const keys = new Set<string>();
    for (const p of parts) {
      const v = item(p);
      if (v === undefined) return undefined;
      if (keyOf !== undefined) {
        const key = keyOf(v);
        if (keys.has(key)) return undefined;
        keys.add(key);
      }
      out.push(v);
    }
    return out;
  });
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export function logLevel() {
  return oneOf('info', LOG_LEVELS, 'pino log level');
}

/** STOP_TIMEOUT, the same setting for both services. */
export function stopTimeout() {
  return duration(
    '1800ms',
    100,
    60_000,
    "How long a stop may take (the beacon's bye; the monitor's last state-file write, 1.4-1.7 s at 50,000 senders) before the process gives up, logs `stop timed out` and exits 1; keep it under the orchestrator's grace period (compose, Swarm, Kubernetes: 5s)",
  );
}
