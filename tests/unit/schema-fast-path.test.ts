import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type Datagram,
  datagramFields,
  datagramSchema,
  decodePayload,
} from '../../services/shared/protocol.js';
import { fastAcceptor } from '../../services/shared/schema-fast-path.js';
import { prng, type Random } from '../support/prng.js';

const quick = fastAcceptor(datagramSchema);

const valid: Datagram = {
  v: 1,
  kind: 'beat',
  source: 'edge-1',
  boot: 'b0a1c2d3',
  seq: 42,
  sentAt: '2026-12-06T19:00:00.123Z',
  intervalMs: 1000,
  text: 'Sun Dec  6 19:00:00 2026',
};

/** Values at and around each rule's edges, and of every other type. */
const CANDIDATES: Record<keyof Datagram, unknown[]> = {
  v: [1, 0, 2, '1', 1.5, null, undefined],
  kind: ['beat', 'bye', 'Beat', '', 'beatx', 1, null, undefined],
  source: [
    'a',
    'x'.repeat(64),
    'x'.repeat(65),
    '',
    '.',
    '..',
    '...',
    '.a',
    'a b',
    'a\u007f',
    'é',
    'a"\\',
    5,
    null,
    undefined,
  ],
  boot: ['b', 'x'.repeat(64), 'x'.repeat(65), '', '.', '..', 'a\tb', 'ü', 0, undefined],
  seq: [
    0,
    1,
    -1,
    1.5,
    -0,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 1,
    2 ** 60,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '1',
    null,
    undefined,
  ],
  sentAt: [
    '2026-12-06T19:00:00Z',
    '2026-12-06T19:00:00.1Z',
    '2026-12-06T19:00:00.123456789012Z',
    '2024-02-29T00:00:00Z',
    '2026-02-29T00:00:00Z',
    '2026-12-06T24:00:00Z',
    '2026-12-06T19:00:00',
    '2026-12-06T19:00:00+00:00',
    '2026-12-06 19:00:00Z',
    ' 2026-12-06T19:00:00Z',
    '',
    0,
    undefined,
  ],
  intervalMs: [
    1,
    0,
    -1,
    86_400_000,
    86_400_001,
    999.5,
    Number.NaN,
    Number.NEGATIVE_INFINITY,
    '1000',
    undefined,
  ],
  text: [
    '',
    'x'.repeat(256),
    'x'.repeat(257),
    '😀'.repeat(128),
    '😀'.repeat(129),
    'a\nb',
    7,
    null,
    undefined,
  ],
};
const KEYS = Object.keys(CANDIDATES) as Array<keyof Datagram>;

function pick<T>(random: Random, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)] as T;
}

/** A datagram with some fields swapped for candidates, sometimes one more key, sometimes one missing. */
function variant(random: Random): Record<string, unknown> {
  const o: Record<string, unknown> = { ...valid };
  const changes = 1 + Math.floor(random() * 3);
  for (let i = 0; i < changes; i++) {
    const key = pick(random, KEYS);
    o[key] = pick(random, CANDIDATES[key]);
  }
  if (random() < 0.1) o.extra = 'ignored';
  if (random() < 0.05) delete o[pick(random, KEYS)];
  return o;
}

