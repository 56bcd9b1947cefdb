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
const nothingTold = new Map<string, string>();
const drop = (words: string[], excess: number, sending = none, told = nothingTold) =>
  dropOrder(rows(...words), excess, sending, told).sort((a, b) => a - b);

describe('dropOrder', () => {
  it('drops reminders first, oldest first', () => {
    expect(drop(['a:down', 'b:reminder', 'c:down', 'd:reminder'], 1)).toEqual([2]);
    expect(drop(['a:down', 'b:reminder', 'c:down', 'd:reminder'], 2)).toEqual([2, 4]);
  });

  it('then an incident the receiver has not heard of, whole, up to the up that ends it, even when one was asked', () => {
    expect(drop(['a:down', 'b:down', 'b:up', 'c:down'], 1)).toEqual([2, 3]);
    // Its problems and reminders, whatever their number.
    expect(drop(['a:down', 'a:reminder', 'a:reminder', 'a:up', 'b:down'], 1)).toEqual([2]);
    expect(drop(['a:down', 'a:reminder', 'a:reminder', 'a:up', 'b:down'], 3)).toEqual([1, 2, 3, 4]);
    expect(drop(['a:late', 'a:down', 'a:flapping', 'a:up', 'b:down'], 1)).toEqual([1, 2, 3, 4]);
    // Two incidents of one sender: the older first.
    expect(drop(['a:never_seen', 'a:up', 'a:late', 'a:up'], 1)).toEqual([1, 2]);
  });

  it('never drops the end of an incident the receiver has heard of: the last row sent, or one being sent', () => {
    // a's late was sent: its down and up are the same incident, which the receiver has open.
    expect(drop(['a:down', 'a:up', 'b:down'], 1, none, new Map([['a', 'late']]))).toEqual([1]);
    expect(drop(['a:down', 'a:up', 'b:down'], 2, none, new Map([['a', 'late']]))).toEqual([1, 3]);
    // Sent up before: a new incident, unheard of.
    expect(drop(['a:down', 'a:up', 'b:down'], 1, none, new Map([['a', 'up']]))).toEqual([1, 2]);
    // a's down is in flight: its up goes last, and the row being sent never.
    expect(drop(['a:down', 'a:up', 'b:down'], 1, new Set([1]))).toEqual([3]);
    expect(drop(['a:down', 'a:up'], 5, new Set([1]))).toEqual([2]);
  });

  it('drops an unheard incident that ends in stopped (a bye after the down) whole, as one that ends in up', () => {
    expect(drop(['a:down', 'a:stopped', 'b:up'], 1)).toEqual([1, 2]);
  });

  it('keeps a stopped that ends an incident the receiver has until last, as an up; a plain stopped is any row', () => {
    // a was told down: its stopped closes that incident. c's stopped follows nothing: an ordinary row.
    const aToldDown = new Map([['a', 'down']]);
    expect(drop(['a:stopped', 'b:down', 'c:stopped'], 2, none, aToldDown)).toEqual([2, 3]);
    expect(drop(['a:stopped', 'b:down', 'c:stopped'], 3, none, aToldDown)).toEqual([1, 2, 3]);
    // The same, its down among the waiting rows and on its way.
    expect(drop(['a:down', 'a:stopped', 'b:down'], 1, new Set([1]))).toEqual([3]);
  });

  it('then the other rows oldest first, and an up whose incident was told last', () => {
    expect(drop(['a:up', 'b:down', 'c:stopped'], 2)).toEqual([2, 3]);
    expect(drop(['a:up', 'b:down', 'c:up'], 2)).toEqual([1, 2]);
  });

  it('drops nothing when nothing is in excess, and at most every row', () => {
    expect(drop(['a:down', 'a:up'], 0)).toEqual([]);
    expect(drop(['a:down', 'b:up'], 9)).toEqual([1, 2]);
  });
});
