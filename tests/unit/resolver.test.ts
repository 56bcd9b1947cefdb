import { afterEach, describe, expect, it } from 'vitest';
import { canonicalAddress, type Resolver, startResolver } from '../../services/shared/beacon/resolver.js';
import type { Target } from '../../services/shared/beacon/targets.js';
import type { Lookup } from '../../services/shared/dns/system-lookup.js';
import { captureLogs } from '../support/log-capture.js';

const answer = (...addresses: string[]) => addresses.map((address) => ({ address }));
const notFound = () => Object.assign(new Error('getaddrinfo ENOTFOUND client'), { code: 'ENOTFOUND' });

/** A lookup the test answers by hand, one call at a time. */
function manualLookup() {
  const calls: Array<{ resolve(a: readonly { address: string }[]): void; reject(e: Error): void }> = [];
  const lookup: Lookup = () =>
    new Promise((resolve, reject) => {
      calls.push({ resolve, reject });
    });
  return { lookup, calls };
}

describe('resolver', () => {
  const resolvers: Resolver[] = [];
  afterEach(() => {
    for (const r of resolvers.splice(0)) r.stop();
  });

  function start(target: Target, lookup: Lookup, timeoutMs = 1000) {
    const logs = captureLogs('server');
    let dnsErrors = 0;
    const resolver = startResolver(
      {
        target,
        lookup,
        timeoutMs,
        onDnsError: () => {
          dnsErrors++;
        },
      },
      logs.logger,
    );
    resolvers.push(resolver);
    return { resolver, logs, dnsErrors: () => dnsErrors };
  }

  it('knows its own socket by any spelling of its address: mapped, uncompressed, upper-case, bracketed', async () => {
    expect(
      [
        '::ffff:127.0.0.1',
        '::FFFF:7F00:1',
        '0:0:0:0:0:0:0:1',
        '[::1]',
        'FD00::2',
        '10.1.2.3',
        'fe80::1%eth0',
      ].map(canonicalAddress),
    ).toEqual(['127.0.0.1', '127.0.0.1', '::1', '::1', 'fd00::2', '10.1.2.3', 'fe80::1%eth0']);
    const logs = captureLogs('client');
    const own = { addresses: new Set(['127.0.0.1', '::1']), port: 5000 };
    const fixed = startResolver(
      {
        target: { host: '::ffff:127.0.0.1', port: 5000 },
        lookup: async () => [],
        timeoutMs: 1000,
        onDnsError() {},
        exclude: own,
      },
      logs.logger,
    );
    const named = startResolver(
      {
        target: { host: 'monitors', port: 5000 },
        lookup: async () => answer('0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '10.0.0.7'),
        timeoutMs: 1000,
        onDnsError() {},
        exclude: own,
      },
      logs.logger,
    );
    resolvers.push(fixed, named);
    named.refresh();
    await named.settled();
    expect(fixed.addresses()).toEqual([]);
    expect(named.addresses()).toEqual(['10.0.0.7']);
  });

  it('never looks an IP address up', async () => {
    let calls = 0;
    const { resolver } = start({ host: '127.0.0.1', port: 5000 }, async () => {
      calls++;
      return [];
    });
    resolver.refresh();
    await resolver.settled();
    expect(resolver.addresses()).toEqual(['127.0.0.1']);
    expect(calls).toBe(0);
  });

  it('has no answer before the first lookup, then the picked addresses of the last good one', async () => {
    const { lookup, calls } = manualLookup();
    const { resolver } = start({ host: 'tasks.client', port: 5000 }, lookup);
    expect(resolver.addresses()).toBeNull();
    resolver.refresh();
    calls[0]?.resolve(answer('10.0.0.9', '10.0.0.3'));
    await resolver.settled();
    expect(resolver.addresses()).toEqual(['10.0.0.3', '10.0.0.9']);
    resolver.refresh();
    calls[1]?.resolve(answer('10.0.0.3', '10.0.0.4', '10.0.0.9'));
    await resolver.settled();
    expect(resolver.addresses()).toEqual(['10.0.0.3', '10.0.0.4', '10.0.0.9']);
  });

  it('/first keeps only the first address of each answer', async () => {
    const { lookup, calls } = manualLookup();
    const { resolver } = start({ host: 'client', port: 5000, mode: 'first' }, lookup);
    resolver.refresh();
    calls[0]?.resolve(answer('10.0.0.9', '10.0.0.3'));
    await resolver.settled();
    expect(resolver.addresses()).toEqual(['10.0.0.9']);
  });

  it('keeps the last good answer when a lookup fails, and logs and counts a dns_error without seq', async () => {
    const { lookup, calls } = manualLookup();
    const { resolver, logs, dnsErrors } = start({ host: 'client', port: 5000 }, lookup);
    resolver.refresh();
    calls[0]?.resolve(answer('10.0.0.1', '10.0.0.2'));
    await resolver.settled();
    resolver.refresh();
    calls[1]?.reject(notFound());
    await resolver.settled();
    expect(resolver.addresses()).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(resolver.lastError()?.message).toMatch(/ENOTFOUND/);
    expect(dnsErrors()).toBe(1);
    expect(logs.events('exception')).toEqual([
      expect.objectContaining({
        reason: 'dns_error',
        target: 'client:5000',
        detail: 'sending to the last good answer (2 addresses)',
        err: expect.objectContaining({ message: 'getaddrinfo ENOTFOUND client' }),
      }),
    ]);
    expect(logs.events('exception')[0]).not.toHaveProperty('seq');
    expect(logs.schemaProblems()).toEqual([]);
    // A good answer again clears the error.
    resolver.refresh();
    calls[2]?.resolve(answer('10.0.0.2'));
    await resolver.settled();
    expect(resolver.addresses()).toEqual(['10.0.0.2']);
    expect(resolver.lastError()).toBeNull();
  });

  it('before any good answer a failure is only remembered: the beacon reports it with the beat', async () => {
    const { resolver, logs, dnsErrors } = start({ host: 'client', port: 5000 }, async () => {
      throw notFound();
    });
    resolver.refresh();
    await resolver.settled();
    expect(resolver.addresses()).toBeNull();
    expect(resolver.lastError()?.message).toMatch(/ENOTFOUND/);
    expect(dnsErrors()).toBe(0);
    expect(logs.lines()).toEqual([]);
  });

  it('an answer without a usable address is a failure that keeps the last good answer', async () => {
    const { lookup, calls } = manualLookup();
    const { resolver, dnsErrors } = start({ host: 'client', port: 5000 }, lookup);
    resolver.refresh();
    calls[0]?.resolve(answer('10.0.0.1'));
    await resolver.settled();
    resolver.refresh();
    calls[1]?.resolve(answer());
    await resolver.settled();
    expect(resolver.addresses()).toEqual(['10.0.0.1']);
    expect(resolver.lastError()?.message).toBe('client resolved to no usable address');
    expect(dnsErrors()).toBe(1);
  });

  it('runs one lookup at a time; a hung one fails at its timeout but keeps its place until it settles', async () => {
    const { lookup, calls } = manualLookup();
    const { resolver, logs, dnsErrors } = start({ host: 'client', port: 5000 }, lookup, 30);
    resolver.refresh();
    calls[0]?.resolve(answer('10.0.0.1'));
    await resolver.settled();

    // Read before the hung lookup starts its timeout, so the wait below is measured whole.
    const started = performance.now();
    resolver.refresh(); // hangs
    resolver.refresh();
    resolver.refresh();
    expect(calls).toHaveLength(2);
    await resolver.settled();
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(dnsErrors()).toBe(1);
    expect(logs.events('exception')[0]?.err).toMatchObject({ message: 'lookup of client took over 30 ms' });
    await resolver.settled(); // already timed out: at once
    resolver.refresh();
    expect(calls).toHaveLength(2);
    expect(resolver.addresses()).toEqual(['10.0.0.1']);

    // It answers at last: the answer is taken, and the next lookup may start.
    calls[1]?.resolve(answer('10.0.0.7'));
    await new Promise((r) => setImmediate(r));
    expect(resolver.addresses()).toEqual(['10.0.0.7']);
    expect(resolver.lastError()).toBeNull();
    resolver.refresh();
    expect(calls).toHaveLength(3);
    expect(dnsErrors()).toBe(1);
    expect(logs.schemaProblems()).toEqual([]);
  });

  it('ignores answers that arrive after stop', async () => {
    const { lookup, calls } = manualLookup();
    const { resolver, logs } = start({ host: 'client', port: 5000 }, lookup, 10);
    resolver.refresh();
    resolver.stop();
    calls[0]?.resolve(answer('10.0.0.1'));
    await new Promise((r) => setTimeout(r, 30));
    expect(resolver.addresses()).toBeNull();
    resolver.refresh();
    expect(calls).toHaveLength(1);
    expect(logs.lines()).toEqual([]);
  });
});
