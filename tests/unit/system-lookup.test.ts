import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { firstQueryName, NO_SEARCH, parseResolvConf } from '../../services/shared/beacon/search-name.js';
import { type SystemLookupOptions, systemLookup } from '../../services/shared/beacon/system-lookup.js';
import { type DnsStub, type DnsStubBehaviour, dnsStub } from '../support/dns-stub.js';

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
    const asked: string[] = [];
    const names = systemLookup({
      servers: [stub.server],
      search: NO_SEARCH,
      getaddrinfo: async (host) => {
        asked.push(host);
        return answer('10.0.0.9');
      },
      ...options,
    });
    return { stub, names, asked };
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
    const { stub, names, asked } = await stubbed('silent', { probeTimeoutMs: 60_000, probeTries: 1 });
    const pending = outcome(names.lookup('client'));
    await vi.waitFor(() => expect(stub.names).toEqual(['client']));
    names.cancel();
    await expect(pending).resolves.toBe('ECANCELLED');
    await expect(outcome(names.lookup('client'))).resolves.toBe('ECANCELLED');
    expect(stub.names).toEqual(['client']);
    expect(asked).toEqual([]);
  });
});
