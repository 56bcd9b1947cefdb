/**
 * Declared senders: senders that must be there. The monitor lists them from
 * its start and marks them down if they never show up. They come from the
 * environment (EXPECTED_SENDERS, a compact list) and from a file
 * (SENDERS_FILE, JSON or YAML); both yield the same `DeclaredSender`.
 *
 * Pure, except `readSendersFile`, which reads the file.
 */
import { isIP } from 'node:net';
import { extname } from 'node:path';
import { Lexer, parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { readConfigText } from '../../shared/config-file.js';
import { parseDuration } from '../../shared/duration.js';
import { list } from '../../shared/env.js';
import { canonicalIp } from '../../shared/ip-address.js';
import { SOURCE_ID, SOURCE_ID_RULE } from '../../shared/protocol.js';

export interface DeclaredSender {
  /** Tracker key: the protocol `source` id, or for a plain-text sender its IP address (see `textSenderKey`). */
  source: string;
  kind: 'protocol' | 'text';
  intervalMs: number;
  /** null: the monitor's default grace (LATE_GRACE / half the interval). */
  graceMs: number | null;
  displayName: string | null;
}

export const MAX_DECLARED_SENDERS = 10_000;
/**
 * SENDERS_FILE's room per sender: a full entry (a 64-character name and id,
 * interval and grace), in JSON indented by 4, is about 260 bytes; this leaves
 * room for comments, wider indentation and escapes.
 */
const SENDERS_FILE_BYTES_PER_SENDER = 1024;
/**
 * A larger SENDERS_FILE is refused unparsed (10000 KiB at 10,000 senders). A
 * longer list within it is refused by its count, which says so.
 */
export const MAX_SENDERS_FILE_BYTES = MAX_DECLARED_SENDERS * SENDERS_FILE_BYTES_PER_SENDER;
/**
 * YAML costs more than its bytes: the parser keeps ~200 bytes of heap per
 * token, so 1 MiB of `- a` lines (1.3 million tokens) took 210 MiB and 2 MiB
 * ran the 256 MiB container's heap out (2026-12-05). So a YAML text is first
 * only tokenized (the lexer keeps nothing) and refused beyond this many
 * tokens: an entry of every field, indented, is about 31 of them, and 48 per
 * sender leave room for comments and blank lines (~100 MiB at most to parse).
 */
export const MAX_SENDERS_FILE_YAML_TOKENS = MAX_DECLARED_SENDERS * 48;
const MIN_INTERVAL_MS = 100;
/** 7 days; durations have no day unit, so it is written 168h. */
const MAX_DURATION_MS = 7 * 24 * 3_600_000;

/** In EXPECTED_SENDERS an id also cannot hold the list's own separators. */
const LIST_SEPARATORS = /[=,@/]/;
/** A display name: 1 to 64 printable characters, no leading or trailing space. */
const DISPLAY_NAME = /^(?![\s])[^\p{C}\p{Zl}\p{Zp}]{1,64}(?<![\s])$/u;

/**
 * The tracker key of a plain-text sender: its IP address, canonical
 * (shared/ip-address.ts). Undefined when `address` is not a bare IP address.
 */
export const textSenderKey = canonicalIp;

/** Milliseconds for a duration with a unit within [minMs, 7 days]; no surrounding spaces. */
function durationWithin(text: string, minMs: number): number | undefined {
  if (text !== text.trim()) return undefined;
  const ms = parseDuration(text);
  return ms !== null && ms >= minMs && ms <= MAX_DURATION_MS ? ms : undefined;
}

/** The first source declared twice, with the positions of both declarations. */
function findDuplicate(
  senders: readonly DeclaredSender[],
): { source: string; first: number; again: number } | undefined {
  const seen = new Map<string, number>();
  for (const [index, sender] of senders.entries()) {
    const first = seen.get(sender.source);
    if (first !== undefined) return { source: sender.source, first, again: index };
    seen.set(sender.source, index);
  }
  return undefined;
}

// EXPECTED_SENDERS ----------------------------------------------------------

/**
 * A bare IPv6 address (it needs brackets) or an IPv4 address with a port (a
 * plain-text sender is one address, whatever its port): valid protocol ids,
 * but surely meant as a plain-text sender that would then never show up.
 */
function looksLikeAddress(id: string): boolean {
  const withPort = /^(.*):\d{1,5}$/.exec(id)?.[1];
  return isIP(id) === 6 || (withPort !== undefined && isIP(withPort) === 4);
}

const ITEM = /^(?:(?<name>[^,=@]*)@)?(?<id>[^,=@]*)=(?<interval>[^,=@/]*)(?:\/(?<grace>[^,=@/]*))?$/;

/** One `[name@]id=interval[/grace]` item, or undefined when invalid. */
function parseListItem(item: string): DeclaredSender | undefined {
  const groups = ITEM.exec(item)?.groups;
  if (groups?.id === undefined || groups.interval === undefined) return undefined;
  const { name, id, interval, grace } = groups;
  if (name !== undefined && !DISPLAY_NAME.test(name)) return undefined;
  const intervalMs = durationWithin(interval, MIN_INTERVAL_MS);
  const graceMs = grace === undefined ? null : durationWithin(grace, 0);
  if (intervalMs === undefined || graceMs === undefined) return undefined;
  const sender = { intervalMs, graceMs, displayName: name ?? null };
  // An IPv6 address only in brackets: bare, `::1` would read as a protocol id.
  const bracketed = /^\[(.*)\]$/.exec(id)?.[1];
  if (bracketed !== undefined) {
    const source = isIP(bracketed) === 6 ? textSenderKey(bracketed) : undefined;
    return source === undefined ? undefined : { source, kind: 'text', ...sender };
  }
  if (isIP(id) === 4) return { source: id, kind: 'text', ...sender };
  if (!SOURCE_ID.test(id) || LIST_SEPARATORS.test(id) || id.startsWith('[') || looksLikeAddress(id)) {
    return undefined;
  }
  return { source: id, kind: 'protocol', ...sender };
}

const LIST_EXPECTED =
  "a comma-separated list of [name@]id=interval[/grace], where id is a sender's source id or the IP address of a plain-text sender (IPv6 in brackets), " +
  `interval is 100ms to 168h and grace 0ms to 168h (units ms, s, m, h), each id once, at most ${MAX_DECLARED_SENDERS} items, ` +
  'e.g. billing=30s,backup=1h/10m,legacy@10.1.2.3=60s,[::1]=5s';

/** The EXPECTED_SENDERS setting for an env spec: default empty, one config line when invalid. */
export function expectedSendersField(description: string) {
  return list('', LIST_EXPECTED, description, parseListItem, MAX_DECLARED_SENDERS).superRefine(
    (senders, ctx) => {
      // Guard: after a failed item the value may be zod's NEVER, not a list.
      const twice = Array.isArray(senders) ? findDuplicate(senders) : undefined;
      if (twice !== undefined) {
        ctx.addIssue({ code: 'custom', message: `each id once (${twice.source} is declared twice)` });
      }
    },
  );
}

const expectedSenders = expectedSendersField('Senders that must be there');

/** EXPECTED_SENDERS's value as a list; undefined when invalid. */
export function parseExpectedSenders(text: string): DeclaredSender[] | undefined {
  const result = expectedSenders.safeParse(text.trim());
  return result.success ? result.data : undefined;
}

// SENDERS_FILE --------------------------------------------------------------

const DURATION_EXPECTED = 'expected a duration with a unit, e.g. 30s';

/** A zod error message that says so when the field is missing altogether. */
function orMissing(expected: string) {
  return (issue: { input?: unknown }) => (issue.input === undefined ? `missing, ${expected}` : expected);
}

function durationSchema(minMs: number) {
  const range = `expected a duration from ${minMs}ms to 168h`;
  return z.string({ error: orMissing(DURATION_EXPECTED) }).transform((text, ctx) => {
    if (parseDuration(text) === null || text !== text.trim()) {
      ctx.addIssue({ code: 'custom', message: DURATION_EXPECTED });
      return z.NEVER;
    }
    const ms = durationWithin(text, minMs);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: range });
      return z.NEVER;
    }
    return ms;
  });
}

