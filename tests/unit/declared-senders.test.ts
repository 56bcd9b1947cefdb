import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type DeclaredSender,
  expectedSendersField,
  MAX_DECLARED_SENDERS,
  MAX_SENDERS_FILE_BYTES,
  MAX_SENDERS_FILE_YAML_TOKENS,
  mergeDeclared,
  parseExpectedSenders,
  parseSendersFile,
  readSendersFile,
  textSenderKey,
} from '../../services/client/config/declared-senders.js';
import { ConfigError, describeEnv, fromEnv, parseEnv } from '../../services/shared/env.js';

/** A declared sender as the parsers return it, with overrides. */
function declared(overrides: Partial<DeclaredSender> = {}): DeclaredSender {
  return {
    source: 'billing',
    kind: 'protocol',
    intervalMs: 30_000,
    graceMs: null,
    displayName: null,
    ...overrides,
  };
}

/** The thrown error's message; fails when nothing is thrown. */
function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected an error');
}

const WEEK_MS = 7 * 24 * 3_600_000;

describe('EXPECTED_SENDERS', () => {
  it('reads the documented example', () => {
    expect(parseExpectedSenders('billing=30s,backup=1h/10m,legacy@10.1.2.3=60s,[::1]=5s')).toEqual([
      declared(),
      declared({ source: 'backup', intervalMs: 3_600_000, graceMs: 600_000 }),
      declared({ source: '10.1.2.3', kind: 'text', intervalMs: 60_000, displayName: 'legacy' }),
      declared({ source: '::1', kind: 'text', intervalMs: 5000 }),
    ]);
  });

  it('is empty when empty', () => {
    expect(parseExpectedSenders('')).toEqual([]);
    expect(parseExpectedSenders('   ')).toEqual([]);
  });

  it('takes a protocol id of printable ASCII, up to 64 characters', () => {
    const id = `a.b-c_d:e[1]~${'x'.repeat(51)}`;
    expect(id).toHaveLength(64);
    expect(parseExpectedSenders(`${id}=1s`)).toEqual([declared({ source: id, intervalMs: 1000 })]);
  });

  it('keys a plain-text sender by its bare address as node writes it', () => {
    expect(parseExpectedSenders('[2001:DB8:0:0:0:0:0:1]=1s,[::ffff:10.0.0.1]=1s')).toEqual([
      declared({ source: '2001:db8::1', kind: 'text', intervalMs: 1000 }),
      declared({ source: '10.0.0.1', kind: 'text', intervalMs: 1000 }),
    ]);
  });

  it('takes a display name with spaces, and a grace of 0', () => {
    expect(parseExpectedSenders('Billing (EU)@billing=30s/0s, Old box@[fe80::1]=2m/1.5s')).toEqual([
      declared({ displayName: 'Billing (EU)', graceMs: 0 }),
      declared({
        source: 'fe80::1',
        kind: 'text',
        intervalMs: 120_000,
        graceMs: 1500,
        displayName: 'Old box',
      }),
    ]);
  });

  it('accepts the interval and grace bounds', () => {
    expect(parseExpectedSenders('a=100ms,b=168h/168h')).toEqual([
      declared({ source: 'a', intervalMs: 100 }),
      declared({ source: 'b', intervalMs: WEEK_MS, graceMs: WEEK_MS }),
    ]);
  });

  it('accepts 10,000 items', () => {
    const items = Array.from({ length: MAX_DECLARED_SENDERS }, (_, i) => `s${i}=1s`);
    expect(parseExpectedSenders(items.join(','))).toHaveLength(MAX_DECLARED_SENDERS);
  });

  it.each([
    ['a number without a unit', 'billing=30'],
    ['an unknown unit', 'billing=1d'],
    ['a unit in capitals', 'billing=30S'],
    ['no interval', 'billing'],
    ['an empty interval', 'billing='],
    ['an interval below 100ms', 'billing=99ms'],
    ['an interval above 7 days', 'billing=169h'],
    ['a grace without a unit', 'billing=30s/10'],
    ['a grace above 7 days', 'billing=30s/169h'],
    ['an empty grace', 'billing=30s/'],
    ['two graces', 'billing=30s/1s/2s'],
    ['a space in the id', 'bil ling=30s'],
    ['a slash in the id', 'eu/billing=30s'],
    ['a control character in the id', 'bill\u0001ing=30s'],
    ['a non-ASCII id', 'bïlling=30s'],
    ['an id of 65 characters', `${'x'.repeat(65)}=30s`],
    ['an empty id', '=30s'],
    ['two equals signs', 'billing=30s=1s'],
    ['an IPv6 address without brackets', '::1=5s'],
    ['an IPv4 address in brackets', '[10.1.2.3]=5s'],
    ['an unclosed bracket', '[::1=5s'],
    ['a bracketed non-address', '[billing]=5s'],
    ['an IPv4 address with a port', '10.1.2.3:5000=5s'],
    ['an IPv6 address with a port', '[::1]:5000=5s'],
    ['a zone id', '[fe80::1%eth0]=5s'],
    ['an empty name', '@billing=30s'],
    ['a name of spaces', ' x @billing=30s'],
    ['two names', 'a@b@billing=30s'],
    ['a name of 65 characters', `${'n'.repeat(65)}@billing=30s`],
    ['a control character in the name', 'bill\u0007@billing=30s'],
    ['an empty item', 'billing=30s,,backup=1h'],
    ['a trailing comma', 'billing=30s,'],
    ['a duplicate id', 'billing=30s,backup=1h,billing=1m'],
    ['the id `.` (a dot segment: no page could name it)', '.=1s'],
    ['the id `..`', '..=1s'],
    ['a duplicate address, written two ways', '[::1]=1s,[0:0::1]=2s'],
  ])('refuses %s', (_, text) => {
    expect(parseExpectedSenders(text)).toBeUndefined();
  });

  it('refuses more than 10,000 items', () => {
    const items = Array.from({ length: MAX_DECLARED_SENDERS + 1 }, (_, i) => `s${i}=1s`);
    expect(parseExpectedSenders(items.join(','))).toBeUndefined();
  });

  describe('as an env field', () => {
    const spec = {
      expectedSenders: fromEnv('EXPECTED_SENDERS', expectedSendersField('Senders that must be there')),
    };

    function problems(value: string): string[] {
      try {
        parseEnv(spec, { EXPECTED_SENDERS: value });
      } catch (err) {
        if (err instanceof ConfigError) return err.message.split('\n');
        throw err;
      }
      throw new Error('expected a ConfigError');
    }

    it('defaults to none and is documented', () => {
      expect(parseEnv(spec, {})).toEqual({ expectedSenders: [] });
      expect(describeEnv(spec)).toEqual([
        { variable: 'EXPECTED_SENDERS', default: '', description: 'Senders that must be there' },
      ]);
    });

    it('parses a value', () => {
      expect(parseEnv(spec, { EXPECTED_SENDERS: ' billing=30s ' })).toEqual({
        expectedSenders: [declared()],
      });
    });

    it('names the variable and shows the syntax with an example, on one line', () => {
      const lines = problems('billing=30');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^invalid configuration: EXPECTED_SENDERS="billing=30": expected a comma-separated list of \[name@\]id=interval\[\/grace\].*e\.g\. billing=30s,backup=1h\/10m,legacy@10\.1\.2\.3=60s/,
      );
    });

    it('names a duplicate', () => {
      expect(problems('billing=30s,billing=1m')).toEqual([
        'invalid configuration: EXPECTED_SENDERS="billing=30s,billing=1m": expected each id once (billing is declared twice)',
      ]);
    });
  });
});

