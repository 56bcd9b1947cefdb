import { describe, expect, it } from 'vitest';
import { loadServerConfig } from '../../services/server/config.js';
import {
  formatTarget,
  MAX_ADDRESSES_PER_TARGET,
  parseTarget,
  pickAddresses,
} from '../../services/shared/beacon/targets.js';
import { ConfigError, formatProblem } from '../../services/shared/env.js';

const answer = (...addresses: string[]) => addresses.map((address) => ({ address }));

describe('target syntax', () => {
  it('parses host:port, an IP literal and the resolver behaviour', () => {
    expect(parseTarget('client:5000')).toEqual({ host: 'client', port: 5000 });
    expect(parseTarget('tasks.client:5000/all')).toEqual({ host: 'tasks.client', port: 5000 });
    expect(parseTarget('client:5000/first')).toEqual({ host: 'client', port: 5000, mode: 'first' });
    expect(parseTarget('10.0.0.7:65535')).toEqual({ host: '10.0.0.7', port: 65535 });
    expect(parseTarget('[::1]:5000/first')).toEqual({ host: '::1', port: 5000, mode: 'first' });
  });

  it.each([
    'client',
    'client:',
    'client:0',
    'client:65536',
    'client:5000/',
    'client:5000/one',
    'client:5000/FIRST',
    'client:5000/first/all',
    '[1.2.3.4]:5000',
    '[client]:5000',
    'cli ent:5000',
  ])('rejects %j', (text) => {
    expect(parseTarget(text)).toBeUndefined();
  });

  it('formats the canonical text that logs and metric labels use, and parses it back', () => {
    for (const text of ['client:5000', 'tasks.client:5000/first', '[::1]:5000', '127.0.0.1:9/first']) {
      const target = parseTarget(text);
      expect(target).toBeDefined();
      if (target === undefined) continue;
      expect(formatTarget(target)).toBe(text);
      expect(parseTarget(formatTarget(target))).toEqual(target);
    }
    expect(formatTarget({ host: 'client', port: 5000, mode: 'all' })).toBe('client:5000');
  });

  it('a bad entry in BEACON_TARGETS is one config_error line naming the syntax', () => {
    let caught: unknown;
    try {
      loadServerConfig({ BEACON_TARGETS: 'tasks.client:5000, client:5000/one' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems;
    expect(problems).toHaveLength(1);
    expect(formatProblem(problems[0] as ConfigError['problems'][number])).toBe(
      'invalid configuration: BEACON_TARGETS="tasks.client:5000, client:5000/one": expected a ' +
        'comma-separated list of host:port, each optionally followed by /all or /first, ' +
        'each host:port once, e.g. tasks.client:5000,[::1]:5000/first',
    );
    expect(loadServerConfig({ BEACON_TARGETS: 'tasks.client:5000, client:6000/first' }).targets).toEqual([
      { host: 'tasks.client', port: 5000 },
      { host: 'client', port: 6000, mode: 'first' },
    ]);
  });
});

describe('choosing the addresses from an answer', () => {
  it('all: every address, sorted and without duplicates, so a reordered answer is the same answer', () => {
    expect(pickAddresses(answer('10.0.0.9', '10.0.0.3', '10.0.0.9', '10.0.0.5'))).toEqual({
      addresses: ['10.0.0.3', '10.0.0.5', '10.0.0.9'],
      dropped: 0,
    });
    expect(pickAddresses(answer('10.0.0.5', '10.0.0.3')).addresses).toEqual(
      pickAddresses(answer('10.0.0.3', '10.0.0.5')).addresses,
    );
  });

  it('first: only the first address, in the resolver order (a DNS round-robin spreads the beats)', () => {
    expect(pickAddresses(answer('10.0.0.9', '10.0.0.3'), 'first')).toEqual({
      addresses: ['10.0.0.9'],
      dropped: 0,
    });
  });

  it("keeps only the first address's family: a dual-stack host gets each beat once", () => {
    expect(pickAddresses(answer('172.18.0.3', 'fd00::3', '172.18.0.4', 'fd00::4')).addresses).toEqual([
      '172.18.0.3',
      '172.18.0.4',
    ]);
    expect(pickAddresses(answer('fd00::4', '172.18.0.3', 'fd00::3')).addresses).toEqual([
      'fd00::3',
      'fd00::4',
    ]);
  });

  it(`caps a target at ${MAX_ADDRESSES_PER_TARGET} addresses and says how many were left out`, () => {
    const many = answer(...Array.from({ length: 100 }, (_, i) => `10.1.${Math.floor(i / 10)}.${i % 10}`));
    const pick = pickAddresses(many);
    expect(pick.addresses).toHaveLength(MAX_ADDRESSES_PER_TARGET);
    expect(pick.dropped).toBe(100 - MAX_ADDRESSES_PER_TARGET);
    // The same ones whatever the order of the answer.
    expect(pickAddresses([...many].reverse()).addresses).toEqual(pick.addresses);
    expect(pickAddresses(answer('10.0.0.1', '10.0.0.2', '10.0.0.3'), 'all', 2)).toEqual({
      addresses: ['10.0.0.1', '10.0.0.2'],
      dropped: 1,
    });
  });

  it('ignores what is not an IP address; an answer without one picks nothing', () => {
    expect(pickAddresses(answer('not-an-ip', '10.0.0.1')).addresses).toEqual(['10.0.0.1']);
    expect(pickAddresses(answer())).toEqual({ addresses: [], dropped: 0 });
    expect(pickAddresses(answer('nope'), 'first')).toEqual({ addresses: [], dropped: 0 });
  });
});
