import { describe, expect, it } from 'vitest';
import { type BatchTurns, createBatchTurns } from '../../services/client/ingest/batch-turns.js';
import { type FakeLoop, fakeLoop } from '../support/fake-loop.js';

/** Queues handlings 1..n, each recording its number and spending `ms` of the loop's clock. */
function pushSpending(turns: BatchTurns, loop: FakeLoop, n: number, ms: number): number[] {
  const handled: number[] = [];
  for (let i = 1; i <= n; i++)
    turns.push(() => {
      handled.push(i);
      loop.spend(ms);
    });
  return handled;
}

describe('batch turns', () => {
  it('handles nothing while the message is delivered: the batch waits for the next turn', () => {
    const loop = fakeLoop();
    const turns = createBatchTurns(5, loop.clock);
    const handled: number[] = [];
    turns.push(() => handled.push(1));
    turns.push(() => handled.push(2));
    expect(handled).toEqual([]);
    // One deferral however many batches came in.
    expect(loop.pending).toBe(1);
    loop.turn();
    expect(handled).toEqual([1, 2]);
    expect(turns.queued).toBe(0);
    expect(loop.pending).toBe(0);
  });

  it('stops a turn once it has spent its time, and leaves the rest, in order, to the next turns', () => {
    const loop = fakeLoop();
    const turns = createBatchTurns(5, loop.clock);
    const handled = pushSpending(turns, loop, 6, 2);
    // 2 + 2 ms is within 5; the third batch takes the turn to 6 ms and ends it.
    loop.turn();
    expect(handled).toEqual([1, 2, 3]);
    expect(turns.queued).toBe(3);
    expect(loop.pending).toBe(1);
    loop.turn();
    expect(handled).toEqual([1, 2, 3, 4, 5, 6]);
    expect(loop.pending).toBe(0);
  });

  it('handles at least one batch a turn, however long it takes', () => {
    const loop = fakeLoop();
    const turns = createBatchTurns(5, loop.clock);
    const handled = pushSpending(turns, loop, 3, 20);
    loop.turn();
    expect(handled).toEqual([1]);
    loop.turn();
    loop.turn();
    expect(handled).toEqual([1, 2, 3]);
  });

  it('drain handles everything queued at once, and the turn that was due then finds nothing', () => {
    const loop = fakeLoop();
    const turns = createBatchTurns(5, loop.clock);
    const handled = pushSpending(turns, loop, 4, 10);
    turns.drain();
    expect(handled).toEqual([1, 2, 3, 4]);
    loop.turn();
    expect(handled).toEqual([1, 2, 3, 4]);
    turns.push(() => handled.push(5));
    expect(loop.pending).toBe(1);
    loop.turn();
    expect(handled).toEqual([1, 2, 3, 4, 5]);
  });

  it('a handling that throws does not strand the batches behind it', () => {
    const loop = fakeLoop();
    const turns = createBatchTurns(5, loop.clock);
    const handled: number[] = [];
    turns.push(() => {
      throw new Error('bad batch');
    });
    turns.push(() => handled.push(2));
    expect(() => loop.turn()).toThrow('bad batch');
    expect(loop.pending).toBe(1);
    loop.turn();
    expect(handled).toEqual([2]);
  });
});
