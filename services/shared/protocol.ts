/**
 * The wire protocol shared by the beacon and the monitor: one zod schema,
 * one encoder, one decoder. A datagram is a JSON object (version 1),
 * optionally followed by a signature trailer (see signing.ts).
 *
 * The decoder never throws: any bytes yield either a datagram, a plain-text
 * message, or a stable reason code.
 */
import { z } from 'zod';
import { isoTimeMs } from './iso-time.js';
import { type Keyring, signPayload, splitSigned, verifyMac } from './signing.js';

export const PROTOCOL_VERSION = 1;

/** 1 to 64 printable ASCII characters without spaces: safe as an id, a metric label and a map key. */
const PRINTABLE = String.raw`[\x21-\x7e]{1,64}`;
/** What PRINTABLE asks, for error messages. */
const PRINTABLE_RULE = '1 to 64 printable ASCII characters without spaces';
/** An id as above: a datagram's `boot`, and a sender's as releases before SOURCE_ID took it (`.` and `..` too). */
export const PRINTABLE_ID = new RegExp(`^${PRINTABLE}$`);
/**
 * A sender's id (`source`), wherever one is written: in a datagram, in
 * BEACON_SOURCE, EXPECTED_SENDERS, SENDERS_FILE and MONITOR_NAME. An id as
 * above, but not `.` or `..`: those are a URL path's dot segments, which
 * browsers and HTTP clients take out of `/senders/<id>` before asking, so
 * such a sender's page could never be reached.
 */
export const SOURCE_ID = new RegExp(`^(?!\\.\\.?$)${PRINTABLE}$`);
/** For a setting whose empty value means the host name. */
export const EMPTY_OR_SOURCE_ID = new RegExp(`^$|${SOURCE_ID.source}`);
/** What SOURCE_ID asks, for error messages. */
export const SOURCE_ID_RULE = `${PRINTABLE_RULE}, not . or ..`;

export const datagramSchema = z
  .object({
    v: z.literal(PROTOCOL_VERSION).describe('protocol version'),
    kind: z.enum(['beat', 'bye']).describe('beat: a regular heartbeat; bye: sent once on graceful shutdown'),
    source: z.string().regex(SOURCE_ID, SOURCE_ID_RULE).describe('stable sender id (default: the host name)'),
    // One regex with the length in it: one check where min, max and a regex were three.
    boot: z.string().regex(PRINTABLE_ID, PRINTABLE_RULE).describe('random id chosen at each process start'),
    // z.int() is a safe integer (at most Number.MAX_SAFE_INTEGER): one check fewer than int() and max().
    seq: z.int().min(0).describe('0 at process start, +1 per datagram'),
    sentAt: z.iso.datetime().describe('ISO-8601 UTC send time, millisecond precision'),
    intervalMs: z.int().min(1).max(86_400_000).describe('declared beat interval in milliseconds'),
    text: z.string().max(256).describe("the original's human-readable timestamp"),
  })
  .describe('udp-time-service datagram, version 1 (unknown fields are ignored)');

export type Datagram = z.infer<typeof datagramSchema>;
export type DatagramKind = Datagram['kind'];

/**
 * datagramSchema as zod compiles it (`z.compile`): the same rules, tried
 * first by code zod generates for them, and by zod's own parse when that
 * code says no, so a refusal keeps zod's reason. The decode of every
 * datagram runs it: zod's parse alone runs each check of each field as a
 * call through one general loop (docs/PERFORMANCE.md, "zod's compiled
 * parse"). A schema zod cannot compile would come back as it is; tests
 * hold this one compiled.
 */
export const compiledDatagramSchema = z.compile(datagramSchema);

