import { describe, expect, it } from 'vitest';
import {
  type Datagram,
  type DecodeOptions,
  decodeDatagram,
  encodeDatagram,
  humanTimestamp,
  previewText,
} from '../../services/shared/protocol.js';
import { signPayload } from '../../services/shared/signing.js';
import { deeplyNested } from '../support/builders.js';

const open: DecodeOptions = { maxBytes: 1232, keyring: new Map(), requireAuth: false };
const beat: Datagram = {
  v: 1,
  kind: 'beat',
  source: 'server-1',
  boot: 'b00t',
  seq: 7,
  sentAt: '2026-11-24T00:03:38.123Z',
  intervalMs: 60_000,
  text: 'Tue Nov 24 00:03:38 2026',
};
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('encode/decode', () => {
  it('round-trips a beat and a bye', () => {
    for (const d of [beat, { ...beat, kind: 'bye' as const }]) {
      const r = decodeDatagram(encodeDatagram(d), open);
      expect(r).toEqual({ ok: true, kind: d.kind, datagram: d, sentAtMs: Date.parse(d.sentAt), keyId: null });
    }
  });
  it('ignores unknown future fields', () => {
    const r = decodeDatagram(bytes({ ...beat, future: { x: 1 } }), open);
    expect(r.ok && r.datagram).toEqual(beat);
  });
  it('reports plain text as not_json with a preview', () => {
    expect(decodeDatagram(Buffer.from('Tue Nov 24 00:03:38 2026\n'), open)).toEqual({
      ok: false,
      reason: 'not_json',
      detail: 'not a JSON object: shown as text',
      text: 'Tue Nov 24 00:03:38 2026',
    });
  });
  it('reports broken JSON as malformed_json', () => {
    const r = decodeDatagram(Buffer.from('{"v":1,'), open);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toBe('malformed_json');
  });
  it('reports an unknown version as unsupported_version', () => {
    const r = decodeDatagram(bytes({ ...beat, v: 2 }), open);
    expect(!r.ok && [r.reason, r.detail]).toEqual(['unsupported_version', 'v=2']);
    const missing = decodeDatagram(bytes({ ...beat, v: undefined }), open);
    expect(!missing.ok && missing.reason).toBe('unsupported_version');
  });
  it('keeps 32 characters of an unknown version in the detail, whatever its size', () => {
    const r = decodeDatagram(bytes({ ...beat, v: 'v'.repeat(1000) }), open);
    expect(!r.ok && [r.reason, r.detail]).toEqual(['unsupported_version', `v="${'v'.repeat(31)}…`]);
  });
  it('rejects JSON nested deeper than serialising it allows, without a throw, in any field', () => {
    const deep = deeplyNested();
    expect(() => JSON.stringify(JSON.parse(deep))).toThrow(RangeError);
    const big = { ...open, maxBytes: 65_507 };
    const raw = (json: string) => Buffer.from(json);
    expect(decodeDatagram(raw(`{"v":${deep}}`), big)).toEqual({
      ok: false,
      reason: 'unsupported_version',
      detail: 'v=[…]',
      text: null,
    });
    const inObject = decodeDatagram(raw(`{"v":{"x":${deep}}}`), big);
    expect(!inObject.ok && [inObject.reason, inObject.detail]).toEqual(['unsupported_version', 'v={…}']);
    const json = JSON.stringify({ ...beat, kind: null });
    const inField = decodeDatagram(raw(json.replace('"kind":null', `"kind":${deep}`)), big);
    expect(!inField.ok && inField.reason).toBe('schema');
    const unknown = decodeDatagram(raw(json.replace('"kind":null', `"kind":"beat","extra":${deep}`)), big);
    expect(unknown.ok).toBe(true);
  });
  it('shows text with its trailing white space taken off, every kind of it', () => {
    for (const space of [' ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u2028', '\u3000', '\ufeff'])
      expect(previewText(Buffer.from(`hello ${space}world${space.repeat(3)}`))).toBe(`hello ${space}world`);
    expect(previewText(Buffer.from(`${' '.repeat(1023)}x`))).toBe(`${' '.repeat(256)}…`);
    // Cut before a character of two UTF-16 units, not between them.
    expect(previewText(Buffer.from(`${'a'.repeat(255)}😀😀`))).toBe(`${'a'.repeat(255)}…`);
  });
  it.each([
    ['seq', { seq: -1 }],
    ['seq', { seq: 1.5 }],
    ['seq', { seq: '7' }],
    ['source', { source: '' }],
    ['source', { source: 'has space' }],
    ['source', { source: 'x'.repeat(65) }],
    ['source', { source: '.' }],
    ['source', { source: '..' }],
    ['sentAt', { sentAt: 'yesterday' }],
    ['intervalMs', { intervalMs: 0 }],
    ['kind', { kind: 'hello' }],
    ['text', { text: 'x'.repeat(257) }],
    ['boot', { boot: undefined }],
    ['boot', { boot: '' }],
    ['boot', { boot: 'x'.repeat(65) }],
    ['boot', { boot: 'a b' }],
    ['seq', { seq: 2 ** 53 }],
    ['intervalMs', { intervalMs: 86_400_001 }],
    ['intervalMs', { intervalMs: 2.5 }],
  ])('rejects a wrong %s as schema', (field, patch) => {
    const r = decodeDatagram(bytes({ ...beat, ...patch }), open);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toBe('schema');
    expect(!r.ok && r.detail).toMatch(new RegExp(`^${field}:`));
  });
  it('accepts every field at its bounds', () => {
    const edges = {
      boot: 'x'.repeat(64),
      seq: Number.MAX_SAFE_INTEGER,
      intervalMs: 86_400_000,
      text: 'x'.repeat(256),
    };
    const r = decodeDatagram(bytes({ ...beat, ...edges }), open);
    expect(r.ok && r.datagram).toMatchObject(edges);
    const low = decodeDatagram(bytes({ ...beat, boot: '!', seq: 0, intervalMs: 1 }), open);
    expect(low.ok && low.datagram).toMatchObject({ boot: '!', seq: 0, intervalMs: 1 });
  });
  it('rejects oversize datagrams without parsing them', () => {
    const r = decodeDatagram(Buffer.alloc(1233, 0x7b), open);
    expect(r).toEqual({ ok: false, reason: 'oversize', detail: '1233 bytes > limit 1232', text: null });
    expect(decodeDatagram(Buffer.alloc(1232, 0x20), open).ok).toBe(false);
  });
  it('never throws on odd bytes', () => {
    for (const b of [
      Buffer.alloc(0),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('{'),
      Buffer.from('[1]'),
      Buffer.from('null'),
    ]) {
      expect(() => decodeDatagram(b, open)).not.toThrow();
    }
  });
});

