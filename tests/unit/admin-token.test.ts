import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_ADMIN_TOKEN_FILE_BYTES, readAdminToken } from '../../services/client/config/admin-token.js';
import { ConfigError } from '../../services/shared/env.js';

const dir = mkdtempSync(join(tmpdir(), 'udpts-admin-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TOKEN = 'k'.repeat(40);

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

/** The one config_error line a bad ADMIN_TOKEN_FILE gives. */
function problem(path: string): string {
  try {
    readAdminToken(path);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('readAdminToken (ADMIN_TOKEN_FILE)', () => {
  it('reads the token, without surrounding white space; none when no file is named', () => {
    expect(readAdminToken(file('token', `${TOKEN}\n`))).toBe(TOKEN);
    expect(readAdminToken('')).toBeNull();
  });

  it('refuses a short token, a missing file and a directory, naming the variable', () => {
    const short = file('short', 'k'.repeat(31));
    expect(problem(short)).toBe(
      `invalid configuration: ADMIN_TOKEN_FILE=${JSON.stringify(short)}: expected a file holding one token of at least 32 characters without spaces`,
    );
    const missing = join(dir, 'missing');
    expect(problem(missing)).toBe(
      `invalid configuration: ADMIN_TOKEN_FILE=${JSON.stringify(missing)}: expected a readable file (ENOENT: no such file or directory, open '${missing}')`,
    );
    const folder = join(dir, 'folder');
    mkdirSync(folder);
    expect(problem(folder)).toBe(
      `invalid configuration: ADMIN_TOKEN_FILE=${JSON.stringify(folder)}: expected a readable file (a directory, not a regular file)`,
    );
  });

  it('refuses a file over MAX_ADMIN_TOKEN_FILE_BYTES (a log file named by mistake) unread', () => {
    const big = file('big', TOKEN.padEnd(MAX_ADMIN_TOKEN_FILE_BYTES + 1, 'k'));
    expect(problem(big)).toBe(
      `invalid configuration: ADMIN_TOKEN_FILE=${JSON.stringify(big)}: expected a readable file (larger than 64 KiB, the most a token file may hold)`,
    );
    expect(readAdminToken(file('full', TOKEN.padEnd(MAX_ADMIN_TOKEN_FILE_BYTES, 'k')))?.length).toBe(
      MAX_ADMIN_TOKEN_FILE_BYTES,
    );
  });

  it('refuses /dev/zero at once', () => {
    expect(problem('/dev/zero')).toBe(
      'invalid configuration: ADMIN_TOKEN_FILE="/dev/zero": expected a readable file (a character device, not a regular file)',
    );
  });
});
