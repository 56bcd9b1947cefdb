import { describe, expect, it } from 'vitest';
import { readThroughVouch } from '../../services/client/ingest/read-through.js';
import { threadProgress } from '../../services/client/ingest/thread-progress.js';

describe('read-through vouch (a socket thread never lets silence be judged past what it has not read)', () => {
  it('vouches for its creation first, then at each turn for the turn before', () => {
    let now = 1_000;
    const progress = threadProgress();
    const vouch = readThroughVouch(progress.setReadThrough, () => now);
    // Created before the socket is bound: nothing can have arrived before it.
    expect(progress.readThrough()).toBe(1_000);
    now = 1_050;
    vouch.turn();
    // The loop has polled the socket since creation, not necessarily since this turn.
    expect(progress.readThrough()).toBe(1_000);
    now = 1_100;
    vouch.turn();
    expect(progress.readThrough()).toBe(1_050);
  });

  it('a thread that gets no turn vouches for nothing newer, however late the clock', () => {
    let now = 5_000;
    const progress = threadProgress();
    const vouch = readThroughVouch(progress.setReadThrough, () => now);
    now = 5_050;
    vouch.turn();
    now = 5_100;
    vouch.turn();
    // Starved for 4 s: the clock moves, the vouch does not.
    now = 9_100;
    expect(progress.readThrough()).toBe(5_050);
    // Its next turn vouches only for the turn before the stall, the one after for the stall's end.
    vouch.turn();
    expect(progress.readThrough()).toBe(5_100);
    now = 9_150;
    vouch.turn();
    expect(progress.readThrough()).toBe(9_100);
  });

  it('the cell holds it for the tracking thread, beside the watermark', () => {
    const progress = threadProgress();
    progress.setWatermark(Number.POSITIVE_INFINITY);
    progress.setReadThrough(1_733_000_000_123);
    expect(progress.watermark()).toBe(Number.POSITIVE_INFINITY);
    expect(progress.readThrough()).toBe(1_733_000_000_123);
    // Another view of the same buffer (the other thread's) sees it.
    expect(threadProgress(progress.buffer).readThrough()).toBe(1_733_000_000_123);
  });
});