describe('signatures', () => {
  const key = Buffer.alloc(32, 7);
  const keyring = new Map([['k1', key]]);
  const auth: DecodeOptions = { ...open, keyring, requireAuth: true };
  it('verifies a signed datagram and reports the key id', () => {
    const r = decodeDatagram(encodeDatagram(beat, { keyId: 'k1', key }), auth);
    expect(r.ok && r.keyId).toBe('k1');
  });
  it('rejects unsigned datagrams when auth is required', () => {
    expect(decodeDatagram(encodeDatagram(beat), auth)).toMatchObject({ ok: false, reason: 'unsigned' });
  });
  it('rejects a MAC made with another key, and an unknown key id', () => {
    const forged = encodeDatagram(beat, { keyId: 'k1', key: Buffer.alloc(32, 8) });
    expect(decodeDatagram(forged, auth)).toMatchObject({ ok: false, reason: 'bad_signature' });
    const unknown = encodeDatagram(beat, { keyId: 'k9', key });
    expect(decodeDatagram(unknown, auth)).toMatchObject({ ok: false, reason: 'unknown_key' });
  });
  it('signs the exact bytes: a payload changed after signing fails', () => {
    const signed = signPayload(Buffer.from(JSON.stringify(beat)), 'k1', key);
    const tampered = Buffer.from(signed.toString('latin1').replace('"seq":7', '"seq":8'), 'latin1');
    expect(decodeDatagram(tampered, auth)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });
  it('fails closed when authentication is required but no key is configured', () => {
    const noKeys: DecodeOptions = { ...open, requireAuth: true };
    expect(decodeDatagram(encodeDatagram(beat, { keyId: 'k1', key }), noKeys)).toMatchObject({
      ok: false,
      reason: 'unknown_key',
    });
  });
  it('accepts signed datagrams as unverified when no keys are configured', () => {
    const r = decodeDatagram(encodeDatagram(beat, { keyId: 'k1', key }), open);
    expect(r.ok && r.keyId).toBeNull();
  });
});

describe('human timestamp', () => {
  it("matches the original's format, in UTC", () => {
    expect(humanTimestamp(Date.parse('2026-11-24T00:03:38.999Z'))).toBe('Tue Nov 24 00:03:38 2026');
    expect(humanTimestamp(Date.parse('2027-01-03T09:05:07Z'))).toBe('Sun Jan 03 09:05:07 2027');
  });
});
