/**
 * The `readable` line of an accepted protocol datagram: one per datagram, the
 * busiest line the monitor writes. One function, so the benchmark's decode
 * reference (bench/children/decode.ts) writes exactly the line the pipeline
 * does.
 *
 * The line is the one pino writes for
 * `log.info({ from, port, bytes, kind, source, seq, sentAt, delayMs, verified })`
 * (same keys in the same order, same escaping: tests/unit/readable-line.test.ts
 * compares the two byte for byte), put together from the logger's own parts
 * (level, time, bindings, destination) in one template instead of pino's
 * generic loop over the object's keys. At 50,000 datagrams a second that
 * loop made half of the tracking thread's garbage, and its collections
 * paused the thread (docs/PERFORMANCE.md).
 */
import { type Logger, symbols } from 'pino';
import type { AcceptedDatagram } from './classify.js';

/** What pino keeps in a logger under these symbols (public: `pino.symbols`). */
interface PinoParts {
  [symbols.lsCacheSym]: Record<number, string>;
  [symbols.chindingsSym]: string;
  [symbols.timeSym]: () => string;
  [symbols.streamSym]: { write(line: string): void };
}

const INFO = 30;
const str = JSON.stringify;
/** As pino writes a number: a non-finite one is null. */
const num = (n: number) => (Number.isFinite(n) ? n : null);
/**
 * A sender's id as JSON: printable ASCII (the schema's SOURCE_ID), so only
 * a quote or a backslash needs escaping, and without either it is written
 * as it is (~21 ns a call in a loop, against JSON.stringify's ~53).
 */
const quotedId = (id: string) => (id.includes('"') || id.includes('\\') ? str(id) : `"${id}"`);
/** The kind and the key after it, written as JSON once: the kind is one of two words. */
const KIND_THEN_SOURCE: Record<AcceptedDatagram['kind'], string> = {
  beat: ',"kind":"beat","source":',
  bye: ',"kind":"bye","source":',
};

/** The writer of `readable` lines through `log`, a child logger bound to `{ event: 'readable' }`. */
export function readableLineWriter(log: Logger): (d: AcceptedDatagram) => void {
  const parts = log as unknown as PinoParts;
  const head = `${parts[symbols.lsCacheSym][INFO]}`;
  const bindings = parts[symbols.chindingsSym];
  const time = parts[symbols.timeSym];
  const stream = parts[symbols.streamSym];
  return (d) => {
    if (!log.isLevelEnabled('info')) return;
    stream.write(
      // sentAt as it is: the schema let through only an ISO-8601 time (digits, - : . T Z), nothing to escape.
      `${head}${time()}${bindings},"from":${str(d.address)},"port":${num(d.port)},"bytes":${num(d.size)}${KIND_THEN_SOURCE[d.kind]}${quotedId(d.source)},"seq":${num(d.seq)},"sentAt":"${d.sentAt}","delayMs":${num(d.receivedAtMs - d.sentAtMs)},"verified":${d.verified}}\n`,
    );
  };
}
