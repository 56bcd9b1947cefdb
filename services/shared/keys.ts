/**
 * Authentication keys, read from files (Docker secrets), never from the
 * command line or the environment. Fail closed: a missing, unreadable or
 * too-short key stops start-up with a message naming the variable.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './env.js';
import { KEY_ID_PATTERN, type Keyring, MIN_KEY_BYTES } from './signing.js';

export interface KeyFile {
  keyId: string;
  path: string;
}

/** `k1=/run/secrets/k1` -> { keyId, path }, or undefined when malformed. */
export function parseKeyFileSpec(text: string): KeyFile | undefined {
  const eq = text.indexOf('=');
  if (eq < 1) return undefined;
  const keyId = text.slice(0, eq);
  const path = text.slice(eq + 1);
  return KEY_ID_PATTERN.test(keyId) && path.startsWith('/') ? { keyId, path } : undefined;
}

export function readKey(file: KeyFile, variable: string): Buffer {
  let key: Buffer;
  try {
    key = Buffer.from(readFileSync(file.path, 'utf8').trim(), 'utf8');
  } catch (err) {
    throw new ConfigError([
      {
        variable,
        value: `${file.keyId}=${file.path}`,
        expected: `a readable key file (${(err as Error).message})`,
      },
    ]);
  }
  if (key.length < MIN_KEY_BYTES) {
    throw new ConfigError([
      {
        variable,
        value: `${file.keyId}=${file.path}`,
        expected: `a key of at least ${MIN_KEY_BYTES} bytes (the file has ${key.length}); make one with: openssl rand -base64 48`,
      },
    ]);
  }
  return key;
}

export function readKeyring(files: readonly KeyFile[], variable: string): Keyring {
  const keyring = new Map<string, Buffer>();
  for (const file of files) keyring.set(file.keyId, readKey(file, variable));
  return keyring;
}
