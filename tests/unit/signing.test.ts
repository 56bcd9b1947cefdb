import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeDatagram, encodeDatagram } from '../../services/shared/protocol.js';
import { computeMac, signPayload, splitSigned, verifyMac } from '../../services/shared/signing.js';

// The real node:crypto, with timingSafeEqual watched: the verifier must
// compare MACs with it, never with Buffer.equals or a string compare.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});
const { timingSafeEqual } = await import('node:crypto');
const compare = vi.mocked(timingSafeEqual);

const key = Buffer.from('k'.repeat(48));
const otherKey = Buffer.from('o'.repeat(48));
const payload = Buffer.from('{"v":1,"kind":"beat"}');
const mac = (k: Buffer, p: Buffer) => createHmac('sha256', k).update(p).digest('base64url');
const trailer = (text: string) => Buffer.concat([payload, Buffer.from(text, 'latin1')]);

describe('signPayload', () => {
  it('appends "\\nsig <keyId> <base64url HMAC-SHA256 of the exact payload bytes>"', () => {
    const signed = signPayload(payload, 'k1', key);
    expect(signed.toString('latin1')).toBe(`${payload.toString()}\nsig k1 ${mac(key, payload)}`);
    expect(signed.subarray(0, payload.length).equals(payload)).toBe(true);
    expect(computeMac(key, payload).toString('base64url')).toBe(mac(key, payload));
  });

  it('is what encodeDatagram sends when given a signer, over the unsigned encoding', () => {
    const d = {
      v: 1 as const,
      kind: 'beat' as const,
      source: 's',
      boot: 'b',
      seq: 1,
      sentAt: '2026-11-24T00:00:00.000Z',
      intervalMs: 1000,
      text: 'ünïcode ☃',
    };
    const plain = encodeDatagram(d);
    expect(encodeDatagram(d, { keyId: 'k1', key }).equals(signPayload(plain, 'k1', key))).toBe(true);
  });
});

describe('splitSigned', () => {
  const good = mac(key, payload);

  it('splits a well-formed trailer at the last newline', () => {
    const parts = splitSigned(signPayload(payload, 'key_2.b-C', key));
    expect(parts?.keyId).toBe('key_2.b-C');
    expect(parts?.payload.equals(payload)).toBe(true);
    expect(parts?.mac.equals(computeMac(key, payload))).toBe(true);
  });

  it('uses the last newline, so a payload may contain newlines of its own', () => {
    const body = Buffer.from('line one\nline two');
    const parts = splitSigned(signPayload(body, 'k1', key));
    expect(parts?.payload.toString()).toBe('line one\nline two');
  });

  it('accepts an empty payload and key ids of 1 and 32 characters', () => {
    expect(splitSigned(Buffer.from(`\nsig k ${mac(key, Buffer.alloc(0))}`))?.payload.length).toBe(0);
    expect(splitSigned(trailer(`\nsig ${'a'.repeat(32)} ${good}`))?.keyId).toBe('a'.repeat(32));
  });

  it.each([
    ['no newline at all', payload.toString()],
    ['a trailing newline after the trailer', `\nsig k1 ${good}\n`],
    ['CRLF line end', `\nsig k1 ${good}\r`],
    ['another prefix', `\nSIG k1 ${good}`],
    ['no space after the key id', `\nsig k1${good}`],
    ['an empty key id', `\nsig  ${good}`],
    ['two spaces before the MAC', `\nsig k1  ${good}`],
    ['a key id of 33 characters', `\nsig ${'a'.repeat(33)} ${good}`],
    ['a key id with a forbidden character', `\nsig k/1 ${good}`],
    ['a key id with a non-ASCII byte', `\nsig k\xe91 ${good}`],
    ['a MAC one character short', `\nsig k1 ${good.slice(1)}`],
    ['a MAC one character long', `\nsig k1 ${good}A`],
    ['base64 padding', `\nsig k1 ${good.slice(0, 42)}=`],
    ['the standard base64 alphabet', `\nsig k1 +${good.slice(1, 42)}/`],
    ['an invalid character', `\nsig k1 ${good.slice(0, 20)}*${good.slice(21)}`],
    ['a trailing space', `\nsig k1 ${good.slice(0, 42)} `],
    ['a truncated trailer', `\nsig k1 `],
  ])('finds no trailer with %s', (_name, text) => {
    expect(splitSigned(trailer(text))).toBeNull();
  });

  it('refuses a non-canonical last character (the unused low bits of the 43rd character)', () => {
    // 32 bytes = 256 bits in 43 characters of 6 bits: the last character carries 2 spare bits.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(good.at(-1) as string);
    const variants = [1, 2, 3].map((spare) => `${good.slice(0, 42)}${alphabet[last ^ spare]}`);
    for (const v of variants) {
      // Node's decoder maps each of them to the same 32 bytes; only the canonical text is taken.
      expect(Buffer.from(v, 'base64url').equals(Buffer.from(good, 'base64url'))).toBe(true);
      expect(splitSigned(trailer(`\nsig k1 ${v}`))).toBeNull();
    }
  });
});

