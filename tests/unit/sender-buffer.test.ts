import { describe, expect, it } from 'vitest';
import { fromRow, toRow } from '../../services/client/store/sender-codec.js';
import { blankSender, type Sender } from '../../services/client/tracking/sender.js';
import { acceptSeq } from '../../services/client/tracking/sequence.js';
import { T0 } from '../support/builders.js';

const SHAPE = { sequenceWindow: 100, heartbeatSlots: 30 };

const ringsOf = (s: Sender) => [s.uptime.ms, s.sequence.words, s.heartbeats.marks] as const;
/** The record's figures (not part of the Sender interface: only its accessors are). */
const figuresOf = (s: Sender) => (s as Sender & { figures: Float64Array }).figures;
const bytes = (view: ArrayBufferView) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);

describe("a sender's buffer (figures, uptime buckets, sequence bits, heartbeat marks)", () => {
  it('holds the figures behind accessors of their names, firstSeenMs null as NaN', () => {
    const s = blankSender('a', 'protocol', 'pending', 'new', T0, SHAPE);
    expect([s.stateSinceMs, s.firstSeenMs, s.lastSeenMs, s.jitterMs]).toEqual([T0, null, 0, 0]);
    s.lastSeenMs = T0 + 1.5;
    s.jitterMs = 0.25;
    s.firstSeenMs = T0 + 1;
    expect([s.lastSeenMs, s.jitterMs, s.firstSeenMs]).toEqual([T0 + 1.5, 0.25, T0 + 1]);
    expect([...figuresOf(s)]).toEqual(expect.arrayContaining([T0, T0 + 1, T0 + 1.5, 0.25]));
    s.firstSeenMs = null;
    expect(s.firstSeenMs).toBeNull();
    expect(figuresOf(s).some(Number.isNaN)).toBe(true);
    // Accessors only: no own field shadows them, so a write always reaches the buffer.
    expect(
      ['stateSinceMs', 'firstSeenMs', 'lastSeenMs', 'jitterMs'].filter((k) => Object.hasOwn(s, k)),
    ).toEqual([]);
  });

  it('lays the rings out as views on that buffer that do not overlap', () => {
    const s = blankSender('a', 'protocol', 'pending', 'new', T0, SHAPE);
    const rings = ringsOf(s);
    expect(figuresOf(s).buffer).toBe(rings[0].buffer);
    expect(new Set(rings.map((r) => r.buffer)).size).toBe(1);
    expect([rings[1].length, rings[2].length]).toEqual([Math.ceil(100 / 32), 30]);
    for (const [i, ring] of rings.entries()) {
      bytes(ring).fill(0xff);
      rings.forEach((other, j) => {
        expect(bytes(other).every((b) => b === (j === i ? 0xff : 0))).toBe(true);
      });
      bytes(ring).fill(0);
    }
  });

  it('puts the rings into a row as one copy, which later changes of the sender do not reach, and come back whole', () => {
    const s = blankSender('a', 'protocol', 'up', 'first_beat', T0, SHAPE);
    acceptSeq(s.sequence, 5);
    s.heartbeats.marks.set([1, 2, 3]);
    s.uptime.ms[7] = 123_456;
    s.firstSeenMs = T0 + 5;
    s.delayMeanMs = 2.75;
    const row = toRow(s);
    const before = ringsOf(s).map((r) => [...bytes(r)]);
    expect(new Set([row.sequence.buffer, row.heartbeats.buffer, row.uptime.buffer]).size).toBe(1);
    expect(row.uptime.buffer).not.toBe(s.uptime.ms.buffer);

    acceptSeq(s.sequence, 6);
    s.heartbeats.marks[0] = 0;
    s.uptime.ms[7] = 0;
    expect([row.uptime, row.sequence, row.heartbeats].map((r) => [...r])).toEqual(before);

    const back = fromRow(row, SHAPE);
    expect(ringsOf(back).map((r) => [...bytes(r)])).toEqual(before);
    expect([back.firstSeenMs, back.delayMeanMs]).toEqual([T0 + 5, 2.75]);
    expect(new Set(ringsOf(back).map((r) => r.buffer)).size).toBe(1);
  });
});
