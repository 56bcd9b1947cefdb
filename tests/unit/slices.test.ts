import { describe, expect, it } from 'vitest';
import { inSlices } from '../../services/shared/slices.js';
import { type FakeLoop, fakeLoop } from '../support/fake-loop.js';

/** A step that records its call, spends `ms` of the loop's clock, and is done after `steps` calls. */
function counting(loop: FakeLoop, steps: number, ms: number) {
  const calls = { n: 0 };
  const step = () => {
    calls.n++;
    loop.spend(ms);
    return calls.n === steps;
  };
  return { calls, step };
}

describe('work in slices', () => {
  it('runs the first slice at once, for as long as the slice lasts, and the rest in later turns', async () => {
    const loop = fakeLoop();
    const { calls, step } = counting(loop, 10, 1);
    let done = false;
    const finished = inSlices(step, 3, loop.clock).then(() => {
      done = true;
    });
    expect(calls.n).toBe(3);
    expect(loop.pending).toBe(1);
    loop.turn();
    expect(calls.n).toBe(6);
    loop.turn();
    loop.turn();
    expect(calls.n).toBe(10);
    expect(loop.pending).toBe(0);
    await finished;
    expect(done).toBe(true);
  });

  it('takes at least one step a slice, however long a step takes', async () => {
    const loop = fakeLoop();
    const { calls, step } = counting(loop, 3, 50);
    const finished = inSlices(step, 2, loop.clock);
    expect(calls.n).toBe(1);
    loop.turn();
    expect(calls.n).toBe(2);
    loop.turn();
    await finished;
    expect(calls.n).toBe(3);
  });

  it('finishes within the first slice when the work is short, and defers nothing', async () => {
    const loop = fakeLoop();
    const { calls, step } = counting(loop, 2, 0.5);
    await inSlices(step, 2, loop.clock);
    expect(calls.n).toBe(2);
    expect(loop.pending).toBe(0);
  });

  it('rejects with what a step threw, and takes no step after it', async () => {
    const loop = fakeLoop();
    let n = 0;
    const finished = inSlices(
      () => {
        n++;
        loop.spend(1);
        if (n === 4) throw new Error('broken step');
        return false;
      },
      2,
      loop.clock,
    );
    loop.turn();
    await expect(finished).rejects.toThrow('broken step');
    expect(n).toBe(4);
    expect(loop.pending).toBe(0);
  });
});
