import { afterEach, describe, expect, it } from 'vitest';
import { loadClientConfig } from '../../services/client/config.js';
import { createAllowlist, parseCidr } from '../../services/client/ingest/allowlist.js';
import { type Monitor, startMonitor } from '../../services/client/monitor.js';
import { ConfigError } from '../../services/shared/env.js';
import { captureLogs } from '../support/log-capture.js';
import { freshDataDir } from '../support/monitor.js';
import { beat, eventually, sendUdp } from '../support/udp.js';

const allow = (...cidrs: string[]) => {
  const check = createAllowlist(cidrs.map((c) => parseCidr(c) ?? expect.unreachable(c)));
  if (check === null) throw new Error('expected a predicate');
  return check;
};

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', { address: '10.0.0.0', prefix: 8, family: 'ipv4' }],
    ['127.0.0.1', { address: '127.0.0.1', prefix: 32, family: 'ipv4' }],
    ['0.0.0.0/0', { address: '0.0.0.0', prefix: 0, family: 'ipv4' }],
    ['fd00::/8', { address: 'fd00::', prefix: 8, family: 'ipv6' }],
    ['::1', { address: '::1', prefix: 128, family: 'ipv6' }],
    ['::ffff:10.0.0.0/104', { address: '::ffff:10.0.0.0', prefix: 104, family: 'ipv6' }],
  ])('reads %s', (text, cidr) => {
    expect(parseCidr(text)).toEqual(cidr);
  });

  it.each([
    // An empty or odd prefix must not turn into /0, which would allow everything.
    '10.0.0.0/',
    '10.0.0.0/ 8',
    '10.0.0.0/0x8',
    '10.0.0.0/+8',
    '10.0.0.0/8.0',
    '10.0.0.0/1e1',
    '10.0.0.0/-1',
    '10.0.0.0/33',
    '10.0.0.0/8/8',
    '::/129',
    '/8',
    '',
    'localhost/8',
    '10.0.0/8',
    '256.0.0.0/8',
  ])('refuses %j', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });

  it('is how ALLOW_FROM is read: one bad entry stops start-up', () => {
    expect(loadClientConfig({ ALLOW_FROM: '10.0.0.0/8, ::1' }).allowFrom).toHaveLength(2);
    expect(() => loadClientConfig({ ALLOW_FROM: '10.0.0.0/8,10.0.0.0/' })).toThrow(ConfigError);
    expect(() => loadClientConfig({ ALLOW_FROM: '10.0.0.0/8,' })).toThrow(ConfigError);
  });
});

describe('createAllowlist', () => {
  it('allows everything (returns null) when empty', () => {
    expect(createAllowlist([])).toBeNull();
  });

  it('matches IPv4 addresses by prefix', () => {
    const check = allow('10.0.0.0/8', '192.168.1.7');
    expect(check('10.255.0.1')).toBe(true);
    expect(check('11.0.0.1')).toBe(false);
    expect(check('192.168.1.7')).toBe(true);
    expect(check('192.168.1.8')).toBe(false);
  });

  it('matches IPv6 addresses by prefix, with or without a zone', () => {
    const check = allow('fd00::/8', 'fe80::/10');
    expect(check('fd12:3456::1')).toBe(true);
    expect(check('fe80::1%eth0')).toBe(true);
    expect(check('2001:db8::1')).toBe(false);
    expect(check('::1')).toBe(false);
  });

  it('treats IPv4-mapped IPv6 addresses as the IPv4 address they carry', () => {
    const check = allow('10.0.0.0/8');
    expect(check('::ffff:10.1.2.3')).toBe(true);
    expect(check('::FFFF:10.1.2.3')).toBe(true);
    expect(check('::ffff:a01:203')).toBe(true); // 10.1.2.3 in hex form
    expect(check('::ffff:11.1.2.3')).toBe(false);
    // A rule written in the mapped form also matches plain IPv4.
    const mapped = allow('::ffff:10.0.0.0/104');
    expect(mapped('10.1.2.3')).toBe(true);
    expect(mapped('::ffff:10.1.2.3')).toBe(true);
    expect(mapped('11.1.2.3')).toBe(false);
  });

  it('does not let an IPv4 rule match an unrelated IPv6 address or garbage', () => {
    const check = allow('0.0.0.0/0');
    expect(check('1.2.3.4')).toBe(true);
    expect(check('2001:db8::1')).toBe(false);
    expect(check('not an address')).toBe(false);
    expect(check('')).toBe(false);
  });
});

// The real socket path: the remote address as the kernel reports it.
describe('ALLOW_FROM in the running monitor', () => {
  let monitor: Monitor | undefined;
  afterEach(async () => {
    await monitor?.stop();
    monitor = undefined;
  });

  async function startWith(env: Record<string, string>) {
    const logs = captureLogs('client');
    const config = loadClientConfig({
      UDP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      DATA_DIR: freshDataDir(),
      ...env,
    });
    monitor = await startMonitor(config, logs.logger);
    return { monitor, logs };
  }

  it('rejects a sender outside the list as not_allowed, before decoding', async () => {
    const { monitor: m, logs } = await startWith({ UDP_HOST: '127.0.0.1', ALLOW_FROM: '10.0.0.0/8' });
    await sendUdp(m.udp.port, [beat(0), 'plain text']);
    await eventually(() => expect(m.ingest.stats.exceptions.get('not_allowed')).toBe(2));
    expect(m.ingest.stats.accepted).toBe(0);
    expect(m.ingest.stats.text).toBe(0);
    expect(logs.events('exception').map((l) => l.reason)).toEqual(['not_allowed', 'not_allowed']);
  });

  it('accepts IPv4 senders on a dual-stack socket (::ffff:127.0.0.1) by their IPv4 rule', async () => {
    const { monitor: m } = await startWith({ UDP_HOST: '::', ALLOW_FROM: '127.0.0.0/8' });
    await sendUdp(m.udp.port, [beat(0)], '127.0.0.1');
    await sendUdp(m.udp.port, [beat(1)], '::1');
    await eventually(() => {
      expect(m.ingest.stats.accepted).toBe(1);
      expect(m.ingest.stats.exceptions.get('not_allowed')).toBe(1);
    });
  });
});
