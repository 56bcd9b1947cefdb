/**
 * Property tests of the decoder and the verifier (fast-check). Runs per
 * property: FUZZ_RUNS, else 100,000 when CI is set and 10,000 otherwise; CI
 * never runs fewer than 100,000. A failure prints fast-check's seed and
 * path; rerun it with FUZZ_SEED=<seed> (and the same FUZZ_RUNS).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBatchWriter, readBatch } from '../../services/client/ingest/classified-batch.js';
import { type Classified, classify, decoded, frame } from '../../services/client/ingest/classify.js';
import {
  type Datagram,
  type DecodeOptions,
  datagramSchema,
  decodeDatagram,
  encodeDatagram,
  REJECT_REASONS,
  type Signer,
  SOURCE_ID,
  TEXT_PREVIEW_CHARS,
} from '../../services/shared/protocol.js';
import {
  computeMac,
  type Keyring,
  signPayload,
  splitSigned,
  verifyMac,
} from '../../services/shared/signing.js';

const CI_MIN_RUNS = 100_000;
function runsFromEnv(): number {
  const raw = process.env.FUZZ_RUNS;
  const asked = raw === undefined || raw === '' ? undefined : Number(raw);
  if (asked !== undefined && !(Number.isInteger(asked) && asked > 0)) {
    throw new Error(`FUZZ_RUNS=${raw}: expected a positive integer`);
  }
  if (process.env.CI) return Math.max(CI_MIN_RUNS, asked ?? CI_MIN_RUNS);
  return asked ?? 10_000;
}
const RUNS = runsFromEnv();
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const params = { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) };
// Generous: CI runs 100,000 cases per property on 2 cores.
const TIMEOUT = 300_000;

// Test keys derived from fixed labels (nothing secret in the repository), as key files hold them: text.
const testKey = (label: string) => Buffer.from(createHash('sha512').update(label).digest('base64'));
const k1 = testKey('fuzz k1');
const k2 = testKey('fuzz k2');
const signers: Signer[] = [
  { keyId: 'k1', key: k1 },
  { keyId: 'k2', key: k2 },
];
const rings = {
  none: new Map() as Keyring,
  k1: new Map([['k1', k1]]) as Keyring,
  both: new Map([
    ['k1', k1],
    ['k2', k2],
  ]) as Keyring,
};

// Assertions inside properties use node:assert: vitest's expect costs ~15 µs a call,
// which at 100,000 runs per property is most of the run time.

// --- Arbitraries ------------------------------------------------------------

const idArb = fc.stringMatching(/^[\x21-\x7e]{1,64}$/);
/** A source: an id, but not `.` or `..` (SOURCE_ID). */
const sourceArb = idArb.filter((id) => SOURCE_ID.test(id));
// Any UTF-16 text, lone surrogates included, up to the schema's 256 code units.
const textArb = fc
  .string({
    unit: fc.oneof(
      { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 4 },
      { arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), weight: 1 },
    ),
    maxLength: 256,
  })
  .map((s) => s.slice(0, 256));
const sentAtArb = fc
  .date({
    min: new Date('0000-01-01T00:00:00.000Z'),
    max: new Date('9999-12-31T23:59:59.999Z'),
    noInvalidDate: true,
  })
  .map((d) => d.toISOString());

const datagramArb: fc.Arbitrary<Datagram> = fc.record({
  v: fc.constant(1 as const),
  kind: fc.constantFrom('beat' as const, 'bye' as const),
  source: sourceArb,
  boot: idArb,
  seq: fc.oneof(fc.nat(1000), fc.maxSafeNat()),
  sentAt: sentAtArb,
  intervalMs: fc.integer({ min: 1, max: 86_400_000 }),
  text: textArb,
});

const signerArb = fc.option(fc.constantFrom(...signers), { nil: null });
const keyIdArb = fc.oneof(
  fc.constantFrom('k1', 'k2', 'k9'),
  fc.stringMatching(/^[A-Za-z0-9_.-]{1,32}$/),
  fc.string({ maxLength: 40 }),
);

/** Almost-datagrams: each field right, wrong or missing, plus unknown fields. */
const objectArb = fc
  .record(
    {
      v: fc.oneof(fc.constant(1), fc.constant(2), fc.jsonValue()),
      kind: fc.oneof(fc.constantFrom('beat', 'bye', 'hello'), fc.jsonValue()),
      source: fc.oneof(idArb, fc.string(), fc.jsonValue()),
      boot: fc.oneof(idArb, fc.jsonValue()),
      seq: fc.oneof(fc.maxSafeNat(), fc.integer(), fc.double(), fc.string()),
      sentAt: fc.oneof(sentAtArb, fc.string(), fc.integer()),
      intervalMs: fc.oneof(fc.integer({ min: -10, max: 100_000_000 }), fc.jsonValue()),
      text: fc.oneof(textArb, fc.string({ minLength: 250, maxLength: 300 }), fc.jsonValue()),
      extra: fc.jsonValue(),
    },
    { requiredKeys: [] },
  )
  .map((o) => Buffer.from(JSON.stringify(o)));

