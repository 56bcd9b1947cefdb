/**
 * A quick yes, read from a zod object schema's own definition: for an
 * input that passes every rule the schema states, zod's `safeParse` would
 * succeed too. The decode of every datagram asks it first, and asks zod
 * only when it does not say yes (so zod still gives every reason a
 * datagram is refused). It exists for speed alone: zod runs each check of
 * each field through a general loop, about 0.45 µs a datagram; the rules
 * read here cost a tenth of that (docs/PERFORMANCE.md).
 *
 * It knows the few kinds of rule the wire schema uses, as zod states and
 * applies them: a literal or an enum (zod's own set of values), a string
 * (a regex or an ISO date-time's pattern, a maximum length) and a number
 * (finite; a safe integer; a minimum and a maximum). A schema with
 * anything else (another type, a refinement, a transform, an optional
 * field, unknown keys kept, a coercion) gets no quick yes at all: null.
 * So the rules stay written once, in the zod schema.
 *
 * What it says yes to, zod accepts; the reverse need not hold. A string
 * longer than its maximum in UTF-16 units may still fit zod's count of code
 * points, and is left to zod.
 */
import type { z } from 'zod';

const ONE_OF = 0;
const STRING = 1;
const NUMBER = 2;

/** One field's rules. Every rule has every property, so the loop below reads one shape. */
interface FieldRule {
  key: string;
  kind: typeof ONE_OF | typeof STRING | typeof NUMBER;
  /** ONE_OF: the values zod accepts. */
  values: ReadonlySet<unknown>;
  /** STRING: patterns the value must match, each. */
  patterns: readonly RegExp[];
  /** STRING: at most this many UTF-16 units. */
  maxUnits: number;
  /** NUMBER: a safe integer. */
  safeInteger: boolean;
  min: number;
  minInclusive: boolean;
  max: number;
  maxInclusive: boolean;
}

/** A check's definition, as zod keeps it (only what is read here). */
interface CheckDef {
  check?: string;
  format?: string;
  pattern?: unknown;
  value?: unknown;
  inclusive?: boolean;
  maximum?: unknown;
}

interface SchemaDef extends CheckDef {
  type: string;
  coerce?: boolean;
  checks?: ReadonlyArray<{ _zod: { def: CheckDef } }>;
}

interface ZodInternals {
  _zod: { def: SchemaDef; values?: ReadonlySet<unknown> };
}

/** String formats whose check is their pattern alone (zod's $ZodCheckRegex and $ZodISODateTime). */
const PATTERN_FORMATS = new Set(['regex', 'datetime']);

/**
 * For `schema` (a zod object), a test that says yes only to what zod
 * accepts; null if the schema states a rule this file does not know.
 */
export function fastAcceptor(
  schema: z.ZodObject,
): ((input: Readonly<Record<string, unknown>>) => boolean) | null {
  const def = (schema as unknown as ZodInternals)._zod.def as SchemaDef & {
    shape?: Record<string, unknown>;
    catchall?: unknown;
  };
  if (def.type !== 'object' || def.catchall !== undefined || (def.checks?.length ?? 0) > 0) return null;
  const rules: FieldRule[] = [];
  for (const [key, field] of Object.entries(def.shape ?? {})) {
    if (key === '__proto__') return null;
    const rule = fieldRule(key, field as ZodInternals);
    if (rule === null) return null;
    rules.push(rule);
  }
  return (input) => {
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as FieldRule;
      if (!holds(rule, input[rule.key])) return false;
    }
    return true;
  };
}

function holds(rule: FieldRule, value: unknown): boolean {
  switch (rule.kind) {
    case ONE_OF:
      return rule.values.has(value);
    case STRING: {
      if (typeof value !== 'string' || value.length > rule.maxUnits) return false;
      for (let i = 0; i < rule.patterns.length; i++) {
        const pattern = rule.patterns[i] as RegExp;
        pattern.lastIndex = 0; // as zod does: a global or sticky pattern starts at the beginning
        if (!pattern.test(value)) return false;
      }
      return true;
    }
    case NUMBER:
      return (
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (!rule.safeInteger || Number.isSafeInteger(value)) &&
        (rule.minInclusive ? value >= rule.min : value > rule.min) &&
        (rule.maxInclusive ? value <= rule.max : value < rule.max)
      );
  }
}

/** A field's rules, or null when it states one this file does not know. */
function fieldRule(key: string, field: ZodInternals): FieldRule | null {
  const def = field._zod.def;
  const rule: FieldRule = {
    key,
    kind: ONE_OF,
    values: new Set(),
    patterns: [],
    maxUnits: Number.POSITIVE_INFINITY,
    safeInteger: false,
    min: Number.NEGATIVE_INFINITY,
    minInclusive: true,
    max: Number.POSITIVE_INFINITY,
    maxInclusive: true,
  };
  if (def.coerce === true) return null;
  // A format (z.iso.datetime(), z.int()) is its own first check.
  const checks = [...(def.check === undefined ? [] : [def]), ...(def.checks ?? []).map((c) => c._zod.def)];
  switch (def.type) {
    case 'literal':
    case 'enum':
      if (checks.length > 0 || field._zod.values === undefined) return null;
      return { ...rule, values: field._zod.values };
    case 'string': {
      const patterns: RegExp[] = [];
      let maxUnits = rule.maxUnits;
      for (const check of checks) {
        if (
          check.check === 'string_format' &&
          PATTERN_FORMATS.has(check.format ?? '') &&
          check.pattern instanceof RegExp
        ) {
          patterns.push(check.pattern);
        } else if (check.check === 'max_length' && typeof check.maximum === 'number') {
          maxUnits = Math.min(maxUnits, check.maximum);
        } else {
          return null;
        }
      }
      return { ...rule, kind: STRING, patterns, maxUnits };
    }
    case 'number': {
      const bounds: FieldRule = { ...rule, kind: NUMBER };
      for (const check of checks) {
        if (check.check === 'number_format' && check.format === 'safeint') {
          bounds.safeInteger = true;
        } else if (check.check === 'greater_than' && typeof check.value === 'number') {
          // The tighter of two minimums; at the same value, exclusive if either is.
          if (check.value > bounds.min) {
            bounds.min = check.value;
            bounds.minInclusive = check.inclusive === true;
          } else if (check.value === bounds.min && check.inclusive !== true) {
            bounds.minInclusive = false;
          }
        } else if (check.check === 'less_than' && typeof check.value === 'number') {
          if (check.value < bounds.max) {
            bounds.max = check.value;
            bounds.maxInclusive = check.inclusive === true;
          } else if (check.value === bounds.max && check.inclusive !== true) {
            bounds.maxInclusive = false;
          }
        } else {
          return null;
        }
      }
      return bounds;
    }
    default:
      return null;
  }
}
