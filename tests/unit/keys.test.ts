import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, formatProblem } from '../../services/shared/env.js';
import {
  MAX_KEY_FILE_BYTES,
  parseKeyFileSpec,
  readKey,
  readKeyring,
  trimKey,
} from '../../services/shared/keys.js';
import { parseLogLine } from '../../services/shared/log-schema.js';
import { MIN_KEY_BYTES } from '../../services/shared/signing.js';
import { validLogRecords } from '../support/log-lines.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'udpts-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keyFile(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseKeyFileSpec', () => {
  it('reads keyId=/absolute/path', () => {
    expect(parseKeyFileSpec('k1=/run/secrets/beacon-k1')).toEqual({
      keyId: 'k1',
      path: '/run/secrets/beacon-k1',
    });
    expect(parseKeyFileSpec('a.b_c-D=/x=y')).toEqual({ keyId: 'a.b_c-D', path: '/x=y' });
  });
  it.each([
    '',
    'k1',
    '=/run/secrets/k1',
    'k1=',
    'k1=relative/path',
    'k 1=/p',
    'k1/x=/p',
    `${'k'.repeat(33)}=/p`,
  ])('refuses %j', (text) => {
    expect(parseKeyFileSpec(text)).toBeUndefined();
  });
});

describe('readKey', () => {
  // The shape `openssl rand -base64 48` writes: 64 base64 characters and a newline.
  const openssl = `${createHash('sha384').update('keys test').digest('base64')}\n`;

  it('reads the key text of an `openssl rand -base64 48` file, without its newline', () => {
    const key = readKey({ keyId: 'k1', path: keyFile('ok.key', openssl) }, 'AUTH_KEY_FILES');
    expect(key.toString()).toBe(openssl.trim());
    expect(key.length).toBe(64);
  });

  it('takes exactly MIN_KEY_BYTES bytes, and not one less', () => {
    const path = keyFile('min.key', `${'x'.repeat(MIN_KEY_BYTES)}\n`);
    expect(readKey({ keyId: 'k1', path }, 'V').length).toBe(MIN_KEY_BYTES);
    const short = keyFile('short.key', `${'x'.repeat(MIN_KEY_BYTES - 1)}\n`);
    const err = configError(() => readKey({ keyId: 'k1', path: short }, 'AUTH_KEY_FILES'));
    expect(err.problems).toEqual([
      {
        variable: 'AUTH_KEY_FILES',
        value: `k1=${short}`,
        expected: `a key of at least ${MIN_KEY_BYTES} bytes (the file has ${MIN_KEY_BYTES - 1}); make one with: openssl rand -base64 48`,
      },
    ]);
  });

  it('does not count surrounding whitespace as key material', () => {
    const path = keyFile('padded.key', `  \t${'x'.repeat(MIN_KEY_BYTES - 1)}\r\n\n`);
    expect(() => readKey({ keyId: 'k1', path }, 'V')).toThrow(/the file has 31/);
  });

  it('keeps the bytes of a binary key file as they are', () => {
    const binary = Buffer.from(Array.from({ length: 48 }, (_, i) => (i * 37 + 128) % 256));
    binary[0] = 0xff;
    binary[47] = 0x80;
    const key = readKey({ keyId: 'k1', path: keyFile('binary.key', binary) }, 'V');
    expect(key.equals(binary)).toBe(true);
  });

  it('fails closed on a missing file, a directory and an oversized file', () => {
    const missing = configError(() => readKey({ keyId: 'k1', path: join(dir, 'nope') }, 'AUTH_KEY_FILES'));
    expect(missing.problems[0]?.expected).toMatch(/^a readable key file \(ENOENT/);
    expect(formatProblem(missing.problems[0] as never)).toMatch(
      /^invalid configuration: AUTH_KEY_FILES="k1=/,
    );
    const folder = join(dir, 'folder');
    mkdirSync(folder);
    expect(configError(() => readKey({ keyId: 'k1', path: folder }, 'V')).problems[0]?.expected).toBe(
      'a readable key file (a directory, not a regular file)',
    );
    const big = keyFile('big.key', 'x'.repeat(MAX_KEY_FILE_BYTES + 1));
    expect(configError(() => readKey({ keyId: 'k1', path: big }, 'V')).problems[0]?.expected).toBe(
      'a readable key file (larger than 4 KiB, the most a key file may hold)',
    );
    expect(
      readKey({ keyId: 'k1', path: keyFile('max.key', 'x'.repeat(MAX_KEY_FILE_BYTES)) }, 'V').length,
    ).toBe(MAX_KEY_FILE_BYTES);
  });

  it('refuses /dev/zero as not a regular file, naming the variable', () => {
    const endless = configError(() => readKey({ keyId: 'k1', path: '/dev/zero' }, 'AUTH_KEY_FILE'));
    expect(formatProblem(endless.problems[0] as never)).toBe(
      'invalid configuration: AUTH_KEY_FILE="k1=/dev/zero": expected a readable key file (a character device, not a regular file)',
    );
  });

  it('trims ASCII whitespace only', () => {
    expect(trimKey(Buffer.from(' \t\n\v\f\rab c\n')).toString()).toBe('ab c');
    expect(trimKey(Buffer.from([0xa0, 0x61, 0xa0])).length).toBe(3);
    expect(trimKey(Buffer.from('   ')).length).toBe(0);
  });
});

describe('readKeyring', () => {
  it('reads every key by id', () => {
    const a = keyFile('a.key', 'a'.repeat(40));
    const b = keyFile('b.key', 'b'.repeat(40));
    const ring = readKeyring(
      [
        { keyId: 'k1', path: a },
        { keyId: 'k2', path: b },
      ],
      'AUTH_KEY_FILES',
    );
    expect([...ring.keys()]).toEqual(['k1', 'k2']);
    expect(ring.get('k2')?.toString()).toBe('b'.repeat(40));
    expect(readKeyring([], 'AUTH_KEY_FILES').size).toBe(0);
  });

  it('refuses a key id given twice', () => {
    const a = keyFile('dup.key', 'a'.repeat(40));
    const err = configError(() =>
      readKeyring(
        [
          { keyId: 'k1', path: a },
          { keyId: 'k1', path: a },
        ],
        'AUTH_KEY_FILES',
      ),
    );
    expect(err.problems[0]?.expected).toBe('each key id once (k1 is given twice)');
  });

  it('stops at the first bad file, naming the variable', () => {
    const good = keyFile('good.key', 'g'.repeat(40));
    const err = configError(() =>
      readKeyring(
        [
          { keyId: 'k1', path: good },
          { keyId: 'k2', path: join(dir, 'absent.key') },
        ],
        'AUTH_KEY_FILES',
      ),
    );
    expect(err.problems.map((p) => [p.variable, p.value])).toEqual([
      ['AUTH_KEY_FILES', `k2=${join(dir, 'absent.key')}`],
    ]);
  });
});

// The real processes, started the way a developer starts them: a bad key
// stops start-up with exit code 1 and one config_error line, nothing else.
describe('start-up fails closed', () => {
  async function start(service: 'client' | 'server', env: Record<string, string>) {
    try {
      const out = await run(process.execPath, ['--import', 'tsx', `services/${service}/main.ts`], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HTTP_PORT: '0', UDP_PORT: '0', ...env },
        timeout: 15_000,
      });
      return { code: 0, stdout: out.stdout, stderr: out.stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }
  const lines = (stdout: string) => stdout.split('\n').filter((l) => l.length > 0);

  it('client: a too-short key in AUTH_KEY_FILES', async () => {
    const short = keyFile('client-short.key', 'too-short\n');
    const r = await start('client', { REQUIRE_AUTH: 'true', AUTH_KEY_FILES: `k1=${short}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const out = lines(r.stdout);
    expect(out).toHaveLength(1);
    expect(parseLogLine(out[0] as string).ok).toBe(true);
    expect(JSON.parse(out[0] as string)).toMatchObject({
      level: 'fatal',
      service: 'client',
      event: 'config_error',
      variable: 'AUTH_KEY_FILES',
      value: `k1=${short}`,
      expected: expect.stringMatching(/^a key of at least 32 bytes \(the file has 9\)/),
    });
  }, 20_000);

  it('client: REQUIRE_AUTH=true without any key', async () => {
    const r = await start('client', { REQUIRE_AUTH: 'true' });
    expect(r.code).toBe(1);
    const out = validLogRecords(lines(r.stdout));
    expect(out).toEqual([expect.objectContaining({ event: 'config_error', variable: 'AUTH_KEY_FILES' })]);
  }, 20_000);

  it('server: a missing key file in AUTH_KEY_FILE', async () => {
    const r = await start('server', { AUTH_KEY_FILE: `k1=${join(dir, 'server-missing.key')}` });
    expect(r.code).toBe(1);
    const out = validLogRecords(lines(r.stdout));
    expect(out).toEqual([
      expect.objectContaining({
        event: 'config_error',
        variable: 'AUTH_KEY_FILE',
        expected: expect.stringMatching(/^a readable key file \(ENOENT/),
      }),
    ]);
  }, 20_000);
});
