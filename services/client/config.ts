/** The monitor's configuration: environment variables, parsed once at start-up. */
import { isIP } from 'node:net';
import {
  boolean,
  bytes,
  ConfigError,
  duration,
  type EnvValues,
  fromEnv,
  integer,
  list,
  logLevel,
  oneOf,
  optionalDuration,
  parseEnv,
  port,
  text,
} from '../shared/env.js';
import { parseKeyFileSpec } from '../shared/keys.js';
import {
  type DeclaredSender,
  expectedSendersField,
  mergeDeclared,
  readSendersFile,
} from './config/declared-senders.js';
import { parseCidr } from './ingest/allowlist.js';

export const clientEnv = {
  udpPort: fromEnv('UDP_PORT', port(5000, 'UDP port to bind (0 picks a free port)')),
  udpHost: fromEnv(
    'UDP_HOST',
    text('0.0.0.0', /^[0-9a-fA-F:.]+$/, 'an IP address', 'Address to bind; `::` for IPv6 (dual-stack)'),
  ),
  recvBufferBytes: fromEnv(
    'UDP_RECV_BUFFER',
    bytes(
      '4MiB',
      4096,
      256 * 1024 * 1024,
      'Socket receive buffer asked of the kernel (the granted size is logged at start)',
    ),
  ),
  maxDatagramBytes: fromEnv(
    'MAX_DATAGRAM_BYTES',
    integer(1232, 64, 65507, 'Larger datagrams are rejected as `oversize` without parsing'),
  ),
  httpPort: fromEnv(
    'HTTP_PORT',
    port(8080, 'HTTP port of the status page, API and metrics (0 picks a free port)'),
  ),
  httpHost: fromEnv(
    'HTTP_HOST',
    text('0.0.0.0', /^[0-9a-fA-F:.]+$/, 'an IP address', 'Address the HTTP port binds to'),
  ),
  markIntervalMs: fromEnv(
    'MARK_INTERVAL',
    duration('5s', 100, 3_600_000, 'How often the `mark` ("waiting...") event is logged'),
  ),
  historySize: fromEnv(
    'HISTORY_SIZE',
    integer(500, 1, 100_000, 'Recent datagrams kept for the page and API'),
  ),
  maxSenders: fromEnv(
    'MAX_SENDERS',
    integer(10_000, 1, 1_000_000, 'Senders tracked at most; the longest-silent is evicted beyond it'),
  ),

  lateGraceMs: fromEnv(
    'LATE_GRACE',
    optionalDuration(
      0,
      86_400_000,
      'Grace after the expected arrival before a sender is `late`; auto = half its interval, at least 1s',
    ),
  ),
  downAfterMisses: fromEnv(
    'DOWN_AFTER_MISSES',
    integer(3, 1, 1000, 'Missed intervals after which a sender is `down`'),
  ),
  sequenceWindow: fromEnv(
    'SEQUENCE_WINDOW',
    integer(1024, 64, 65_536, 'Recent sequence numbers remembered per sender (loss/duplicate/order)'),
  ),
  requireAuth: fromEnv('REQUIRE_AUTH', boolean(false, 'Reject datagrams without a valid HMAC signature')),
  keyFiles: fromEnv(
    'AUTH_KEY_FILES',
    list(
      '',
      'a comma-separated list of keyId=/absolute/path (at most 4)',
      'Keys accepted for HMAC verification (Docker secrets), e.g. k1=/run/secrets/k1,k2=/run/secrets/k2',
      parseKeyFileSpec,
      4,
    ),
  ),
  maxClockSkewMs: fromEnv(
    'MAX_CLOCK_SKEW',
    duration(
      '30s',
      0,
      86_400_000,
      "A new boot is accepted only if its sentAt is this close to the client's clock (auth on)",
    ),
  ),
  replayWindow: fromEnv(
    'REPLAY_WINDOW',
    integer(1024, 64, 65_536, 'Anti-replay window per sender boot, in sequence numbers (auth on)'),
  ),
  allowFrom: fromEnv(
    'ALLOW_FROM',
    list(
      '',
      'a comma-separated list of CIDRs, e.g. 172.16.0.0/12,127.0.0.1/32',
      'Accept datagrams only from these networks; empty accepts all',
      parseCidr,
    ),
  ),
  exceptionLogLimit: fromEnv(
    'EXCEPTION_LOG_LIMIT',
    integer(
      20,
      1,
      1_000_000,
      'Per reason and mark interval, rejected datagrams logged in full; the rest are counted in one `suppressed` line',
    ),
  ),
  sseMaxClients: fromEnv(
    'SSE_MAX_CLIENTS',
    integer(100, 1, 10_000, 'Live-update (Server-Sent Events) connections at most'),
  ),
  logBufferBytes: fromEnv(
    'LOG_BUFFER_BYTES',
    bytes(
      '16MiB',
      65_536,
      1024 * 1024 * 1024,
      'Log lines waiting for stdout at most; beyond it lines are dropped and counted',
    ),
  ),
  dataDir: fromEnv(
    'DATA_DIR',
    text(
      './data',
      /^\S(.*\S)?$/,
      'a directory path',
      'Directory of the state file `monitor.db` (SQLite); compose mounts the volume `monitor-data` at /data',
    ),
  ),
  expectedSenders: fromEnv(
    'EXPECTED_SENDERS',
    expectedSendersField(
      'Senders that must be there: `[name@]id=interval[/grace]`, comma-separated; an IP address as id is a plain-text sender',
    ),
  ),
  sendersFile: fromEnv(
    'SENDERS_FILE',
    text(
      '',
      /^(\S(.*\S)?)?$/,
      'a file path',
      'A JSON or YAML file of declared senders (`senders: [{source|address, interval, grace, name}]`); empty for none',
    ),
  ),
  undeclaredSenders: fromEnv(
    'UNDECLARED_SENDERS',
    oneOf(
      'track',
      ['track', 'ignore'] as const,
      '`track` senders nobody declared, or `ignore` them (rejected as exception `undeclared`)',
    ),
  ),
  logLevel: fromEnv('LOG_LEVEL', logLevel()),
};

/** The monitor's configuration: its env schema's values, and the declared senders of both sources merged. */
export type ClientConfig = EnvValues<typeof clientEnv> & { declared: DeclaredSender[] };

/** Parses the environment (and reads SENDERS_FILE); throws a ConfigError naming every bad variable. */
export function loadClientConfig(env: Record<string, string | undefined>): ClientConfig {
  const values = parseEnv(clientEnv, env);
  let declared: DeclaredSender[];
  try {
    const fromFile = values.sendersFile === '' ? [] : readSendersFile(values.sendersFile);
    declared = mergeDeclared(values.expectedSenders, fromFile);
  } catch (err) {
    throw new ConfigError([
      {
        variable: 'SENDERS_FILE',
        value: env.SENDERS_FILE,
        expected: `a readable file of declared senders, not already in EXPECTED_SENDERS (${err instanceof Error ? err.message : String(err)})`,
      },
    ]);
  }
  const config: ClientConfig = { ...values, declared };
  if (config.requireAuth && config.keyFiles.length === 0) {
    throw new ConfigError([
      {
        variable: 'AUTH_KEY_FILES',
        value: env.AUTH_KEY_FILES,
        expected: 'at least one key when REQUIRE_AUTH=true',
      },
    ]);
  }
  if (isIP(config.udpHost) === 0) {
    throw new ConfigError([{ variable: 'UDP_HOST', value: env.UDP_HOST, expected: 'an IP address' }]);
  }
  return config;
}
