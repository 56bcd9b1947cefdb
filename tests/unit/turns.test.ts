import { describe, expect, it } from 'vitest';
import { createTurns, inTurns, type Turns } from '../../services/shared/turns.js';
import { type FakeLoop, fakeLoop } from '../support/fake-loop.js';

/** Queues handlings 1..n, each recording its number and spending `ms` of the loop's clock. */
function pushSpending(turns: Turns, loop: FakeLoop, n: number, ms: number): number[] {
  const handled: number[] = [];
  for (let i = 1; i <= n; i++)
    turns.push(() => {
      handled.push(i);
      loop.spend(ms);
    });
  return handled;
}

describe('turns of the main thread', () => {
  it('handles nothing while the message is delivered: the batch waits for the next turn', () => {
    const loop = fakeLoop();
    const turns = createTurns(5, loop.clock);
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
    const turns = createTurns(5, loop.clock);
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
    const turns = createTurns(5, loop.clock);
    const handled = pushSpending(turns, loop, 3, 20);
    loop.turn();
    expect(handled).toEqual([1]);
    loop.turn();
    loop.turn();
    expect(handled).toEqual([1, 2, 3]);
  });

  it('drain handles everything queued at once, and the turn that was due then finds nothing', () => {
    const loop = fakeLoop();
    const turns = createTurns(5, loop.clock);
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
    const turns = createTurns(5, loop.clock);
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

  it('runs a job a step at a time, taking turns with the batches, within the turn budget', async () => {
    const loop = fakeLoop();
    const turns = createTurns(5, loop.clock);
    const order: string[] = [];
    let steps = 0;
    const job = inTurns(() => {
      steps++;
      order.push(`step${steps}`);
      loop.spend(2);
      return steps === 4;
    }, turns);
    // Nothing runs before the loop goes round.
    expect(steps).toBe(0);
    turns.push(() => {
      order.push('batch1');
      loop.spend(2);
    });
    loop.turn();
    // 5 ms a turn: step1, batch1, step2 (2 + 2 + 2 ms), then the loop goes round.
    expect(order).toEqual(['step1', 'batch1', 'step2']);
    turns.push(() => order.push('batch2'));
    loop.turn();
    // A step came last: a batch goes first now. With no batch left, the steps fill the turn.
    expect(order).toEqual(['step1', 'batch1', 'step2', 'batch2', 'step3', 'step4']);
    await job;
    expect(turns.queued).toBe(0);
  });

  it('a job does not wait for a backlog: while batches wait, its steps and the batches alternate', async () => {
    const loop = fakeLoop();
    const turns = createTurns(5, loop.clock);
    const order: string[] = [];
    for (let i = 1; i <= 6; i++)
      turns.push(() => {
        order.push(`batch${i}`);
        loop.spend(2);
      });
    let steps = 0;
    const job = inTurns(() => {
      order.push(`step${++steps}`);
      loop.spend(1);
      return steps === 3;
    }, turns);
    // Queued behind six batches, the job still goes first, and then every other handling.
    loop.turn();
    expect(order).toEqual(['step1', 'batch1', 'step2', 'batch2']);
    loop.turn();
    expect(order.slice(4)).toEqual(['step3', 'batch3', 'batch4']);
    await job;
    loop.turn();
    expect(order.slice(7)).toEqual(['batch5', 'batch6']);
    expect(turns.queued).toBe(0);
  });

  it('a job rejects with what its step threw, and takes no step after it; the queue goes on', async () => {
    const loop = fakeLoop();
    const turns = createTurns(5, loop.clock);
    let steps = 0;
    const job = inTurns(() => {
      steps++;
      if (steps === 2) throw new Error('broken step');
      return false;
    }, turns);
    const handled: number[] = [];
    turns.push(() => handled.push(1));
    loop.turn();
    await expect(job).rejects.toThrow('broken step');
    expect(steps).toBe(2);
    expect(handled).toEqual([1]);
    expect(turns.queued).toBe(0);
  });

  it('drain runs a job to its end', async () => {
    const loop = fakeLoop();
    const turns = createTurns(5, loop.clock);
    let steps = 0;
    const job = inTurns(() => ++steps === 3, turns);
    turns.drain();
    await job;
    expect(steps).toBe(3);
  });
});
