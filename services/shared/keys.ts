/**
 * Authentication keys, read from files (Docker secrets), never from the
 * command line or the environment. Fail closed: a missing, unreadable,
 * too-short or oversized key file, one that is not a regular file, or a key
 * id given twice, stops start-up with a message naming the variable.
 *
 * The key is the file's bytes with surrounding ASCII whitespace removed
 * (so `openssl rand -base64 48 > k1.key` and a key written without a final
 * newline give the same key). Bytes are used as they are: a binary key file
 * works too.
 */
import { readConfigFile } from './config-file.js';
import { ConfigError } from './env.js';
import { KEY_ID_PATTERN, type Keyring, MIN_KEY_BYTES } from './signing.js';

export interface KeyFile {
  keyId: string;
  path: string;
}

/** Larger files are refused: a key is a few dozen bytes (readConfigFile, which also refuses /dev/zero). */
export const MAX_KEY_FILE_BYTES = 4096;

/** `k1=/run/secrets/k1` -> { keyId, path }, or undefined when malformed. */
export function parseKeyFileSpec(text: string): KeyFile | undefined {
  const eq = text.indexOf('=');
  if (eq < 1) return undefined;
  const keyId = text.slice(0, eq);
  const path = text.slice(eq + 1);
  return KEY_ID_PATTERN.test(keyId) && path.startsWith('/') ? { keyId, path } : undefined;
}

const isAsciiSpace = (byte: number) => byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);

/** The key bytes without leading and trailing ASCII whitespace. */
export function trimKey(bytes: Buffer): Buffer {
  let start = 0;
  let end = bytes.length;
  while (start < end && isAsciiSpace(bytes[start] as number)) start++;
  while (end > start && isAsciiSpace(bytes[end - 1] as number)) end--;
  return bytes.subarray(start, end);
}

export function readKey(file: KeyFile, variable: string): Buffer {
  const value = `${file.keyId}=${file.path}`;
  let raw: Buffer;
  try {
    raw = readConfigFile(file.path, { maxBytes: MAX_KEY_FILE_BYTES, kind: 'a key file' });
  } catch (err) {
    throw new ConfigError([{ variable, value, expected: `a readable key file (${(err as Error).message})` }]);
  }
  // A copy: the key outlives the read buffer, and nothing else may alias it.
  const key = Buffer.from(trimKey(raw));
  raw.fill(0);
  if (key.length < MIN_KEY_BYTES) {
    throw new ConfigError([
      {
        variable,
        value,
        expected: `a key of at least ${MIN_KEY_BYTES} bytes (the file has ${key.length}); make one with: openssl rand -base64 48`,
      },
    ]);
  }
  return key;
}

export function readKeyring(files: readonly KeyFile[], variable: string): Keyring {
  const keyring = new Map<string, Buffer>();
  for (const file of files) {
    if (keyring.has(file.keyId)) {
      throw new ConfigError([
        {
          variable,
          value: files.map((f) => `${f.keyId}=${f.path}`).join(','),
          expected: `each key id once (${file.keyId} is given twice)`,
        },
      ]);
    }
    keyring.set(file.keyId, readKey(file, variable));
  }
  return keyring;
}
