/** The monitor's configuration: environment variables, parsed once at start-up. */
import { parseTarget, targetKey } from '../shared/beacon/targets.js';
import { readConfigText } from '../shared/config-file.js';
import { parseDuration } from '../shared/duration.js';
import {
  boolean,
  bytes,
  ConfigError,
  custom,
  duration,
  type EnvProblem,
  type EnvValues,
  filePath,
  fromEnv,
  integer,
  ipAddress,
  list,
  logLevel,
  oneOf,
  optionalDuration,
  parseEnv,
  port,
  secret,
  stopTimeout,
  text,
} from '../shared/env.js';
import { parseKeyFileSpec } from '../shared/keys.js';
import { EMPTY_OR_SOURCE_ID, SOURCE_ID_RULE } from '../shared/protocol.js';
import { notifyOnEventSchema } from '../shared/vocabulary.js';
import {
  type DeclaredSender,
  expectedSendersField,
  mergeDeclared,
  readSendersFile,
} from './config/declared-senders.js';
import { parseCidr } from './ingest/allowlist.js';
import { RECORD_OVERHEAD } from './ingest/classified-batch.js';
import {
  MAX_TARGETS,
  parseAlertmanagerUrls,
  parseHttpUrl,
  parseProxyUrl,
  parseWebhookUrls,
  type WebhookTarget,
} from './notify/targets.js';

/** NOTIFY_WEBHOOK_URLS_FILE at most: 1 KiB per URL (a Slack webhook's is about 80 bytes), comments too. */
export const MAX_WEBHOOK_URLS_FILE_BYTES = MAX_TARGETS * 1024;

/**
 * PUBLIC_URL: an http(s) URL with a host, optionally a path prefix, and
 * without a trailing slash. Links are made by appending a path to it
 * (`/senders/<id>`), so a query or fragment (which the path would land in)
 * is refused, as is user:password@ (which every notification would carry).
 */
