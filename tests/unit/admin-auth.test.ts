import { describe, expect, it } from 'vitest';
import { adminGuard } from '../../services/client/http/admin-auth.js';

const TOKEN = 'k'.repeat(40);

describe('the admin guard', () => {
  const guard = adminGuard(TOKEN);

  it.each([
    `Bearer ${TOKEN}`,
    // The scheme's name is case-insensitive (RFC 9110, 11.1).
    `bearer ${TOKEN}`,
    `BEARER  ${TOKEN}`,
  ])('lets %j write', (authorization) => {
    expect(guard(authorization)).toEqual({ ok: true });
  });

  it.each([
    undefined,
    '',
    'Bearer',
    `Bearer ${TOKEN}x`,
    `Bearer ${TOKEN.slice(1)}`,
    `Basic ${TOKEN}`,
    `Bearer ${TOKEN} extra`,
    `Bearer${TOKEN}`,
  ])('answers %j with a 401 that says what to send', (authorization) => {
    const verdict = guard(authorization);
    expect(verdict).toMatchObject({ ok: false, status: 401, body: { error: 'unauthorized' } });
  });

  it('refuses every write with a 403 that says how, when no token is configured', () => {
    expect(adminGuard(null)(`Bearer ${TOKEN}`)).toMatchObject({
      ok: false,
      status: 403,
      body: { error: 'writes_disabled', message: expect.stringContaining('ADMIN_TOKEN_FILE') },
    });
  });
});
