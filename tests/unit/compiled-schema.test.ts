import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  compiledDatagramSchema,
  type Datagram,
  datagramSchema,
  decodePayload,
} from '../../services/shared/protocol.js';
import { pick, prng, type Random } from '../support/prng.js';

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
    '😀'.repeat(256),
    '😀'.repeat(257),
    'a\nb',
    7,
    null,
    undefined,
  ],
};
const KEYS = Object.keys(CANDIDATES) as Array<keyof Datagram>;

/** A datagram with some fields swapped for candidates; sometimes a key more, or one missing, or a JSON `__proto__` key. */
function variant(random: Random): Record<string, unknown> {
  const o: Record<string, unknown> = { ...valid };
  const changes = 1 + Math.floor(random() * 3);
  for (let i = 0; i < changes; i++) {
    const key = pick(random, KEYS);
    o[key] = pick(random, CANDIDATES[key]);
  }
  if (random() < 0.1) o.extra = 'ignored';
  if (random() < 0.05) delete o[pick(random, KEYS)];
  if (random() < 0.05) return JSON.parse(JSON.stringify(o).replace('{', '{"__proto__":{"seq":1},'));
  return o;
}

/** What a parse says, as the decode reads it: the value with its keys in order, or the first issue's place and message. */
function outcome(schema: z.ZodType, input: unknown): unknown {
  const r = schema.safeParse(input);
  if (r.success) return { keys: Object.keys(r.data as object), data: r.data };
  const issue = r.error.issues[0];
  return { path: issue?.path, message: issue?.message };
}

describe('the compiled datagram schema', () => {
  it('compiles: zod generates its parse (strict: a schema it cannot compile throws here)', () => {
    expect(() => z.compile(datagramSchema, { strict: true })).not.toThrow();
  });

  it('is compiled where the decode takes it: z.compile hands back the schema itself when it cannot compile it', () => {
    expect(compiledDatagramSchema).not.toBe(datagramSchema);
  });

  it("gives the schema's own answer at every edge, one field at a time: the value, or the first issue's place and message", () => {
    const differ: string[] = [];
    for (const key of KEYS) {
      for (const value of CANDIDATES[key]) {
        const input = { ...valid, [key]: value };
        const [own, compiled] = [outcome(datagramSchema, input), outcome(compiledDatagramSchema, input)];
        try {
          expect(compiled).toStrictEqual(own);
        } catch {
          differ.push(`${key}=${String(value)}`);
        }
      }
    }
    expect(differ).toEqual([]);
  });

  it("gives the schema's own answer for 20,000 datagrams with up to three fields at their edges", () => {
    const random = prng(2026);
    const differ: unknown[] = [];
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const input = variant(random);
      const own = outcome(datagramSchema, input);
      if ((own as { data?: unknown }).data !== undefined) accepted++;
      try {
        expect(outcome(compiledDatagramSchema, input)).toStrictEqual(own);
      } catch {
        differ.push(input);
      }
    }
    expect(differ).toEqual([]);
    expect(accepted).toBeGreaterThan(2_000); // both answers drawn often enough to mean something
  });

  it("the decode keeps a datagram's schema keys alone, in the schema's order", () => {
    const decoded = decodePayload(Buffer.from(JSON.stringify({ extra: 'x'.repeat(100), ...valid })), null);
    expect(decoded.ok && Object.keys(decoded.datagram)).toEqual(Object.keys(datagramSchema.shape));
  });
});
