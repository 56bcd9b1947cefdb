/** The beacon's configuration: environment variables, parsed once at start-up. */
import { hostname } from 'node:os';
import { MAX_ADDRESSES_PER_TARGET, parseTarget, type Target, targetKey } from '../shared/beacon/targets.js';
import {
  boolean,
  duration,
  type EnvValues,
  ipAddress,
  list,
  logLevel,
  parseEnv,
  port,
  stopTimeout,
  text,
} from '../shared/env.js';
import { type KeyFile, parseKeyFileSpec } from '../shared/keys.js';
import { EMPTY_OR_SOURCE_ID, SOURCE_ID_RULE } from '../shared/protocol.js';

export const serverEnv = {
  BEACON_INTERVAL: duration(
    '60s',
    1,
    86_400_000,
    'Time between beats (drift-free schedule), e.g. 60s, 5s, 250ms',
  ),
  BEACON_TARGETS: list(
    'client:5000',
    'a comma-separated list of host:port, each optionally followed by /all or /first, each host:port once, e.g. tasks.client:5000,[::1]:5000/first',
    `Where beats are sent: each beat goes to every address a name resolves to (at most ${MAX_ADDRESSES_PER_TARGET}), or with /first only to the first; names are looked up in the background before each beat`,
    parseTarget,
    64,
    targetKey,
  ),
  BEACON_SOURCE: text(
    '',
    EMPTY_OR_SOURCE_ID,
    `empty, or ${SOURCE_ID_RULE}`,
    'Stable sender id; empty means the host name',
  ),
  HTTP_PORT: port(8081, 'HTTP port for /healthz and /metrics (0 picks a free port)'),
  HTTP_HOST: ipAddress('0.0.0.0', 'Address the HTTP port binds to'),
  AUTH_KEY_FILE: text(
    '',
    /^(|[A-Za-z0-9_.-]{1,32}=\/.+)$/,
    'empty or keyId=/absolute/path, e.g. k1=/run/secrets/beacon_key',
    'Sign every datagram with HMAC-SHA256 using this key (Docker secret); empty sends unsigned',
  ),
  SEND_BYE: boolean(true, 'Send a `bye` datagram on graceful shutdown'),
  LOG_LEVEL: logLevel(),
  STOP_TIMEOUT: stopTimeout(),
};

export interface ServerConfig {
  intervalMs: number;
  targets: Target[];
  source: string;
  httpPort: number;
  httpHost: string;
  keyFile: KeyFile | null;
  sendBye: boolean;
  logLevel: string;
  stopTimeoutMs: number;
}

export function toServerConfig(env: EnvValues<typeof serverEnv>): ServerConfig {
  return {
    intervalMs: env.BEACON_INTERVAL,
    targets: env.BEACON_TARGETS,
    source: env.BEACON_SOURCE === '' ? hostname() : env.BEACON_SOURCE,
    httpPort: env.HTTP_PORT,
    httpHost: env.HTTP_HOST,
    keyFile: env.AUTH_KEY_FILE === '' ? null : (parseKeyFileSpec(env.AUTH_KEY_FILE) ?? null),
    sendBye: env.SEND_BYE,
    logLevel: env.LOG_LEVEL,
    stopTimeoutMs: env.STOP_TIMEOUT,
  };
}

export function loadServerConfig(env: Record<string, string | undefined>): ServerConfig {
  return toServerConfig(parseEnv(serverEnv, env));
}