function parsePublicUrl(text: string): string | null | undefined {
  if (text === '') return null;
  const url = parseHttpUrl(text);
  if (url === undefined || url.username !== '' || url.password !== '') return undefined;
  // In the text, not the URL: `http://host/?` and `http://@host` parse to an empty query and user.
  // A backslash too: the URL parser reads it as a slash, but the links would carry it as written.
  if (/[?#\\]/.test(text) || /^[a-z]+:\/\/[^/]*@/i.test(text)) return undefined;
  return text.replace(/\/+$/, '');
}

export const clientEnv = {
  udpPort: fromEnv('UDP_PORT', port(5000, 'UDP port to bind (0 picks a free port)')),
  udpHost: fromEnv('UDP_HOST', ipAddress('0.0.0.0', 'Address to bind; `::` for IPv6 (dual-stack)')),
  recvBufferBytes: fromEnv(
    'UDP_RECV_BUFFER',
    bytes(
      '4MiB',
      4096,
      256 * 1024 * 1024,
      'Socket receive buffer asked of the kernel (the granted size is logged at start)',
    ),
  ),
  udpWorkers: fromEnv(
    'UDP_WORKERS',
    integer(
      1,
      1,
      64,
      'Threads that read and decode the UDP port (SO_REUSEPORT beyond 1: the kernel spreads senders across them); tracking, logging and HTTP stay on the main thread',
    ),
  ),
  udpQueueBytes: fromEnv(
    'UDP_QUEUE_BYTES',
    bytes(
      '16MiB',
      65_536,
      1024 * 1024 * 1024,
      'Datagrams read but not yet handled by the main thread, at most (each counted as its size + 128 bytes; an oversize one as 128); beyond it they are dropped and counted (udp_monitor_queue_drops_total, an `overrun` line), and the monitor judges no silence until then. At least UDP_WORKERS x (MAX_DATAGRAM_BYTES + 128)',
    ),
  ),
  udpCoalesceMs: fromEnv(
    'UDP_COALESCE',
    duration(
      '1ms',
      0,
      50,
      "After a datagram that found a socket thread idle, how long the thread lets the next ones gather in the kernel's receive buffer before it reads on, so that spread-out senders do not each cost a wake-up (at 10,000 senders it halves the socket thread's CPU). Under load nothing waits. A datagram is read at most this much later; the receive buffer must hold what arrives meanwhile. 0ms: read each datagram the moment it arrives",
    ),
  ),
  mainThreadNice: fromEnv(
    'MAIN_THREAD_NICE',
    integer(
      0,
      0,
      19,
      "Nice value of the main thread (tracking, log, HTTP, notifications) once started, and of V8's helper threads, which collect its heap; the socket threads and libuv's pool (which writes the log) keep the process's own. Above 0, when the cores are short the socket threads read first and the main thread's backlog waits in UDP_QUEUE_BYTES, counted, instead of in the kernel's receive buffer (capped by net.core.rmem_max): 5 for many senders on few cores (see Scale). 0: every thread at one priority",
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
  httpHost: fromEnv('HTTP_HOST', ipAddress('0.0.0.0', 'Address the HTTP port binds to')),
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
    integer(
      10_000,
      1,
      1_000_000,
      'Senders tracked at most; beyond it the longest-silent of those heard from once is evicted (a flood of one-shot sources evicts its own), or if none, the longest-silent; never a declared one',
    ),
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
  stoppedTimeoutMs: fromEnv(
    'STOPPED_TIMEOUT',
    duration(
      '0s',
      0,
      30 * 86_400_000,
      'How long a sender that said `bye` may stay away before it is `down` (reason `not_back`); 0s: never, a bye is a planned stop',
    ),
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
      'Keys accepted for HMAC verification (Docker secrets), e.g. k1=/run/secrets/k1,k2=/run/secrets/k2; the first also signs the beats to PEER_MONITORS',
      parseKeyFileSpec,
      4,
    ),
  ),
  maxClockSkewMs: fromEnv(
    'MAX_CLOCK_SKEW',
    duration(
      '30s',
      1000,
      86_400_000,
      "A new boot is accepted only if its sentAt is this close to the client's clock (auth on); at least 1s, as it also covers the datagram's trip",
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
  httpMaxConnections: fromEnv(
    'HTTP_MAX_CONNECTIONS',
    integer(
      256,
      1,
      100_000,
      'HTTP connections open at once, with SSE_MAX_CLIENTS more for the live updates (one limit of both together); one more is closed at once (idle keep-alive ones with it) and counted',
    ),
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
  stateSyncMs: fromEnv(
    'STATE_SYNC_INTERVAL',
    duration(
      '1s',
      1000,
      3_600_000,
      "Every sender's counters reach the state file within about this long (state changes within 100 ms); a kill -9 loses at most this much of them. Raise it with many senders (30s at 50,000)",
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
    filePath(
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
  notifyWebhookUrls: fromEnv(
    'NOTIFY_WEBHOOK_URLS',
    secret(
      custom(
        '',
        'a comma-separated list of distinct http(s) URLs',
        'Webhook targets (JSON POST per notification; Slack and Mattermost incoming webhooks work as they are). Secret: prefer the _FILE form',
        parseWebhookUrls,
      ),
    ),
  ),
  notifyWebhookUrlsFile: fromEnv(
    'NOTIFY_WEBHOOK_URLS_FILE',
    filePath('A file (a Docker secret) of webhook URLs, one per line; adds to NOTIFY_WEBHOOK_URLS'),
  ),
  notifyOn: fromEnv(
    'NOTIFY_ON',
    list(
      'down,never_seen,up',
      `a comma-separated list of ${notifyOnEventSchema.options.join(', ')}`,
      'Which transitions notify; `up` only after a problem was notified, and `stopped` after one whether listed or not (its incident closes)',
      (item) => notifyOnEventSchema.safeParse(item).data,
      notifyOnEventSchema.options.length,
    ),
  ),
  notifyRepeat: fromEnv(
    'NOTIFY_REPEAT',
    custom(
      'off',
      '`off` or a duration with a unit from 1m, e.g. 1h',
      'Reminder while a sender stays down',
      (t) => {
        if (t === 'off') return null;
        const ms = parseDuration(t);
        return ms !== null && ms >= 60_000 && ms <= 30 * 86_400_000 ? ms : undefined;
      },
    ),
  ),
  notifyMaxAge: fromEnv(
    'NOTIFY_MAX_AGE',
    duration(
      '24h',
      60_000,
      30 * 86_400_000,
      'A notification not delivered by then is given up (logged and counted)',
    ),
  ),
  notifyTimeout: fromEnv('NOTIFY_TIMEOUT', duration('5s', 100, 60_000, 'Time limit of one delivery attempt')),
  notifyQueueMax: fromEnv(
    'NOTIFY_QUEUE_MAX',
    integer(
      10_000,
      1,
      1_000_000,
      'Undelivered notifications kept per target; beyond it some are dropped and counted: reminders first, then an incident not yet sent and over (its problems with the `up` or `stopped` that ends it), then the oldest, the end (`up`, `stopped`) of a told problem last',
    ),
  ),
  alertmanagerUrls: fromEnv(
    'ALERTMANAGER_URLS',
    secret(
      custom(
        '',
        'a comma-separated list of distinct http(s) base URLs',
        'Alertmanagers to push alerts to (`/api/v2/alerts`), as Prometheus does',
        parseAlertmanagerUrls,
      ),
    ),
  ),
  notifyProxyUrl: fromEnv(
    'NOTIFY_PROXY_URL',
    secret(
      custom(
        '',
        'an http(s) URL of a proxy, optionally with user:password@, and no path',
        "HTTP proxy that every notification (webhooks and Alertmanager) goes through: CONNECT for https targets, whose names the proxy resolves. The environment's HTTP_PROXY and HTTPS_PROXY are not used. Secret when it holds a password (logged by scheme, host and port only)",
        parseProxyUrl,
      ),
    ),
  ),
  alertResendInterval: fromEnv(
    'ALERT_RESEND_INTERVAL',
    duration('1m', 1000, 3_600_000, 'A firing alert is sent to Alertmanager again this often'),
  ),
  flapThreshold: fromEnv(
    'FLAP_THRESHOLD',
    integer(
      5,
      2,
      1000,
      'More state changes than this within FLAP_WINDOW (those into or out of a state NOTIFY_ON tells): one `flapping` notification, then quiet',
    ),
  ),
  flapWindow: fromEnv(
    'FLAP_WINDOW',
    duration('10m', 1000, 86_400_000, 'The flapping window, and how long a sender must be stable again'),
  ),
  adminTokenFile: fromEnv(
    'ADMIN_TOKEN_FILE',
    filePath('A file (a Docker secret) with the token that writes (silences) need; empty: writes refused'),
  ),
  monitorName: fromEnv(
    'MONITOR_NAME',
    text(
      '',
      EMPTY_OR_SOURCE_ID,
      `empty, or ${SOURCE_ID_RULE}`,
      'This monitor in notifications (`monitor` label); empty: the host name',
    ),
  ),
  alertMonitorLabel: fromEnv(
    'ALERT_MONITOR_LABEL',
    text(
      '',
      /^[\x21-\x7e]{0,64}$/,
      'printable ASCII without spaces, at most 64',
      'The `monitor` label of Alertmanager alerts; give redundant monitors the same one so they make one alert. Empty: MONITOR_NAME',
    ),
  ),
  publicUrl: fromEnv(
    'PUBLIC_URL',
    // Secret: a value refused for its user:password@ is not shown.
    secret(
      custom(
        '',
        'an http(s) URL with a host and optionally a path, without a query, fragment, backslash or user:password@',
        "Base of the links in notifications (a sender's page): an http(s) URL, a path prefix allowed, no query, fragment or user:password@; empty: http://<host name>:<HTTP_PORT>",
        parsePublicUrl,
      ),
    ),
  ),
  metricsSenderSeries: fromEnv(
    'METRICS_SENDER_SERIES',
    integer(
      1000,
      0,
      1_000_000,
      'Senders with metric series of their own, the most urgent first; 0: none (the histograms cover all)',
    ),
  ),
  peerMonitors: fromEnv(
    'PEER_MONITORS',
    list(
      '',
      'a comma-separated list of host:port[/all|/first], each host:port once, e.g. tasks.monitor:5000',
      "Other monitors this one beats to, so each tracks (and notifies on) the others; this monitor's own socket (its UDP_HOST, or with 0.0.0.0 or :: any address of this host, on its UDP_PORT) is skipped, a name or an IP address alike",
      parseTarget,
      64,
      targetKey,
    ),
  ),
  peerInterval: fromEnv(
    'PEER_INTERVAL',
    duration('5s', 100, 3_600_000, 'How often this monitor beats to its peers'),
  ),
  logLevel: fromEnv('LOG_LEVEL', logLevel()),
  stopTimeoutMs: fromEnv('STOP_TIMEOUT', stopTimeout()),
};

/**
 * The monitor's configuration: its env schema's values, the declared
 * senders of both sources merged, and the webhook targets of both
 * NOTIFY_WEBHOOK_URLS and its file.
 */
export type ClientConfig = EnvValues<typeof clientEnv> & {
  declared: DeclaredSender[];
  webhooks: WebhookTarget[];
};

/**
 * Parses the environment (and reads SENDERS_FILE and NOTIFY_WEBHOOK_URLS_FILE);
 * throws a ConfigError naming every bad variable: those of the parse, or
 * else every one the checks across variables and files find.
 */
export function loadClientConfig(env: Record<string, string | undefined>): ClientConfig {
  const values = parseEnv(clientEnv, env);
  const problems: EnvProblem[] = [];
  const declared = declaredSenders(values, env, problems);
  const webhooks = webhookTargets(values, env, problems);
  // Each socket thread's share of the queue must hold the largest datagram accepted: a larger one would
  // be dropped at the queue whatever it held, and each drop holds the judging of silence (an overrun).
  const least = values.udpWorkers * (values.maxDatagramBytes + RECORD_OVERHEAD);
  if (values.udpQueueBytes < least) {
    problems.push({
      variable: 'UDP_QUEUE_BYTES',
      value: env.UDP_QUEUE_BYTES,
      expected: `at least UDP_WORKERS x (MAX_DATAGRAM_BYTES + ${RECORD_OVERHEAD}) = ${least}, so that each socket thread's share holds the largest datagram accepted`,
    });
  }
  if (values.requireAuth && values.keyFiles.length === 0) {
    problems.push({
      variable: 'AUTH_KEY_FILES',
      value: env.AUTH_KEY_FILES,
      expected: 'at least one key when REQUIRE_AUTH=true',
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...values, declared, webhooks };
}

/** EXPECTED_SENDERS and SENDERS_FILE's senders; a problem naming SENDERS_FILE (and none) when the file fails. */
function declaredSenders(
  values: EnvValues<typeof clientEnv>,
  env: Record<string, string | undefined>,
  problems: EnvProblem[],
): DeclaredSender[] {
  try {
    const fromFile = values.sendersFile === '' ? [] : readSendersFile(values.sendersFile);
    return mergeDeclared(values.expectedSenders, fromFile);
  } catch (err) {
    problems.push({
      variable: 'SENDERS_FILE',
      value: env.SENDERS_FILE,
      expected: `a readable file of declared senders, each not already in EXPECTED_SENDERS: ${err instanceof Error ? err.message : String(err)}`,
    });
    return [];
  }
}

/** NOTIFY_WEBHOOK_URLS and the file's; a problem naming NOTIFY_WEBHOOK_URLS_FILE when the file fails. */
function webhookTargets(
  values: EnvValues<typeof clientEnv>,
  env: Record<string, string | undefined>,
  problems: EnvProblem[],
): WebhookTarget[] {
  if (values.notifyWebhookUrlsFile === '') return values.notifyWebhookUrls;
  const problem = (expected: string) => {
    problems.push({ variable: 'NOTIFY_WEBHOOK_URLS_FILE', value: env.NOTIFY_WEBHOOK_URLS_FILE, expected });
    return values.notifyWebhookUrls;
  };
  let fileText: string;
  try {
    fileText = readConfigText(values.notifyWebhookUrlsFile, {
      maxBytes: MAX_WEBHOOK_URLS_FILE_BYTES,
      kind: 'a file of webhook URLs',
    });
  } catch (err) {
    return problem(`a readable file (${(err as Error).message})`);
  }
  const all = parseWebhookUrls(env.NOTIFY_WEBHOOK_URLS ?? '', fileText);
  // A file named and holding no URL (a secret created empty) would turn notifications off unsaid.
  if (all === undefined || all.length === values.notifyWebhookUrls.length) {
    return problem(
      `a file of at least one http(s) URL, one per line (blank lines and # comments ignored), none of them twice, nor in NOTIFY_WEBHOOK_URLS, and at most ${MAX_TARGETS} URLs with those of NOTIFY_WEBHOOK_URLS`,
    );
  }
  return all;
}