const ITEM_FIELDS = 'source or address, interval, and optionally name and grace';

const fileItemSchema = z
  .strictObject(
    {
      source: z
        .string({ error: 'expected a string' })
        .regex(SOURCE_ID, `expected a source id: ${SOURCE_ID_RULE}`)
        .optional(),
      address: z
        .string({ error: 'expected a string' })
        .transform((text, ctx) => {
          const key = textSenderKey(text);
          if (key === undefined)
            ctx.addIssue({ code: 'custom', message: 'expected an IP address, without port' });
          return key ?? z.NEVER;
        })
        .optional(),
      name: z
        .string({ error: 'expected a string' })
        .regex(DISPLAY_NAME, 'expected 1 to 64 printable characters, no leading or trailing space')
        .optional(),
      interval: durationSchema(MIN_INTERVAL_MS),
      grace: durationSchema(0).optional(),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `unknown field ${issue.keys.join(', ')}; expected ${ITEM_FIELDS}`
          : `expected an object with ${ITEM_FIELDS}`,
    },
  )
  .transform((item, ctx): DeclaredSender => {
    const base = { intervalMs: item.interval, graceMs: item.grace ?? null, displayName: item.name ?? null };
    if (item.source !== undefined && item.address === undefined) {
      return { source: item.source, kind: 'protocol', ...base };
    }
    if (item.address !== undefined && item.source === undefined) {
      return { source: item.address, kind: 'text', ...base };
    }
    ctx.addIssue({
      code: 'custom',
      message: 'expected exactly one of source (a protocol sender) or address (a plain-text sender)',
    });
    return z.NEVER;
  });