describe('verifyMac', () => {
  afterEach(() => compare.mockClear());

  it('accepts the right MAC and refuses a wrong one, through timingSafeEqual each time', () => {
    const right = computeMac(key, payload);
    expect(verifyMac(key, payload, right)).toBe(true);
    expect(compare).toHaveBeenCalledTimes(1);
    const wrong = Buffer.from(right);
    wrong[31] = (wrong[31] as number) ^ 1;
    expect(verifyMac(key, payload, wrong)).toBe(false);
    expect(verifyMac(otherKey, payload, right)).toBe(false);
    expect(compare).toHaveBeenCalledTimes(3);
    for (const [a, b] of compare.mock.calls) expect((a as Buffer).length).toBe((b as Buffer).length);
  });

  it('refuses a MAC of the wrong length without throwing', () => {
    expect(verifyMac(key, payload, Buffer.alloc(31))).toBe(false);
    expect(verifyMac(key, payload, Buffer.alloc(0))).toBe(false);
    expect(verifyMac(key, payload, Buffer.alloc(64))).toBe(false);
  });

  it('is the comparison the decoder uses for a signed datagram', () => {
    const keyring = new Map([['k1', key]]);
    const options = { maxBytes: 1232, keyring, requireAuth: true };
    const forged = Buffer.from(`${payload.toString()}\nsig k1 ${mac(otherKey, payload)}`);
    expect(decodeDatagram(forged, options)).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(compare).toHaveBeenCalledTimes(1);
  });
});

describe('key rotation', () => {
  const beat = encodeDatagram({
    v: 1,
    kind: 'beat',
    source: 's',
    boot: 'b',
    seq: 1,
    sentAt: '2026-11-24T00:00:00.000Z',
    intervalMs: 1000,
    text: 't',
  });
  const payloadOf = (bytes: Buffer) => bytes.subarray(0, beat.length);
  const signedBy = (keyId: string, k: Buffer) => signPayload(beat, keyId, k);
  const decodeWith = (entries: Array<[string, Buffer]>, bytes: Buffer) =>
    decodeDatagram(bytes, { maxBytes: 1232, keyring: new Map(entries), requireAuth: true });

  it('goes: clients accept old and new, the server switches, clients drop the old key', () => {
    const k2 = Buffer.from('n'.repeat(48));
    // 1. Clients learn k2 while the server still signs with k1.
    const both: Array<[string, Buffer]> = [
      ['k1', key],
      ['k2', k2],
    ];
    expect(decodeWith(both, signedBy('k1', key))).toMatchObject({ ok: true, keyId: 'k1' });
    // 2. The server switches to k2.
    expect(decodeWith(both, signedBy('k2', k2))).toMatchObject({ ok: true, keyId: 'k2' });
    // 3. Clients drop k1: what is still signed with it is an unknown key, not a bad signature.
    expect(decodeWith([['k2', k2]], signedBy('k1', key))).toMatchObject({ ok: false, reason: 'unknown_key' });
    expect(decodeWith([['k2', k2]], signedBy('k2', k2))).toMatchObject({ ok: true, keyId: 'k2' });
    // A datagram claiming k2 but signed with k1 is refused.
    expect(decodeWith(both, signedBy('k2', key))).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(payloadOf(signedBy('k2', k2)).equals(beat)).toBe(true);
  });
});
