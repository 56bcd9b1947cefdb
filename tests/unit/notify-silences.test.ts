import { describe, expect, it } from 'vitest';
import {
  activeSilence,
  globMatcher,
  MAX_SILENCE_MS,
  parseSilenceInput,
  type Silence,
  silenceInputSchema,
} from '../../services/client/notify/silences.js';

const HOUR = 3_600_000;
/** 2026-03-01T10:00:00Z */
const NOW = Date.parse('2026-03-01T10:00:00Z');

function silence(over: Partial<Silence> = {}): Silence {
  return { id: 's1', sources: '*', until: NOW + HOUR, comment: '', createdAtMs: NOW, ...over };
}

describe('glob matching', () => {
  const cases: Array<[glob: string, source: string, expected: boolean]> = [
    ['billing', 'billing', true],
    ['billing', 'billing-2', false],
    ['billing', 'xbilling', false],
    ['billing', 'Billing', false],
    ['billing-*', 'billing-', true],
    ['billing-*', 'billing-eu-1', true],
    ['billing-*', 'billing', false],
    ['*-eu-*', 'api-eu-1', true],
    ['*-eu-*', '-eu-', true],
    ['*-eu-*', 'api-us-1', false],
    ['*', '', true],
    ['*', 'anything', true],
    ['**', 'a', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'acb', false],
    ['a*a', 'a', false],
    ['a*a', 'aa', true],
    ['web-?', 'web-1', true],
    ['web-?', 'web-', false],
    ['web-?', 'web-12', false],
    ['?*?', 'ab', true],
    ['?*?', 'a', false],
    ['*?x', 'ax', true],
    ['*?x', 'x', false],
    // Regex metacharacters and brackets are literal.
    ['10.0.0.1:5000', '10.0.0.1:5000', true],
    ['10.0.0.1:5000', '10x0x0x1:5000', false],
    ['[ab]', '[ab]', true],
    ['[ab]', 'a', false],
    ['(a|b)', '(a|b)', true],
    ['(a|b)', 'a', false],
    ['a+', 'a+', true],
    ['a+', 'aa', false],
    ['^$', '^$', true],
    ['a\\*', 'a\\xyz', true],
    ['a{2}', 'aa', false],
    ['[::1]:*', '[::1]:5000', true],
  ];
  it.each(cases)('%j against %j is %s', (glob, source, expected) => {
    expect(globMatcher(glob)(source)).toBe(expected);
  });

  // A backtracking matcher takes longer than the age of the universe on these; this one finishes
  // (the test's own timeout is the bound: how fast is not a unit test's to say).
  it('finishes on patterns that blow up a backtracking matcher', { timeout: 20_000 }, () => {
    const glob = `${'*a'.repeat(100)}*b`;
    const source = 'a'.repeat(10_000);
    expect(globMatcher(glob)(source)).toBe(false);
    expect(globMatcher(`*${'a'.repeat(50)}b*`)(source)).toBe(false);
    expect(globMatcher(`*${'?'.repeat(200)}*x`)(source)).toBe(false);
  });
});

describe('active silence', () => {
  it('is the matching one that lasts longest, and ends at exactly `until`', () => {
    const short = silence({ id: 'short', sources: 'billing-*', until: NOW + HOUR });
    const long = silence({ id: 'long', sources: 'billing-?', until: NOW + 2 * HOUR });
    const other = silence({ id: 'other', sources: 'web-*', until: NOW + 5 * HOUR });
    const all = [short, long, other];
    expect(activeSilence(all, 'billing-1', NOW)?.id).toBe('long');
    expect(activeSilence(all, 'billing-eu', NOW)?.id).toBe('short');
    expect(activeSilence(all, 'api', NOW)).toBeNull();
    expect(activeSilence(all, 'billing-1', NOW + 2 * HOUR - 1)?.id).toBe('long');
    expect(activeSilence(all, 'billing-1', NOW + 2 * HOUR)).toBeNull();
    expect(activeSilence(all, 'billing-eu', NOW + HOUR)).toBeNull();
    expect(activeSilence([], 'billing-1', NOW)).toBeNull();
  });
});

describe('silence input', () => {
  it('takes a duration from now or a future ISO-8601 date-time', () => {
    expect(parseSilenceInput({ sources: 'billing-*', until: '2h', comment: 'deploy' }, NOW)).toEqual({
      ok: true,
      value: { sources: 'billing-*', untilMs: NOW + 2 * HOUR, comment: 'deploy' },
    });
    expect(parseSilenceInput({ sources: 'a', until: '2026-03-01T12:30:00Z' }, NOW)).toEqual({
      ok: true,
      value: { sources: 'a', untilMs: NOW + 2.5 * HOUR, comment: '' },
    });
    const offset = parseSilenceInput({ sources: 'a', until: '2026-03-01T12:30:00+02:00' }, NOW);
    expect(offset.ok && offset.value.untilMs).toBe(NOW + 0.5 * HOUR);
  });

  it('names the parameter of every refusal', () => {
    const refused = (body: unknown) => {
      const r = parseSilenceInput(body, NOW);
      if (r.ok) throw new Error(`accepted ${JSON.stringify(body)}`);
      expect(r.message).not.toBe('');
      return r.parameter;
    };
    expect(refused({ until: '1h' })).toBe('sources');
    expect(refused({ sources: '', until: '1h' })).toBe('sources');
    expect(refused({ sources: 'a b', until: '1h' })).toBe('sources');
    expect(refused({ sources: 'x'.repeat(257), until: '1h' })).toBe('sources');
    expect(refused({ sources: 'a\u0000', until: '1h' })).toBe('sources');
    expect(refused({ sources: 'a' })).toBe('until');
    expect(refused({ sources: 'a', until: 'tomorrow' })).toBe('until');
    expect(refused({ sources: 'a', until: '2h30' })).toBe('until');
    expect(refused({ sources: 'a', until: '2026-03-01T12:30:00' })).toBe('until'); // no zone
    expect(refused({ sources: 'a', until: '2026-03-01T09:00:00Z' })).toBe('until'); // past
    expect(refused({ sources: 'a', until: '2026-03-01T10:00:00Z' })).toBe('until'); // now
    expect(refused({ sources: 'a', until: '0s' })).toBe('until');
    expect(refused({ sources: 'a', until: `${MAX_SILENCE_MS / HOUR + 1}h` })).toBe('until');
    expect(refused({ sources: 'a', until: 7200 })).toBe('until');
    expect(refused({ sources: 'a', until: '1h', comment: 'x'.repeat(501) })).toBe('comment');
    expect(refused({ sources: 'a', until: '1h', comment: 3 })).toBe('comment');
    expect(refused({ sources: 'a', until: '1h', source: 'typo' })).toBe('source');
    expect(refused(null)).toBe('body');
    expect(refused('sources=a')).toBe('body');
    expect(refused([])).toBe('body');
  });

  it('documents its fields', () => {
    expect(Object.keys(silenceInputSchema.shape)).toEqual(['sources', 'until', 'comment']);
    for (const field of Object.values(silenceInputSchema.shape)) expect(field.description).toBeTruthy();
  });
});
