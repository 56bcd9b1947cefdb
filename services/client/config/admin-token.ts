/**
 * The admin token that writes (silences) need, read from ADMIN_TOKEN_FILE
 * (a Docker secret) at start-up. A missing, unreadable or malformed file,
 * one larger than a token can be, or one that is not a regular file stops
 * the start with one line naming the variable. The guard that checks a
 * request against the token is http/admin-auth.ts's.
 */
import { readConfigText } from '../../shared/config-file.js';
import { ConfigError } from '../../shared/env.js';

/** A token shorter than this is refused: it could be guessed. */
export const MIN_TOKEN_LENGTH = 32;
/** ADMIN_TOKEN_FILE at most: a token is a line of some dozen characters. */
export const MAX_ADMIN_TOKEN_FILE_BYTES = 64 * 1024;

/** The token in the file at `path` (ADMIN_TOKEN_FILE), or null when none is named. */
export function readAdminToken(path: string): string | null {
  if (path === '') return null;
  let token: string;
  try {
    token = readConfigText(path, { maxBytes: MAX_ADMIN_TOKEN_FILE_BYTES, kind: 'a token file' }).trim();
  } catch (err) {
    throw new ConfigError([
      { variable: 'ADMIN_TOKEN_FILE', value: path, expected: `a readable file (${(err as Error).message})` },
    ]);
  }
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new ConfigError([
      {
        variable: 'ADMIN_TOKEN_FILE',
        value: path,
        expected: `a file holding one token of at least ${MIN_TOKEN_LENGTH} characters without spaces`,
      },
    ]);
  }
  return token;
}
