/** What a full notification queue drops first (store/drop-order.ts): what tells the least about now. */
import { describe, expect, it } from 'vitest';
import { dropOrder, type WaitingRow } from '../../services/client/store/drop-order.js';

/** Rows from `source:event` words, seq 1, 2, ... */
const rows = (...words: string[]): WaitingRow[] =>
  words.map((w, i) => {
    const [source = '', event = ''] = w.split(':');
    return { seq: i + 1, source, event };
  });
const none = new Set<number>();

describe('dropOrder', () => {
  it('drops reminders first, oldest first', () => {
    expect(dropOrder(rows('a:down', 'b:reminder', 'c:down', 'd:reminder'), 1, none)).toEqual([2]);
    expect(dropOrder(rows('a:down', 'b:reminder', 'c:down', 'd:reminder'), 2, none)).toEqual([2, 4]);
  });

  it('then a problem with the up that answers it, together, even when one was asked', () => {
    expect(dropOrder(rows('a:down', 'b:down', 'b:up', 'c:down'), 1, none)).toEqual([2, 3]);
    // An up that does not come right after the problem answers a later one: no pair.
    expect(dropOrder(rows('a:down', 'a:flapping', 'a:up'), 1, none)).toEqual([2, 3]);
    expect(dropOrder(rows('a:never_seen', 'a:up', 'a:late', 'a:up'), 3, none)).toEqual([1, 2, 3, 4]);
  });

  it('then the other rows oldest first, and an up whose problem was told last', () => {
    expect(dropOrder(rows('a:up', 'b:down', 'c:stopped'), 2, none)).toEqual([2, 3]);
    expect(dropOrder(rows('a:up', 'b:down', 'c:up'), 2, none)).toEqual([2, 1]);
  });

  it('never drops a row being sent, nor pairs one with its up', () => {
    // a's down is in flight: its up answers a problem the receiver may have, so it goes last.
    expect(dropOrder(rows('a:down', 'a:up', 'b:down'), 1, new Set([1]))).toEqual([3]);
    expect(dropOrder(rows('a:down', 'a:up'), 5, new Set([1]))).toEqual([2]);
  });

  it('drops nothing when nothing is in excess, and at most every row', () => {
    expect(dropOrder(rows('a:down', 'a:up'), 0, none)).toEqual([]);
    expect(dropOrder(rows('a:down', 'b:up'), 9, none)).toEqual([1, 2]);
  });
});