/** A mutation of real encoded bytes: overwritten, inserted and deleted bytes, truncation. */
function mutate(bytes: Buffer, edits: Array<[number, number, number]>, cut: number | null): Buffer {
  let b = Buffer.from(bytes);
  for (const [op, at, value] of edits) {
    const i = b.length === 0 ? 0 : at % (b.length + 1);
    if (op === 0 && i < b.length) b[i] = value;
    else if (op === 1) b = Buffer.concat([b.subarray(0, i), Buffer.from([value]), b.subarray(i)]);
    else b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
  }
  return cut === null ? b : b.subarray(0, cut % (b.length + 1));
}
const editsArb = fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.nat(), fc.nat(255)), {
  minLength: 1,
  maxLength: 4,
});

/** Anything a network could send, biased towards the interesting corners. */
const bytesArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 1500 }).map((a) => Buffer.from(a)),
  fc.jsonValue().map((j) => Buffer.from(JSON.stringify(j) ?? 'null')),
  objectArb,
  fc.tuple(datagramArb, signerArb).map(([d, s]) => encodeDatagram(d, s)),
  fc
    .tuple(datagramArb, signerArb, editsArb, fc.option(fc.nat()))
    .map(([d, s, e, cut]) => mutate(encodeDatagram(d, s), e, cut)),
  // A trailer over arbitrary content: right, wrong and unknown keys.
  fc
    .tuple(
      fc.oneof(
        objectArb,
        fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
      ),
      keyIdArb.filter((id) => /^[A-Za-z0-9_.-]{1,32}$/.test(id)),
      fc.oneof(
        fc.constantFrom(k1, k2),
        fc.uint8Array({ minLength: 1, maxLength: 64 }).map((a) => Buffer.from(a)),
      ),
    )
    .map(([p, id, key]) => signPayload(p, id, key)),
  // Trailer-shaped garbage.
  fc
    .tuple(objectArb, keyIdArb, fc.string({ maxLength: 50 }))
    .map(([p, id, mac]) => Buffer.concat([p, Buffer.from(`\nsig ${id} ${mac}`, 'latin1')])),
);

/**
 * What the client can be configured with: REQUIRE_AUTH=true always comes
 * with a key (config.ts refuses it otherwise). decodeDatagram on its own does
 * not hold that line: with requireAuth and an empty keyring it accepts a
 * signed datagram as unverified (reported; drop this filter once it rejects).
 */
const optionsArb: fc.Arbitrary<DecodeOptions> = fc.record({
  maxBytes: fc.constantFrom(64, 1232, 65_507),
  keyring: fc.constantFrom(rings.none, rings.k1, rings.both) as fc.Arbitrary<Keyring>,
  requireAuth: fc.boolean(),
});

const wide = (keyring: Keyring, requireAuth: boolean): DecodeOptions => ({
  maxBytes: 65_507,
  keyring,
  requireAuth,
});

const PARSE_REASONS: ReadonlySet<string> = new Set([
  'not_json',
  'malformed_json',
  'schema',
  'unsupported_version',
]);
const AUTH_REASONS: ReadonlySet<string> = new Set(['oversize', 'unsigned', 'bad_signature', 'unknown_key']);

// --- Properties -------------------------------------------------------------

