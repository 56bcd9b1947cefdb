import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  firstQueryName,
  hostsFileNames,
  NO_SEARCH,
  parseResolvConf,
} from '../../services/shared/dns/resolver-config.js';
import {
  netLookup,
  type SystemLookup,
  type SystemLookupOptions,
  systemLookup,
} from '../../services/shared/dns/system-lookup.js';
import { type DnsStub, type DnsStubBehaviour, dnsStub, lookupVia } from '../support/dns-stub.js';

const answer = (...addresses: string[]) => addresses.map((address) => ({ address }));
/** What a lookup came to: its answer, or its error's code. */
const outcome = (p: Promise<unknown>) =>
  p.then(
    (a) => a,
    (err: { code?: string }) => err.code,
  );

describe('the first name getaddrinfo asks the DNS for', () => {
  const kubernetes = parseResolvConf(
    [
      '# written by the kubelet',
      'search monitoring.svc.cluster.local svc.cluster.local cluster.local',
      'nameserver 10.96.0.10',
      'options ndots:5',
    ].join('\n'),
  );

  it('reads the search list and ndots; the last of search and domain counts', () => {
    expect(kubernetes).toEqual({
      search: ['monitoring.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
      ndots: 5,
    });
    expect(parseResolvConf('search a.example b.example\ndomain c.example\n')).toEqual({
      search: ['c.example'],
      ndots: 1,
    });
    expect(parseResolvConf('domain c.example\nsearch a.example\noptions ndots:99 rotate')).toEqual({
      search: ['a.example'],
      ndots: 15,
    });
    expect(parseResolvConf('; nothing\nnameserver 127.0.0.11\n')).toEqual(NO_SEARCH);
  });

  it('lists the names /etc/hosts gives addresses to, whatever their case, past comments, on address lines only', () => {
    const names = hostsFileNames(
      [
        '127.0.0.1\tlocalhost',
        '::1 localhost ip6-localhost # the loopback',
        '# 10.0.0.1 commented-out',
        '172.18.0.5 Monitor-B monitor-b.corp.example',
        '10.0.0.9',
        'not-an-address skipped-name',
        '',
      ].join('\n'),
    );
    expect([...names].sort()).toEqual(['ip6-localhost', 'localhost', 'monitor-b', 'monitor-b.corp.example']);
  });

  it('appends the first search domain to a name with fewer dots than ndots', () => {
    expect(firstQueryName('udp-monitor-0.udp-monitor-beats', kubernetes)).toBe(
      'udp-monitor-0.udp-monitor-beats.monitoring.svc.cluster.local',
    );
    expect(firstQueryName('monitor', { search: ['corp.example.'], ndots: 1 })).toBe('monitor.corp.example');
  });

  it('asks for the name as given when it has ndots dots, ends in a dot, or nothing is to be appended', () => {
    expect(firstQueryName('a.b.c.d.example.org', kubernetes)).toBe('a.b.c.d.example.org');
    expect(firstQueryName('client.', kubernetes)).toBe('client.');
    // Docker's containers: ndots:0.
    expect(firstQueryName('client', { search: ['corp.example'], ndots: 0 })).toBe('client');
    expect(firstQueryName('client', NO_SEARCH)).toBe('client');
    // systemd-resolved's `search .`
    expect(firstQueryName('client', { search: ['.'], ndots: 1 })).toBe('client');
  });
});

describe('systemLookup', () => {
  const stubs: DnsStub[] = [];
  afterEach(async () => {
    for (const stub of stubs.splice(0)) await stub.close();
  });

  async function stubbed(behaviour: DnsStubBehaviour, options: SystemLookupOptions = {}) {
    const stub = await dnsStub(behaviour);
    stubs.push(stub);
    return { stub, ...lookupVia(stub, '10.0.0.9', options) };
  }

  it("returns getaddrinfo's answer once a DNS server has answered the probe with an address", async () => {
    const { stub, names, asked } = await stubbed({ address: '10.0.0.1' });
    await expect(names.lookup('client')).resolves.toEqual(answer('10.0.0.9'));
    expect(stub.names).toEqual(['client']);
    expect(asked).toEqual(['client']);
  });

  it('calls getaddrinfo after "no such name" too; the probe asks for the search domain\'s name first', async () => {
    const { stub, names, asked } = await stubbed('nxdomain', {
      search: { search: ['monitoring.svc.cluster.local'], ndots: 5 },
    });
    await expect(names.lookup('udp-monitor-0.udp-monitor-beats')).resolves.toEqual(answer('10.0.0.9'));
    expect(stub.names).toEqual(['udp-monitor-0.udp-monitor-beats.monitoring.svc.cluster.local']);
    // getaddrinfo is given the name as configured: it applies the search list itself.
    expect(asked).toEqual(['udp-monitor-0.udp-monitor-beats']);
  });

  it('calls getaddrinfo when nothing listens at the DNS address (a refusal is an answer: /etc/hosts then)', async () => {
    const closed = createSocket('udp4');
    await new Promise<void>((resolve) => closed.bind(0, '127.0.0.1', resolve));
    const port = closed.address().port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const asked: string[] = [];
    const names = systemLookup({
      servers: [`127.0.0.1:${port}`],
      search: NO_SEARCH,
      hostsNames: new Set(),
      getaddrinfo: async (host) => {
        asked.push(host);
        return answer('127.0.0.1');
      },
    });
    await expect(names.lookup('localhost')).resolves.toEqual(answer('127.0.0.1'));
    expect(asked).toEqual(['localhost']);
  });

  it('fails with ETIMEOUT, never calling getaddrinfo, while the DNS servers are silent', async () => {
    const { stub, names, asked } = await stubbed('silent', { probeTimeoutMs: 50, probeTries: 1 });
    await expect(outcome(names.lookup('client'))).resolves.toBe('ETIMEOUT');
    expect(stub.names).toEqual(['client']);
    expect(asked).toEqual([]);
  });

  it('cancel() ends a lookup waiting on a silent server at once, and every later one', async () => {
    // Tries far longer than the test: only the cancel can end the lookup.
    const { stub, names, asked } = await stubbed('silent');
    const pending = outcome(names.lookup('client'));
    await vi.waitFor(() => expect(stub.names).toEqual(['client']));
    names.cancel();
    await expect(pending).resolves.toBe('ECANCELLED');
    await expect(outcome(names.lookup('client'))).resolves.toBe('ECANCELLED');
    expect(stub.names).toEqual(['client']);
    expect(asked).toEqual([]);
  });

  it('asks no DNS server for a name /etc/hosts lists: getaddrinfo answers it from the file', async () => {
    const { stub, names, asked } = await stubbed('silent', { hostsNames: new Set(['monitor-b']) });
    await expect(names.lookup('Monitor-B')).resolves.toEqual(answer('10.0.0.9'));
    expect(asked).toEqual(['Monitor-B']);
    expect(stub.names).toEqual([]);
  });
});

describe("netLookup: the system lookup in dns.lookup's shape", () => {
  const fixed = (result: () => Promise<readonly { address: string }[]>): SystemLookup => ({
    lookup: result,
    cancel() {},
  });
  const call = (names: SystemLookup, options: Parameters<ReturnType<typeof netLookup>>[1]) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family: unknown }>((resolve) =>
      netLookup(names)('client', options, (err, address, family) => resolve({ err, address, family })),
    );
  const dualStack = fixed(async () => answer('fd00::5', '10.0.0.5', '10.0.0.6'));

  it('gives every address with its family for `all`, the first one otherwise, filtered by `family`', async () => {
    await expect(call(dualStack, { all: true })).resolves.toMatchObject({
      err: null,
      address: [
        { address: 'fd00::5', family: 6 },
        { address: '10.0.0.5', family: 4 },
        { address: '10.0.0.6', family: 4 },
      ],
    });
    await expect(call(dualStack, {})).resolves.toEqual({ err: null, address: 'fd00::5', family: 6 });
    await expect(call(dualStack, { family: 4 })).resolves.toEqual({
      err: null,
      address: '10.0.0.5',
      family: 4,
    });
  });

  it("fails with ENOTFOUND when nothing is left, and passes a lookup's own error on", async () => {
    const v6less = await call(
      fixed(async () => answer('10.0.0.5')),
      { family: 6 },
    );
    expect(v6less.err?.code).toBe('ENOTFOUND');
    const cancelled = await call(
      fixed(async () => {
        throw Object.assign(new Error('lookup of client cancelled: stopping'), { code: 'ECANCELLED' });
      }),
      { all: true },
    );
    expect(cancelled).toMatchObject({ err: { code: 'ECANCELLED' }, address: [] });
  });
});
