import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadClientConfig, MAX_WEBHOOK_URLS_FILE_BYTES } from '../../services/client/config.js';
import { loadServerConfig } from '../../services/server/config.js';
import { parseDuration } from '../../services/shared/duration.js';
import { ConfigError } from '../../services/shared/env.js';

function problems(load: () => unknown): string[] {
  try {
    load();
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('durations', () => {
  it('accepts human units', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('2h')).toBe(7_200_000);
  });
  it('rejects numbers without a unit and junk', () => {
    for (const bad of ['60', 's', '-5s', '5 sec', '', '1e3ms', '5S']) expect(parseDuration(bad)).toBeNull();
  });
});

describe('server config', () => {
  it('has the documented defaults', () => {
    const c = loadServerConfig({});
    expect(c.intervalMs).toBe(60_000);
    expect(c.targets).toEqual([{ host: 'client', port: 5000 }]);
    expect(c.source.length).toBeGreaterThan(0);
    expect(c.httpPort).toBe(8081);
    expect(c.keyFile).toBeNull();
    expect(c.sendBye).toBe(true);
    expect(c.logLevel).toBe('info');
  });
  it('parses good values', () => {
    const c = loadServerConfig({
      BEACON_INTERVAL: '250ms',
      BEACON_TARGETS: 'client:5000, 127.0.0.1:6000,[::1]:7000',
      BEACON_SOURCE: 'beacon-1',
      AUTH_KEY_FILE: 'k2=/run/secrets/k2',
    });
    expect(c.intervalMs).toBe(250);
    expect(c.targets).toEqual([
      { host: 'client', port: 5000 },
      { host: '127.0.0.1', port: 6000 },
      { host: '::1', port: 7000 },
    ]);
    expect(c.source).toBe('beacon-1');
    expect(c.keyFile).toEqual({ keyId: 'k2', path: '/run/secrets/k2' });
  });
  it('treats an empty variable as unset', () => {
    expect(loadServerConfig({ BEACON_INTERVAL: '' }).intervalMs).toBe(60_000);
  });
  it.each([
    'client:5000,client:5000/all',
    '127.0.0.1:5000,[::ffff:127.0.0.1]:5000',
    'Client:5000,client:5000',
  ])(
    'refuses BEACON_TARGETS=%s: one socket twice would get every beat twice (counted as duplicates)',
    (value) => {
      expect(problems(() => loadServerConfig({ BEACON_TARGETS: value }))[0]).toMatch(
        /^invalid configuration: BEACON_TARGETS=.*each host:port once/,
      );
      expect(problems(() => loadClientConfig({ PEER_MONITORS: value }))[0]).toMatch(
        /^invalid configuration: PEER_MONITORS=.*each host:port once/,
      );
    },
  );
  it('refuses a NOTIFY_WEBHOOK_URLS_FILE that names no URL (a secret made empty would turn notifications off)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'udpts-hooks-'));
    try {
      const empty = join(dir, 'empty');
      writeFileSync(empty, '# none yet\n\n');
      expect(
        problems(() =>
          loadClientConfig({
            NOTIFY_WEBHOOK_URLS_FILE: empty,
            NOTIFY_WEBHOOK_URLS: 'https://hooks.example/a',
          }),
        ),
      ).toEqual([
        `invalid configuration: NOTIFY_WEBHOOK_URLS_FILE=${JSON.stringify(empty)}: expected a file of at least one http(s) URL, one per line (blank lines and # comments ignored), none of them twice, nor in NOTIFY_WEBHOOK_URLS, and at most 64 URLs with those of NOTIFY_WEBHOOK_URLS`,
      ]);
      // 40 and 30: each list is within the bound, both together are not.
      const thirty = join(dir, 'thirty');
      writeFileSync(
        thirty,
        Array.from({ length: 30 }, (_, i) => `https://hooks.example/file-${i}\n`).join(''),
      );
      expect(
        problems(() =>
          loadClientConfig({
            NOTIFY_WEBHOOK_URLS_FILE: thirty,
            NOTIFY_WEBHOOK_URLS: Array.from({ length: 40 }, (_, i) => `https://hooks.example/env-${i}`).join(
              ',',
            ),
          }),
        ),
      ).toEqual([
        expect.stringMatching(
          /NOTIFY_WEBHOOK_URLS_FILE=.*at most 64 URLs with those of NOTIFY_WEBHOOK_URLS$/,
        ),
      ]);
      const one = join(dir, 'one');
      writeFileSync(one, '# the chat\nhttps://hooks.example/b\n');
      expect(loadClientConfig({ NOTIFY_WEBHOOK_URLS_FILE: one }).webhooks).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('takes one host on two ports, and two hosts on one port', () => {
    expect(loadServerConfig({ BEACON_TARGETS: 'client:5000,client:5001,server:5000' }).targets).toHaveLength(
      3,
    );
  });
  it('names every bad variable, its value and what is expected, one line each', () => {
    const lines = problems(() =>
      loadServerConfig({
        BEACON_INTERVAL: '60',
        BEACON_TARGETS: 'client',
        HTTP_PORT: '70000',
        LOG_LEVEL: 'loud',
      }),
    );
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^invalid configuration: BEACON_INTERVAL="60": expected a duration with a unit/);
    expect(lines[1]).toMatch(/^invalid configuration: BEACON_TARGETS="client": expected .*host:port/);
    expect(lines[2]).toBe('invalid configuration: HTTP_PORT="70000": expected an integer from 0 to 65535');
    expect(lines[3]).toMatch(/^invalid configuration: LOG_LEVEL="loud": expected one of fatal, error/);
  });
  it.each(['..', 'x'.repeat(65), 'two words'])(
    'refuses BEACON_SOURCE=%s, a source no monitor takes',
    (value) => {
      expect(problems(() => loadServerConfig({ BEACON_SOURCE: value }))).toEqual([
        `invalid configuration: BEACON_SOURCE=${JSON.stringify(value)}: expected empty, or 1 to 64 printable ASCII characters without spaces, not . or ..`,
      ]);
    },
  );
});

describe('client config', () => {
  it('has the documented defaults', () => {
    const c = loadClientConfig({});
    expect(c).toMatchObject({
      udpPort: 5000,
      udpHost: '0.0.0.0',
      recvBufferBytes: 4 * 1024 * 1024,
      maxDatagramBytes: 1232,
      httpPort: 8080,
      markIntervalMs: 5000,
      historySize: 500,
      maxSenders: 10_000,
      lateGraceMs: null,
      downAfterMisses: 3,
      requireAuth: false,
      keyFiles: [],
      maxClockSkewMs: 30_000,
      allowFrom: [],
    });
  });
  it('rejects UDP_PORT=abc with one clear line', () => {
    expect(problems(() => loadClientConfig({ UDP_PORT: 'abc' }))).toEqual([
      'invalid configuration: UDP_PORT="abc": expected an integer from 0 to 65535',
    ]);
  });
  it('parses sizes, durations, lists and booleans', () => {
    const c = loadClientConfig({
      UDP_RECV_BUFFER: '512KiB',
      LATE_GRACE: '2s',
      ALLOW_FROM: '172.16.0.0/12,::1',
      REQUIRE_AUTH: 'true',
      AUTH_KEY_FILES: 'k1=/run/secrets/k1,k2=/run/secrets/k2',
    });
    expect(c.recvBufferBytes).toBe(512 * 1024);
    expect(c.lateGraceMs).toBe(2000);
    expect(c.allowFrom).toEqual([
      { address: '172.16.0.0', prefix: 12, family: 'ipv4' },
      { address: '::1', prefix: 128, family: 'ipv6' },
    ]);
    expect(c.requireAuth).toBe(true);
    expect(c.keyFiles.map((k) => k.keyId)).toEqual(['k1', 'k2']);
  });
  it.each([
    ['UDP_HOST', '1.2.3.4.5'],
    ['HTTP_HOST', 'cafe'],
    ['HTTP_HOST', '::::1::'],
    ['HTTP_HOST', 'localhost'],
  ])('rejects %s=%s with one line: an IP address, not a name', (variable, value) => {
    expect(problems(() => loadClientConfig({ [variable]: value }))).toEqual([
      `invalid configuration: ${variable}="${value}": expected an IP address`,
    ]);
  });
  it('takes a notification proxy by its URL, credentials allowed, and labels it without them', () => {
    expect(loadClientConfig({}).notifyProxyUrl).toBeNull();
    const c = loadClientConfig({ NOTIFY_PROXY_URL: 'http://monitor:s3cret@proxy.corp:3128' });
    expect(c.notifyProxyUrl?.url.href).toBe('http://monitor:s3cret@proxy.corp:3128/');
    expect(c.notifyProxyUrl?.label).toBe('http://proxy.corp:3128');
  });
  it.each([
    'proxy.corp:3128',
    'socks5://proxy.corp:1080',
    'http://proxy.corp:3128/path',
    'http://proxy.corp:3128/?q=1',
    'http://proxy.corp:3128,http://other:3128',
  ])('rejects NOTIFY_PROXY_URL=%s with one line naming it', (value) => {
    const lines = problems(() => loadClientConfig({ NOTIFY_PROXY_URL: value }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^invalid configuration: NOTIFY_PROXY_URL=.*: expected an http\(s\) URL of a proxy/,
    );
  });
  it.each([
    ['NOTIFY_WEBHOOK_URLS', 'https://hooks.slack.com/services/T0/B0/SECRETTOKEN,ftp://typo'],
    ['ALERTMANAGER_URLS', 'http://am:SECRETTOKEN@alertmanager:9093/?typo'],
    ['NOTIFY_PROXY_URL', 'http://monitor:SECRETTOKEN@proxy:3128/typo'],
  ])('names a bad %s and what it expects, never its value (a secret)', (variable, value) => {
    let problem: ConfigError | undefined;
    try {
      loadClientConfig({ [variable]: value });
    } catch (err) {
      if (err instanceof ConfigError) problem = err;
    }
    expect(problem?.problems).toEqual([
      { variable, value: undefined, secret: true, expected: expect.stringMatching(/^an? /) },
    ]);
    expect(problem?.message).toMatch(
      new RegExp(`^invalid configuration: ${variable}=\\(a secret, not shown\\): expected `),
    );
    expect(problem?.message).not.toContain('SECRETTOKEN');
  });
  it('asks UDP_QUEUE_BYTES to hold the largest datagram accepted in each socket thread’s share', () => {
    expect(
      problems(() => loadClientConfig({ UDP_QUEUE_BYTES: '64KiB', MAX_DATAGRAM_BYTES: '65507' })),
    ).toEqual([
      `invalid configuration: UDP_QUEUE_BYTES="64KiB": expected at least UDP_WORKERS x (MAX_DATAGRAM_BYTES + 128) = ${65_507 + 128}, so that each socket thread's share holds the largest datagram accepted`,
    ]);
    expect(problems(() => loadClientConfig({ UDP_QUEUE_BYTES: '64KiB', UDP_WORKERS: '64' }))).toHaveLength(1);
    expect(loadClientConfig({ UDP_QUEUE_BYTES: '64KiB', UDP_WORKERS: '48' }).udpWorkers).toBe(48);
  });
  it('refuses a NOTIFY_WEBHOOK_URLS_FILE over MAX_WEBHOOK_URLS_FILE_BYTES, with one line naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'udpts-hooks-'));
    try {
      // A comment line filling the file up to its size, then one URL.
      const sized = (bytes: number) => `\nhttps://hooks.example/b\n`.padStart(bytes, '#');
      const big = join(dir, 'big');
      writeFileSync(big, sized(MAX_WEBHOOK_URLS_FILE_BYTES + 1));
      expect(problems(() => loadClientConfig({ NOTIFY_WEBHOOK_URLS_FILE: big }))).toEqual([
        `invalid configuration: NOTIFY_WEBHOOK_URLS_FILE=${JSON.stringify(big)}: expected a readable file (larger than 64 KiB, the most a file of webhook URLs may hold)`,
      ]);
      const full = join(dir, 'full');
      writeFileSync(full, sized(MAX_WEBHOOK_URLS_FILE_BYTES));
      expect(loadClientConfig({ NOTIFY_WEBHOOK_URLS_FILE: full }).webhooks).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('refuses a NOTIFY_WEBHOOK_URLS_FILE or SENDERS_FILE that is not a regular file, at once', () => {
    expect(problems(() => loadClientConfig({ NOTIFY_WEBHOOK_URLS_FILE: '/dev/zero' }))).toEqual([
      'invalid configuration: NOTIFY_WEBHOOK_URLS_FILE="/dev/zero": expected a readable file (a character device, not a regular file)',
    ]);
    expect(problems(() => loadClientConfig({ SENDERS_FILE: '/dev/zero' }))).toEqual([
      'invalid configuration: SENDERS_FILE="/dev/zero": expected a readable file of declared senders, each not already in EXPECTED_SENDERS: SENDERS_FILE /dev/zero: cannot read it: a character device, not a regular file',
    ]);
  });
  it.each(['0s', '0ms', '999ms'])(
    'refuses MAX_CLOCK_SKEW=%s, which would turn away every new boot, with one line',
    (value) => {
      expect(problems(() => loadClientConfig({ MAX_CLOCK_SKEW: value }))).toEqual([
        `invalid configuration: MAX_CLOCK_SKEW="${value}": expected a duration with a unit (ms, s, m, h) from 1000ms to 86400000ms, e.g. 5s`,
      ]);
    },
  );
  it('takes MAX_CLOCK_SKEW from 1s', () => {
    expect(loadClientConfig({ MAX_CLOCK_SKEW: '1s' }).maxClockSkewMs).toBe(1000);
    expect(loadClientConfig({ MAX_CLOCK_SKEW: '24h' }).maxClockSkewMs).toBe(86_400_000);
  });
  it.each([
    ['', null],
    ['http://monitor.example:8080', 'http://monitor.example:8080'],
    ['https://monitor.example/', 'https://monitor.example'],
    ['https://ops.example/udp-monitor//', 'https://ops.example/udp-monitor'],
    ['http://10.0.0.5:8080/', 'http://10.0.0.5:8080'],
    ['http://[::1]:8080', 'http://[::1]:8080'],
    ['https://ops.example/a@b', 'https://ops.example/a@b'],
  ])('takes PUBLIC_URL=%j, a base links are appended to, as %j', (value, publicUrl) => {
    expect(loadClientConfig({ PUBLIC_URL: value }).publicUrl).toBe(publicUrl);
  });
  it.each([
    'http:foo',
    'http:/foo',
    'http:///foo',
    'monitor.example',
    '//monitor.example',
    'ftp://monitor.example',
    'https://monitor.example/?',
    'https://monitor.example/?view=1',
    'https://monitor.example?view=1',
    'https://monitor.example/#senders',
    'https://monitor.example#',
    'https://user:SECRETTOKEN@monitor.example',
    'https://SECRETTOKEN@monitor.example/',
    'https://@monitor.example/',
    'https://monitor.example/two words',
    'http://monitor.example\\ui',
  ])('refuses PUBLIC_URL=%j with one line naming it, never the value', (value) => {
    expect(problems(() => loadClientConfig({ PUBLIC_URL: value }))).toEqual([
      'invalid configuration: PUBLIC_URL=(a secret, not shown): expected an http(s) URL with a host and optionally a path, without a query, fragment, backslash or user:password@',
    ]);
  });
  it('takes IPv4 and IPv6 addresses to bind', () => {
    expect(loadClientConfig({ UDP_HOST: '::', HTTP_HOST: '127.0.0.1' })).toMatchObject({
      udpHost: '::',
      httpHost: '127.0.0.1',
    });
    expect(loadServerConfig({ HTTP_HOST: '::1' }).httpHost).toBe('::1');
    expect(problems(() => loadServerConfig({ HTTP_HOST: '10.0.0.256' }))).toEqual([
      'invalid configuration: HTTP_HOST="10.0.0.256": expected an IP address',
    ]);
  });
  it('fails closed: REQUIRE_AUTH without keys', () => {
    expect(problems(() => loadClientConfig({ REQUIRE_AUTH: 'true' }))).toEqual([
      'invalid configuration: AUTH_KEY_FILES=(unset): expected at least one key when REQUIRE_AUTH=true',
    ]);
  });
  it('names every variable the checks across settings and files find, not only the first', () => {
    const missing = join(tmpdir(), 'no-such-dir-udp-time-service', 'senders.yaml');
    const lines = problems(() =>
      loadClientConfig({
        SENDERS_FILE: missing,
        NOTIFY_WEBHOOK_URLS_FILE: missing,
        UDP_QUEUE_BYTES: '64KiB',
        MAX_DATAGRAM_BYTES: '65507',
        REQUIRE_AUTH: 'true',
      }),
    );
    expect(lines.map((line) => /^invalid configuration: (\w+)=/.exec(line)?.[1])).toEqual([
      'SENDERS_FILE',
      'NOTIFY_WEBHOOK_URLS_FILE',
      'UDP_QUEUE_BYTES',
      'AUTH_KEY_FILES',
    ]);
  });
  it('rejects bad values of several kinds at once', () => {
    const lines = problems(() =>
      loadClientConfig({
        HISTORY_SIZE: '0',
        REQUIRE_AUTH: 'yes',
        ALLOW_FROM: '10.0.0.0/33',
        UDP_RECV_BUFFER: 'lots',
      }),
    );
    expect(lines.map((l) => l.split('=')[0])).toEqual([
      'invalid configuration: UDP_RECV_BUFFER',
      'invalid configuration: HISTORY_SIZE',
      'invalid configuration: REQUIRE_AUTH',
      'invalid configuration: ALLOW_FROM',
    ]);
  });
});
