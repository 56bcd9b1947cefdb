/** Classified datagrams in columns, from a socket thread to the tracking thread. */
import { describe, expect, it } from 'vitest';
import {
  createBatchWriter,
  readBatch,
  transferables,
} from '../../services/client/ingest/classified-batch.js';
import {
  type Classified,
  classifyFramed,
  type FramedDatagram,
} from '../../services/client/ingest/classify.js';
import { encodeDatagram } from '../../services/shared/protocol.js';

const arrival = (i: number) => ({
  receivedAtMs: 1_780_000_000_000 + i,
  address: i % 2 === 0 ? '192.0.2.7' : '2001:db8::7',
  family: i % 2 === 0 ? ('IPv4' as const) : ('IPv6' as const),
  port: 40_000 + i,
});

function framed(i: number, bytes: number): FramedDatagram {
  const payload = Buffer.alloc(bytes, 0x61 + (i % 26));
  payload[0] = 0x7b;
  return { ...arrival(i), size: bytes, outcome: 'framed', payload, keyId: i % 3 === 0 ? 'k1' : null };
}

function roundTrip(records: ReadonlyArray<Classified | FramedDatagram>) {
  const writer = createBatchWriter(records.length);
  for (const r of records) writer.add(r);
  expect(writer.full).toBe(true);
  const batch = writer.take();
  const read: Array<Classified | FramedDatagram> = [];
  readBatch(batch, (c) => read.push(c));
  return { batch, read };
}

describe('a classified batch', () => {
  it('carries framed payloads past the room it starts with (16 KiB), each back as it went, between the others', () => {
    const text: Classified = { ...arrival(1), size: 4, outcome: 'text', text: 'time' };
    const records = [
      ...Array.from({ length: 300 }, (_, i) => framed(i, 1000 + i)),
      text,
      framed(301, 65_507),
    ];
    const { batch, read } = roundTrip(records);
    expect(batch.payloads?.length).toBeGreaterThanOrEqual(300 * 1000 + 65_507);
    expect(read).toEqual(records);
  });

  it('transfers the payload bytes only when it has some', () => {
    const text: Classified = { ...arrival(1), size: 4, outcome: 'text', text: 'time' };
    const plain = roundTrip([text]).batch;
    expect(plain.payloads).toBeNull();
    expect(transferables(plain)).toEqual([plain.numbers.buffer]);
    const withFramed = roundTrip([text, framed(2, 100)]).batch;
    expect(transferables(withFramed)).toEqual([withFramed.numbers.buffer, withFramed.payloads?.buffer]);
  });

  it('starts the next batch afresh: the payloads handed over are not written again', () => {
    const writer = createBatchWriter(1);
    writer.add(framed(0, 10));
    const first = writer.take();
    writer.add(framed(1, 20));
    const second = writer.take();
    expect(second.payloads).not.toBe(first.payloads);
    const read: Array<Classified | FramedDatagram> = [];
    readBatch(first, (c) => read.push(c));
    expect(read).toEqual([framed(0, 10)]);
  });

  it('gives an accepted datagram the keys, in the order, that a decode on the tracking thread gives it', () => {
    // One shape for every accepted datagram, wherever it was decoded, so that the code that tracks and
    // logs it sees one kind of object (docs/PERFORMANCE.md). Both are object literals, which V8 gives one
    // hidden class when their keys come in one order; the class itself a test cannot see, the order it can.
    const payload = encodeDatagram({
      v: 1,
      kind: 'beat',
      source: 'svc-a',
      boot: 'b1',
      seq: 7,
      sentAt: '2026-12-06T17:00:00.000Z',
      intervalMs: 1000,
      text: '',
    });
    const decodedHere = classifyFramed({
      ...arrival(0),
      size: payload.length,
      outcome: 'framed',
      payload,
      keyId: null,
    });
    expect(decodedHere.outcome).toBe('accepted');
    const [decodedThere] = roundTrip([decodedHere]).read;
    expect(decodedThere).toEqual(decodedHere);
    expect(Object.keys(decodedThere as object)).toEqual(Object.keys(decodedHere));
  });
});