describe('fastAcceptor', () => {
  it('reads the wire schema: the decode has its quick yes', () => {
    expect(quick).not.toBeNull();
  });

  it('says yes only where zod accepts, and then zod gives datagramFields(): 20,000 datagrams around every rule', () => {
    const accepts = quick as NonNullable<typeof quick>;
    const random = prng(2026);
    const wrong: unknown[] = [];
    let yes = 0;
    let zodYes = 0;
    for (let i = 0; i < 20_000; i++) {
      const input = variant(random);
      const parsed = datagramSchema.safeParse(input);
      if (parsed.success) zodYes++;
      if (!accepts(input)) continue;
      yes++;
      // Same keys, in the same order, with the same values.
      if (
        !parsed.success ||
        JSON.stringify(parsed.data) !== JSON.stringify(datagramFields(input as Datagram))
      ) {
        wrong.push(input);
      }
    }
    expect(wrong).toEqual([]);
    // Both answers were drawn often enough to mean something.
    expect(yes).toBeGreaterThan(2_000);
    expect(zodYes - yes).toBeLessThan(zodYes / 10);
  });

  it('says yes to every edge zod accepts but a text longer in UTF-16 units than its limit', () => {
    const accepts = quick as NonNullable<typeof quick>;
    const leftToZod: string[] = [];
    for (const key of KEYS) {
      for (const value of CANDIDATES[key]) {
        const input = { ...valid, [key]: value };
        if (datagramSchema.safeParse(input).success && !accepts(input))
          leftToZod.push(`${key}=${String(value)}`);
      }
    }
    expect(leftToZod).toEqual([`text=${'😀'.repeat(129)}`]);
  });

  it('leaves a rule it does not know to zod: no quick yes for such a schema', () => {
    const shapes = {
      refinement: z.object({ a: z.string() }).refine((o) => o.a !== 'x'),
      'refined field': z.object({ a: z.string().refine((s) => s !== 'x') }),
      optional: z.object({ a: z.string().optional() }),
      transform: z.object({ a: z.string().transform((s) => s.trim()) }),
      trim: z.object({ a: z.string().trim() }),
      coercion: z.object({ a: z.coerce.number() }),
      'unknown keys kept': z.object({ a: z.string() }).loose(),
      'another type': z.object({ a: z.boolean() }),
      'another format': z.object({ a: z.email() }),
      'a minimum length': z.object({ a: z.string().min(2) }),
      'another number format': z.object({ a: z.int32() }),
      'a multiple': z.object({ a: z.number().multipleOf(2) }),
      nested: z.object({ a: z.object({ b: z.string() }) }),
    };
    const known = Object.entries(shapes)
      .filter(([, schema]) => fastAcceptor(schema as unknown as z.ZodObject) !== null)
      .map(([name]) => name);
    expect(known).toEqual([]);
  });

  it('keeps the tightest of several bounds, exclusive where one is', () => {
    const schemas = [
      z.object({ n: z.number().min(1).gt(1).max(5).lt(9) }),
      z.object({ n: z.number().gt(1).min(1).lte(5).lt(5) }),
      z.object({ n: z.int().nonnegative().max(3).max(7) }),
      z.object({ n: z.number().positive() }),
    ];
    const values = [-1, 0, 0.5, 1, 1.5, 3, 4.999, 5, 6, 7, 9, 10, Number.MAX_SAFE_INTEGER];
    const disagree: string[] = [];
    schemas.forEach((schema, i) => {
      const accepts = fastAcceptor(schema);
      expect(accepts).not.toBeNull();
      for (const n of values) {
        if (accepts?.({ n }) !== schema.safeParse({ n }).success) disagree.push(`schema ${i}: ${n}`);
      }
    });
    expect(disagree).toEqual([]);
  });

  it('starts a global pattern at the beginning each time, as zod does', () => {
    const accepts = fastAcceptor(z.object({ a: z.string().regex(/^ab/g) }));
    expect([accepts?.({ a: 'ab' }), accepts?.({ a: 'ab' }), accepts?.({ a: 'ba' })]).toEqual([
      true,
      true,
      false,
    ]);
  });
});

describe('datagramFields', () => {
  it("are the schema's keys in its order: what the encoder writes and the decoder keeps", () => {
    expect(Object.keys(datagramFields({ ...valid, extra: 1 } as Datagram))).toEqual(
      Object.keys(datagramSchema.shape),
    );
  });

  it('is what the decode of a datagram with a key more gives: zod would not keep it either', () => {
    const decoded = decodePayload(Buffer.from(JSON.stringify({ ...valid, extra: 'x'.repeat(100) })), null);
    expect(decoded.ok && decoded.datagram).toEqual(valid);
  });
});