describe('textSenderKey', () => {
  it('writes an address as a remote address is written', () => {
    expect(textSenderKey('10.1.2.3')).toBe('10.1.2.3');
    expect(textSenderKey('::0001')).toBe('::1');
    expect(textSenderKey('FE80:0:0:0:0:0:0:1')).toBe('fe80::1');
    expect(textSenderKey('::FFFF:10.1.2.3')).toBe('10.1.2.3');
  });
  it('refuses anything but a bare address', () => {
    for (const bad of ['', 'host', '[::1]', '10.1.2.3:80', '010.1.2.3', 'fe80::1%eth0', '10.1.2.3/32']) {
      expect(textSenderKey(bad)).toBeUndefined();
    }
  });
});

describe('SENDERS_FILE content', () => {
  it('reads JSON with a senders list', () => {
    const json = JSON.stringify({
      senders: [
        { source: 'billing', interval: '30s' },
        { address: '10.1.2.3', name: 'legacy', interval: '1m', grace: '10s' },
        { address: '::0001', interval: '5s' },
        { source: 'eu/billing,2', name: 'Billing, EU', interval: '1h' },
      ],
    });
    expect(parseSendersFile(json, '/etc/senders.json')).toEqual([
      declared(),
      declared({
        source: '10.1.2.3',
        kind: 'text',
        intervalMs: 60_000,
        graceMs: 10_000,
        displayName: 'legacy',
      }),
      declared({ source: '::1', kind: 'text', intervalMs: 5000 }),
      declared({ source: 'eu/billing,2', intervalMs: 3_600_000, displayName: 'Billing, EU' }),
    ]);
  });

  it('reads YAML, with a senders list or a bare list', () => {
    const yaml = [
      'senders:',
      '  - source: billing',
      '    interval: 30s',
      '  - address: ::1',
      '    name: Old box',
      '    interval: 5s',
      '    grace: 0s',
    ].join('\n');
    const expected = [
      declared(),
      declared({ source: '::1', kind: 'text', intervalMs: 5000, graceMs: 0, displayName: 'Old box' }),
    ];
    expect(parseSendersFile(yaml, 'senders.yaml')).toEqual(expected);
    expect(parseSendersFile(yaml, 'SENDERS.YML')).toEqual(expected);
    expect(parseSendersFile('- {source: billing, interval: 30s}\n', 'senders.yml')).toEqual([declared()]);
  });

  it('without a known extension tries JSON, then YAML', () => {
    expect(parseSendersFile('[{"source":"billing","interval":"30s"}]', '/etc/senders')).toEqual([declared()]);
    expect(parseSendersFile('- source: billing\n  interval: 30s\n', '/etc/senders.conf')).toEqual([
      declared(),
    ]);
  });

  it('ignores a byte-order mark, and an empty list is fine', () => {
    expect(parseSendersFile('\uFEFF{"senders":[{"source":"billing","interval":"30s"}]}', 'a.json')).toEqual([
      declared(),
    ]);
    expect(parseSendersFile('senders: []', 'a.yaml')).toEqual([]);
  });

  it('names the file and the path of the first problem, on one line', () => {
    const yaml = [
      'senders:',
      '  - source: billing',
      '    interval: 30s',
      '  - source: backup',
      '    interval: 1h',
      '  - source: legacy',
      '    interval: 60',
    ].join('\n');
    expect(thrown(() => parseSendersFile(yaml, '/etc/senders.yaml'))).toBe(
      'SENDERS_FILE /etc/senders.yaml: senders[2].interval: expected a duration with a unit, e.g. 30s',
    );
  });

  it.each([
    [
      'a bare list',
      '[{"source":"a","interval":"1s"},{"source":"b","interval":"1d"}]',
      '[1].interval: expected a duration with a unit, e.g. 30s',
    ],
    [
      'a missing interval',
      '{"senders":[{"source":"a"}]}',
      'senders[0].interval: missing, expected a duration with a unit, e.g. 30s',
    ],
    [
      'a numeric interval',
      '{"senders":[{"source":"a","interval":30}]}',
      'senders[0].interval: expected a duration with a unit, e.g. 30s',
    ],
    [
      'an interval out of range',
      '{"senders":[{"source":"a","interval":"50ms"}]}',
      'senders[0].interval: expected a duration from 100ms to 168h',
    ],
    [
      'a grace out of range',
      '{"senders":[{"source":"a","interval":"1s","grace":"169h"}]}',
      'senders[0].grace: expected a duration from 0ms to 168h',
    ],
    [
      'a grace without a unit',
      '{"senders":[{"source":"a","interval":"1s","grace":"0"}]}',
      'senders[0].grace: expected a duration with a unit, e.g. 30s',
    ],
    [
      'a source with a space',
      '{"senders":[{"source":"a b","interval":"1s"}]}',
      'senders[0].source: expected a source id: 1 to 64 printable ASCII characters without spaces, not . or ..',
    ],
    [
      'a source of 65 characters',
      `{"senders":[{"source":"${'x'.repeat(65)}","interval":"1s"}]}`,
      'senders[0].source: expected a source id: 1 to 64 printable ASCII characters without spaces, not . or ..',
    ],
    [
      'an address with a port',
      '{"senders":[{"address":"10.1.2.3:5000","interval":"1s"}]}',
      'senders[0].address: expected an IP address, without port',
    ],
    [
      'a host name as address',
      '{"senders":[{"address":"legacy.local","interval":"1s"}]}',
      'senders[0].address: expected an IP address, without port',
    ],
    [
      'an empty name',
      '{"senders":[{"source":"a","name":"","interval":"1s"}]}',
      'senders[0].name: expected 1 to 64 printable characters, no leading or trailing space',
    ],
    [
      'both source and address',
      '{"senders":[{"source":"a","address":"::1","interval":"1s"}]}',
      'senders[0]: expected exactly one of source (a protocol sender) or address (a plain-text sender)',
    ],
    [
      'neither source nor address',
      '{"senders":[{"interval":"1s"}]}',
      'senders[0]: expected exactly one of source (a protocol sender) or address (a plain-text sender)',
    ],
    [
      'an unknown field',
      '{"senders":[{"source":"a","interval":"1s","intervall":"2s"}]}',
      'senders[0]: unknown field intervall; expected source or address, interval, and optionally name and grace',
    ],
    [
      'an item that is not an object',
      '{"senders":["a=1s"]}',
      'senders[0]: expected an object with source or address, interval, and optionally name and grace',
    ],
    [
      'a duplicate source',
      '{"senders":[{"source":"a","interval":"1s"},{"source":"b","interval":"1s"},{"source":"a","interval":"2s"}]}',
      'senders[2].source: a is declared twice (also senders[0])',
    ],
    [
      'a duplicate address, written two ways',
      '[{"address":"::1","interval":"1s"},{"address":"0::1","interval":"1s"}]',
      '[1].address: ::1 is declared twice (also [0])',
    ],
    ['no senders key', '{"sender":[]}', 'senders: missing, expected a list of senders'],
    ['an extra top-level key', '{"senders":[],"version":2}', 'unknown field version; expected senders'],
    ['senders that are not a list', '{"senders":{"source":"a"}}', 'senders: expected a list of senders'],
    ['a number', '42', 'expected an object with a senders list, or a list of senders'],
  ])('refuses %s', (_, text, problem) => {
    expect(thrown(() => parseSendersFile(text, 'senders.json'))).toBe(
      `SENDERS_FILE senders.json: ${problem}`,
    );
  });

  it('refuses more than 10,000 senders', () => {
    const senders = Array.from({ length: MAX_DECLARED_SENDERS + 1 }, (_, i) => ({
      source: `s${i}`,
      interval: '1s',
    }));
    expect(thrown(() => parseSendersFile(JSON.stringify({ senders }), 'big.json'))).toBe(
      'SENDERS_FILE big.json: senders: expected at most 10000 senders',
    );
  });

  it('reports invalid JSON on one line', () => {
    expect(thrown(() => parseSendersFile('{"senders": [\n  {"source": "a",}\n]}', 'a.json'))).toMatch(
      /^SENDERS_FILE a\.json: not valid JSON: .*line 2/,
    );
  });

  it('reports invalid YAML on one line, without its code frame', () => {
    expect(thrown(() => parseSendersFile('senders:\n  - source: a\n\tinterval: 1s\n', 'a.yaml'))).toBe(
      'SENDERS_FILE a.yaml: not valid YAML: Tabs are not allowed as indentation at line 3, column 1',
    );
    expect(thrown(() => parseSendersFile('senders: [\n', 'a.conf'))).toMatch(
      /^SENDERS_FILE a\.conf: neither JSON nor YAML: /,
    );
  });

  it('refuses an empty file', () => {
    expect(thrown(() => parseSendersFile('', 'a.yaml'))).toBe(
      'SENDERS_FILE a.yaml: expected an object with a senders list, or a list of senders',
    );
  });
});