describe(`decoder and verifier properties (${RUNS} runs each)`, () => {
  it(
    'any bytes give a valid datagram or a reason code, never a throw',
    () => {
      fc.assert(
        fc.property(bytesArb, optionsArb, (bytes, options) => {
          const r = decodeDatagram(bytes, options);
          if (r.ok) {
            assert.deepEqual(datagramSchema.parse(r.datagram), r.datagram);
            assert.equal(r.kind, r.datagram.kind);
            assert.equal(r.sentAtMs, Date.parse(r.datagram.sentAt));
            assert.ok(Number.isFinite(r.sentAtMs));
            assert.ok(bytes.length <= options.maxBytes);
            if (r.keyId !== null) assert.ok(options.keyring.has(r.keyId));
            if (options.requireAuth) assert.notEqual(r.keyId, null);
          } else {
            assert.ok(REJECT_REASONS.includes(r.reason), r.reason);
            assert.equal(typeof r.detail, 'string');
            if (r.text !== null) assert.ok(r.text.length <= TEXT_PREVIEW_CHARS + 1);
          }
        }),
        params,
      );
    },
    TIMEOUT,
  );

  it(
    'every accepted datagram round-trips through the encoder, signed and unsigned',
    () => {
      let accepted = 0;
      fc.assert(
        fc.property(bytesArb, optionsArb, signerArb, (bytes, options, signer) => {
          const r = decodeDatagram(bytes, options);
          if (!r.ok) return;
          accepted++;
          const again = decodeDatagram(encodeDatagram(r.datagram, signer), wide(rings.both, signer !== null));
          assert.deepEqual(again, { ...r, keyId: signer?.keyId ?? null });
        }),
        params,
      );
      // The generator must actually reach the interesting branch.
      expect(accepted).toBeGreaterThan(RUNS / 20);
    },
    TIMEOUT,
  );

  it(
    'every valid datagram encodes to bytes that decode to it, with the key id that signed it',
    () => {
      fc.assert(
        fc.property(datagramArb, signerArb, (d, signer) => {
          const bytes = encodeDatagram(d, signer);
          const r = decodeDatagram(bytes, wide(rings.both, signer !== null));
          assert.deepEqual(r, {
            ok: true,
            kind: d.kind,
            datagram: { ...d }, // fast-check records have a null prototype
            sentAtMs: Date.parse(d.sentAt),
            keyId: signer?.keyId ?? null,
          });
        }),
        params,
      );
    },
    TIMEOUT,
  );

  it(
    'flipping any single bit of a signed datagram makes it rejected',
    () => {
      fc.assert(
        fc.property(
          datagramArb,
          fc.constantFrom(...signers),
          fc.nat(),
          fc.boolean(),
          (d, signer, bit, requireAuth) => {
            const bytes = encodeDatagram(d, signer);
            const i = bit % (bytes.length * 8);
            bytes[i >>> 3] = (bytes[i >>> 3] as number) ^ (1 << (i & 7));
            const r = decodeDatagram(bytes, wide(rings.both, requireAuth));
            assert.equal(r.ok, false);
          },
        ),
        params,
      );
    },
    TIMEOUT,
  );

  it(
    'with REQUIRE_AUTH, nothing reaches the JSON parser unless its MAC verified',
    () => {
      let reachedParser = 0;
      fc.assert(
        fc.property(bytesArb, fc.constantFrom(rings.k1, rings.both), (bytes, keyring) => {
          const r = decodeDatagram(bytes, { maxBytes: 1232, keyring, requireAuth: true });
          const parsed = r.ok || PARSE_REASONS.has(r.reason);
          if (!parsed) {
            assert.ok(AUTH_REASONS.has(r.reason), r.reason);
            return;
          }
          reachedParser++;
          const parts = splitSigned(bytes);
          assert.ok(parts);
          const key = keyring.get(parts.keyId);
          assert.ok(key);
          assert.ok(verifyMac(key, parts.payload, parts.mac));
        }),
        params,
      );
      // The second half was tried too: datagrams whose MAC verified, and went on to the parser.
      expect(reachedParser).toBeGreaterThan(0);
    },
    TIMEOUT,
  );

  it(
    'the verifier: the trailer splits back exactly, the right MAC verifies, any other MAC does not',
    () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
          fc.stringMatching(/^[A-Za-z0-9_.-]{1,32}$/),
          fc.uint8Array({ minLength: 32, maxLength: 96 }).map((a) => Buffer.from(a)),
          fc.uint8Array({ minLength: 32, maxLength: 32 }).map((a) => Buffer.from(a)),
          (payload, keyId, key, otherMac) => {
            const parts = splitSigned(signPayload(payload, keyId, key));
            assert.ok(parts);
            assert.equal(parts.keyId, keyId);
            assert.ok(parts.payload.equals(payload));
            const mac = computeMac(key, payload);
            assert.ok(parts.mac.equals(mac));
            assert.ok(verifyMac(key, payload, mac));
            assert.equal(verifyMac(key, payload, otherMac), otherMac.equals(mac));
          },
        ),
        params,
      );
    },
    TIMEOUT,
  );

  it(
    'the split decode: each datagram decoded on its socket thread or handed over framed, in one batch, classifies as it does whole',
    () => {
      const remote = { address: '192.0.2.7', family: 'IPv4', port: 40_000, size: 0 } as const;
      const datagramsArb = fc.array(fc.tuple(bytesArb, fc.boolean()), { minLength: 1, maxLength: 3 });
      fc.assert(
        fc.property(datagramsArb, optionsArb, (datagrams, decode) => {
          const o = { decode, allow: null };
          const writer = createBatchWriter(datagrams.length);
          // As a socket thread does: each framed, then decoded there while it is not busy.
          for (const [i, [b, decodeHere]] of datagrams.entries()) {
            const framed = frame(b, remote, i, o);
            writer.add(decodeHere ? decoded(framed) : framed);
          }
          const read: Classified[] = [];
          readBatch(writer.take(), (c) => read.push(decoded(c)));
          assert.deepEqual(
            read,
            datagrams.map(([b], i) => classify(b, remote, i, o)),
          );
        }),
        params,
      );
    },
    TIMEOUT,
  );
});