/** Why a datagram was not accepted as a protocol datagram. Stable: used in logs and metrics. */
export const REJECT_REASONS = [
  'oversize',
  'not_json',
  'malformed_json',
  'schema',
  'unsupported_version',
  'unsigned',
  'bad_signature',
  'unknown_key',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** Not a protocol datagram, and why (`text`: a preview of it, where one is kept). */
export type Refused = { ok: false; reason: RejectReason; detail: string; text: string | null };

export type Decoded =
  | {
      ok: true;
      kind: DatagramKind;
      datagram: Datagram;
      sentAtMs: number;
      /** The key id whose MAC verified, or null for an unsigned datagram. */
      keyId: string | null;
    }
  | Refused;

export interface DecodeOptions {
  /** Datagrams longer than this are rejected unread. */
  maxBytes: number;
  /** Keys accepted for verification; empty when authentication is off. */
  keyring: Keyring;
  /** Reject unsigned datagrams. */
  requireAuth: boolean;
}

const OPEN_BRACE = 0x7b;
/** How much of a non-protocol datagram is kept as text for display. */
export const TEXT_PREVIEW_CHARS = 256;
const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** A printable preview of arbitrary bytes: invalid UTF-8 becomes U+FFFD. */
export function previewText(bytes: Uint8Array): string {
  const end = Math.min(bytes.length, TEXT_PREVIEW_CHARS * 4);
  // trimEnd(), not a /\s+$/ regex: the same white space, in linear time (the regex backtracks over a run
  // of spaces before a non-space: ~0.5 ms for a datagram of 1,023 spaces and an x).
  return clipped(utf8.decode(bytes.subarray(0, end)).trimEnd(), TEXT_PREVIEW_CHARS);
}

/** `s`, cut to `max` UTF-16 units (one less rather than between a surrogate pair's halves) and an ellipsis, when longer. */
function clipped(s: string, max: number): string {
  if (s.length <= max) return s;
  const highSurrogateLast = (s.charCodeAt(max - 1) & 0xfc00) === 0xd800;
  return `${s.slice(0, highSurrogateLast ? max - 1 : max)}…`;
}

/** Characters of a rejected datagram's `v` kept in the detail (an attacker chooses it, up to a whole datagram). */
const VERSION_DETAIL_CHARS = 32;

/**
 * A rejected `v` as the detail shows it: a JSON scalar as written, an array
 * or an object by its brackets alone. Never serialised: JSON.parse takes an
 * array nested 18,000 deep (36 KB, inside MAX_DATAGRAM_BYTES' range), and
 * JSON.stringify of it overflows the stack, which would end the socket
 * thread.
 */
function versionText(version: unknown): string {
  if (version === undefined) return 'missing';
  if (typeof version === 'object' && version !== null) return Array.isArray(version) ? '[…]' : '{…}';
  return JSON.stringify(version);
}

function reject(reason: RejectReason, detail: string, text: string | null = null): Refused {
  return { ok: false, reason, detail, text };
}

/** A datagram's JSON payload, its size and signature checked (unwrapDatagram()), for decodePayload(). */
export type Unwrapped = { ok: true; payload: Buffer; keyId: string | null } | Refused;

/**
 * bytes -> datagram | reason: unwrapDatagram(), then decodePayload(). The
 * two halves may run on different threads (the socket thread unwraps; the
 * JSON is decoded on whichever of the two threads has the time:
 * client/ingest/decode-split.ts).
 */
export function decodeDatagram(bytes: Buffer, options: DecodeOptions): Decoded {
  const unwrapped = unwrapDatagram(bytes, options);
  return unwrapped.ok ? decodePayload(unwrapped.payload, unwrapped.keyId) : unwrapped;
}

/**
 * The first half: bytes -> a JSON payload | reason. Order matters: size
 * first (no work on oversize input), then the signature (no parsing of
 * unauthenticated input when a MAC is present or required), then whether
 * it is JSON at all (plain text otherwise).
 */
export function unwrapDatagram(bytes: Buffer, options: DecodeOptions): Unwrapped {
  if (bytes.length > options.maxBytes) {
    return reject('oversize', `${bytes.length} bytes > limit ${options.maxBytes}`);
  }
  let payload = bytes;
  let keyId: string | null = null;
  const signed = splitSigned(bytes);
  if (signed !== null) {
    const key = options.keyring.get(signed.keyId);
    if (key !== undefined) {
      if (!verifyMac(key, signed.payload, signed.mac)) {
        return reject('bad_signature', `MAC does not verify for key ${signed.keyId}`);
      }
      keyId = signed.keyId;
    } else if (options.keyring.size > 0 || options.requireAuth) {
      // Fail closed: with authentication required, no key means no datagram verifies.
      return reject('unknown_key', `key id ${signed.keyId} is not configured`);
    }
    payload = signed.payload;
  } else if (options.requireAuth) {
    return reject('unsigned', 'authentication is required', previewText(bytes));
  }

  if (payload[0] !== OPEN_BRACE) {
    return reject('not_json', 'not a JSON object: shown as text', previewText(payload));
  }
  return { ok: true, payload, keyId };
}

/** The second half: a payload unwrapDatagram() let through -> datagram | reason (JSON, then the schema). */
export function decodePayload(payload: Buffer, keyId: string | null): Decoded {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return reject('malformed_json', (err as Error).message, previewText(payload));
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return reject('malformed_json', 'not a JSON object', previewText(payload));
  }
  const version = (json as { v?: unknown }).v;
  if (version !== PROTOCOL_VERSION) {
    return reject('unsupported_version', `v=${clipped(versionText(version), VERSION_DETAIL_CHARS)}`);
  }
  const parsed = compiledDatagramSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || '(root)';
    return reject('schema', `${where}: ${issue?.message ?? 'invalid'}`);
  }
  const sentAtMs = isoTimeMs(parsed.data.sentAt);
  return { ok: true, kind: parsed.data.kind, datagram: parsed.data, sentAtMs, keyId };
}

export interface Signer {
  keyId: string;
  key: Buffer;
}

/** datagram -> bytes, fields in a fixed order; signed when a signer is given. */
export function encodeDatagram(datagram: Datagram, signer?: Signer | null): Buffer {
  const payload = Buffer.from(
    JSON.stringify({
      v: datagram.v,
      kind: datagram.kind,
      source: datagram.source,
      boot: datagram.boot,
      seq: datagram.seq,
      sentAt: datagram.sentAt,
      intervalMs: datagram.intervalMs,
      text: datagram.text,
    }),
    'utf8',
  );
  return signer ? signPayload(payload, signer.keyId, signer.key) : payload;
}

/** The original example's human timestamp, in UTC: `Tue Nov 24 00:03:38 2026`. */
export function humanTimestamp(ms: number): string {
  const d = new Date(ms);
  const day = DAYS[d.getUTCDay()];
  const month = MONTHS[d.getUTCMonth()];
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${day} ${month} ${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