describe('readSendersFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'udpts-senders-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function file(name: string, content: string): string {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  }

  it('reads a JSON file and a YAML file', () => {
    expect(
      readSendersFile(file('senders.json', '{"senders":[{"source":"billing","interval":"30s"}]}')),
    ).toEqual([declared()]);
    expect(readSendersFile(file('senders.yml', '- address: 10.1.2.3\n  interval: 1m\n'))).toEqual([
      declared({ source: '10.1.2.3', kind: 'text', intervalMs: 60_000 }),
    ]);
  });

  it('names the file when its content is bad', () => {
    const path = file('bad.yaml', 'senders:\n  - source: a\n    interval: 30\n');
    expect(thrown(() => readSendersFile(path))).toBe(
      `SENDERS_FILE ${path}: senders[0].interval: expected a duration with a unit, e.g. 30s`,
    );
  });

  it('names an unreadable file', () => {
    const missing = join(dir, 'missing.yaml');
    expect(thrown(() => readSendersFile(missing))).toBe(
      `SENDERS_FILE ${missing}: cannot read it: ENOENT: no such file or directory, open '${missing}'`,
    );
    const folder = join(dir, 'folder.yaml');
    mkdirSync(folder);
    expect(thrown(() => readSendersFile(folder))).toBe(
      `SENDERS_FILE ${folder}: cannot read it: a directory, not a regular file`,
    );
  });

  it('refuses a file over MAX_SENDERS_FILE_BYTES unparsed, naming it', () => {
    const content = '{"senders":[{"source":"billing","interval":"30s"}]}';
    const path = file('padded.json', content.padEnd(MAX_SENDERS_FILE_BYTES + 1, ' '));
    expect(thrown(() => readSendersFile(path))).toBe(
      `SENDERS_FILE ${path}: cannot read it: larger than 10000 KiB, the most a senders file may hold`,
    );
    const full = file('full.json', content.padEnd(MAX_SENDERS_FILE_BYTES, ' '));
    expect(readSendersFile(full)).toEqual([declared()]);
  });

  it('refuses a YAML text of more tokens than MAX_DECLARED_SENDERS need, before parsing it', () => {
    // 1 MiB of the smallest YAML items: 1.3 million tokens, 210 MiB of heap to parse.
    const tiny = file('tiny.yaml', '- a\n'.repeat(256 * 1024));
    expect(thrown(() => readSendersFile(tiny))).toBe(
      `SENDERS_FILE ${tiny}: too large to parse as YAML: more than ${MAX_SENDERS_FILE_YAML_TOKENS} tokens, which ${MAX_DECLARED_SENDERS} senders never need (a longer list: JSON)`,
    );
    // Without an extension too (JSON first, then YAML).
    const bare = file('tiny', '- a\n'.repeat(256 * 1024));
    expect(thrown(() => readSendersFile(bare))).toContain('neither JSON nor');
    expect(thrown(() => readSendersFile(bare))).toContain(`more than ${MAX_SENDERS_FILE_YAML_TOKENS} tokens`);
  });

  it('takes MAX_DECLARED_SENDERS senders of every field, commented, as YAML', () => {
    const entry = (i: number) =>
      `  # sender ${i}: the billing service's beacon\n` +
      `  - source: ${'s'.repeat(59)}${String(i).padStart(5, '0')}\n` +
      `    name: "${'\u20ac'.repeat(59)}${String(i).padStart(5, '0')}"\n` +
      `    interval: 168h\n    grace: 168h\n\n`;
    const text = `senders:\n${Array.from({ length: MAX_DECLARED_SENDERS }, (_, i) => entry(i)).join('')}`;
    expect(readSendersFile(file('longest.yaml', text))).toHaveLength(MAX_DECLARED_SENDERS);
  });

  it('refuses what is not a regular file (/dev/zero) at once, naming it', () => {
    expect(thrown(() => readSendersFile('/dev/zero'))).toBe(
      'SENDERS_FILE /dev/zero: cannot read it: a character device, not a regular file',
    );
  });

  it('takes MAX_DECLARED_SENDERS senders of the longest kind, written loosely, within the cap', () => {
    const senders = Array.from({ length: MAX_DECLARED_SENDERS }, (_, i) => ({
      // 64 characters of 3 bytes each in UTF-8, and a 64-character id.
      name: `${'\u20ac'.repeat(59)}${String(i).padStart(5, '0')}`,
      source: `${'s'.repeat(59)}${String(i).padStart(5, '0')}`,
      interval: '168h',
      grace: '168h',
    }));
    const text = JSON.stringify({ senders }, null, 8);
    expect(Buffer.byteLength(text)).toBeLessThan(MAX_SENDERS_FILE_BYTES);
    expect(readSendersFile(file('longest.json', text))).toHaveLength(MAX_DECLARED_SENDERS);
  });
});

describe('mergeDeclared', () => {
  it('is the union, the environment first', () => {
    const fromEnv = [declared(), declared({ source: '10.1.2.3', kind: 'text' })];
    const fromFile = [declared({ source: 'backup' })];
    expect(mergeDeclared(fromEnv, fromFile)).toEqual([...fromEnv, ...fromFile]);
    expect(mergeDeclared([], fromFile)).toEqual(fromFile);
    expect(mergeDeclared(fromEnv, [])).toEqual(fromEnv);
  });

  it('names a source declared in both', () => {
    expect(
      thrown(() =>
        mergeDeclared([declared({ source: 'backup' }), declared()], [declared({ intervalMs: 60_000 })]),
      ),
    ).toBe('declared senders: billing is declared in both EXPECTED_SENDERS and SENDERS_FILE');
  });
});
