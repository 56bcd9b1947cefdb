/**
 * Writes need a token: `Authorization: Bearer <token>`, the token read from
 * ADMIN_TOKEN_FILE (a Docker secret; config/admin-token.ts) and compared in constant time. With no
 * token configured, writes are refused with a 403 that says how to set one.
 * No cookies, so there is nothing for a cross-site request to ride on.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { MIN_TOKEN_LENGTH } from '../config/admin-token.js';
import { type ErrorAnswer, errorAnswer } from './error-codes.js';

export type AdminVerdict = { ok: true } | ({ ok: false } & ErrorAnswer);

const digest = (text: string) => createHash('sha256').update(text).digest();

export function adminGuard(token: string | null): (authorization: string | undefined) => AdminVerdict {
  const expected = token === null ? null : digest(token);
  return (authorization) => {
    if (expected === null) {
      return {
        ok: false,
        ...errorAnswer(
          'writes_disabled',
          `no admin token is configured: put a token of at least ${MIN_TOKEN_LENGTH} characters in a file (a Docker secret), ` +
            'set ADMIN_TOKEN_FILE to its path, and send it as "Authorization: Bearer <token>"',
        ),
      };
    }
    // The scheme's name is case-insensitive (RFC 9110, 11.1), and one or more spaces follow it.
    const match = /^Bearer +(\S+)$/i.exec(authorization ?? '');
    // Digests of equal length, so the comparison takes the same time whatever was sent.
    if (match === null || !timingSafeEqual(digest(match[1] as string), expected)) {
      return {
        ok: false,
        ...errorAnswer('unauthorized', 'send "Authorization: Bearer <token>" with the admin token'),
      };
    }
    return { ok: true };
  };
}