const senderListSchema = z
  .array(fileItemSchema, { error: orMissing('expected a list of senders') })
  .max(MAX_DECLARED_SENDERS, `expected at most ${MAX_DECLARED_SENDERS} senders`);

const fileSchema = z.strictObject(
  { senders: senderListSchema },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field ${issue.keys.join(', ')}; expected senders`
        : 'expected an object with a senders list, or a list of senders',
  },
);

/** `senders[2].interval`; `[2].interval` for a bare list. */
function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join('');
}

/** Error text on one line: parsers quote the input, newlines and all. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function parseJsonText(text: string): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(text) };
  } catch (err) {
    return { error: `not valid JSON: ${oneLine((err as Error).message)}` };
  }
}

/** Whether the YAML text has more than `max` tokens, counted without parsing it. */
function moreYamlTokensThan(text: string, max: number): boolean {
  let tokens = 0;
  for (const _token of new Lexer().lex(text)) if (++tokens > max) return true;
  return false;
}

function parseYamlText(text: string): { value: unknown } | { error: string } {
  if (moreYamlTokensThan(text, MAX_SENDERS_FILE_YAML_TOKENS)) {
    return {
      error: `too large to parse as YAML: more than ${MAX_SENDERS_FILE_YAML_TOKENS} tokens, which ${MAX_DECLARED_SENDERS} senders never need (a longer list: JSON)`,
    };
  }
  try {
    // logLevel 'error': errors throw, warnings are not printed to the console.
    return { value: parseYaml(text, { logLevel: 'error' }) };
  } catch (err) {
    // The message's first line; the rest is a code frame.
    const first = (err as Error).message.split('\n')[0] ?? '';
    return { error: `not valid YAML: ${oneLine(first).replace(/:$/, '')}` };
  }
}

function parseDocument(text: string, fileName: string): { value: unknown } | { error: string } {
  const extension = extname(fileName).toLowerCase();
  if (extension === '.json') return parseJsonText(text);
  if (extension === '.yaml' || extension === '.yml') return parseYamlText(text);
  const json = parseJsonText(text);
  if ('value' in json) return json;
  const yaml = parseYamlText(text);
  return 'value' in yaml ? yaml : { error: `neither JSON nor ${yaml.error.replace(/^not valid /, '')}` };
}

/**
 * The senders of a SENDERS_FILE's content: `{ senders: [...] }` or a bare
 * list. JSON or YAML by the file name's extension (.json, .yaml, .yml),
 * otherwise JSON, then YAML. Throws an Error with one line naming the file
 * and the first problem.
 */
export function parseSendersFile(text: string, fileName: string): DeclaredSender[] {
  const fail = (problem: string) => new Error(`SENDERS_FILE ${fileName}: ${problem}`);
  const document = parseDocument(text.replace(/^\uFEFF/, ''), fileName);
  if ('error' in document) throw fail(document.error);
  const bare = Array.isArray(document.value);
  const result = bare ? senderListSchema.safeParse(document.value) : fileSchema.safeParse(document.value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : `${formatPath(issue.path)}: `;
    throw fail(`${where}${issue?.message ?? 'invalid'}`);
  }
  const senders = Array.isArray(result.data) ? result.data : result.data.senders;
  const twice = findDuplicate(senders);
  if (twice !== undefined) {
    const at = (index: number) => formatPath(bare ? [index] : ['senders', index]);
    const field = senders[twice.again]?.kind === 'text' ? 'address' : 'source';
    throw fail(`${at(twice.again)}.${field}: ${twice.source} is declared twice (also ${at(twice.first)})`);
  }
  return senders;
}

/** Reads and parses SENDERS_FILE; an unreadable file, or one too large or not a regular file, is one line naming it. */
export function readSendersFile(path: string): DeclaredSender[] {
  let text: string;
  try {
    text = readConfigText(path, { maxBytes: MAX_SENDERS_FILE_BYTES, kind: 'a senders file' });
  } catch (err) {
    throw new Error(`SENDERS_FILE ${path}: cannot read it: ${oneLine((err as Error).message)}`);
  }
  return parseSendersFile(text, path);
}

// Both ----------------------------------------------------------------------

/** The senders declared in the environment and in the file; a source in both is an error. */
export function mergeDeclared(fromEnv: DeclaredSender[], fromFile: DeclaredSender[]): DeclaredSender[] {
  const inEnv = new Set(fromEnv.map((sender) => sender.source));
  const both = fromFile.find((sender) => inEnv.has(sender.source));
  if (both !== undefined) {
    throw new Error(`declared senders: ${both.source} is declared in both EXPECTED_SENDERS and SENDERS_FILE`);
  }
  return [...fromEnv, ...fromFile];
}
