import { describe, expect, it } from 'vitest';
import { PENDING_AT_MOST, SortedKeys, SPLICE_LIMIT } from '../../services/client/tracking/sorted-keys.js';
import { prng } from '../support/prng.js';

// The sources in order, kept as they come and go: whatever the changes between two reads, a few
// (spliced) or many (merged), the list must be what sorting the keys there afresh gives.

describe('sorted keys', () => {
  it.each([
    ['a few changes between reads (spliced)', 1, SPLICE_LIMIT],
    ['many changes between reads (merged)', SPLICE_LIMIT + 1, 400],
  ])('equal the keys sorted afresh after %s', (_, fewest, most) => {
    const next = prng(fewest);
    const keys = new SortedKeys();
    const there = new Set<string>();
    // Keys of different lengths and shared prefixes, some coming back after they went.
    const pool = Array.from({ length: 600 }, (_, i) => `10.0.${i % 7}.${(i * 37) % 256}:${i}`);
    for (let read = 0; read < 200; read++) {
      const changes = fewest + Math.floor(next() * (most - fewest + 1));
      const changed = new Set<string>();
      for (let c = 0; c < changes; c++) {
        const key = pool[Math.floor(next() * pool.length)] as string;
        changed.add(key);
        if (next() < 0.6) {
          keys.add(key);
          there.add(key);
        } else {
          keys.remove(key);
          there.delete(key);
        }
      }
      if (changed.size < fewest) continue; // the same key changed twice counts once
      expect(keys.list()).toEqual([...there].sort());
    }
    expect(there.size).toBeGreaterThan(100);
  });

  it('reads the same list again without changes, and nothing for a key that came and went', () => {
    const keys = new SortedKeys();
    for (const k of ['b', 'a', 'c']) keys.add(k);
    expect(keys.list()).toEqual(['a', 'b', 'c']);
    keys.add('x');
    keys.remove('x');
    keys.remove('b');
    keys.add('b');
    expect(keys.list()).toEqual(['a', 'b', 'c']);
  });

  it('keeps the changes waiting bounded when nobody reads: a quarter of the keys, at least PENDING_AT_MOST', () => {
    const keys = new SortedKeys();
    let most = 0;
    const present: string[] = [];
    // A flood of new sources, each soon evicted, as at MAX_SENDERS with nobody looking.
    for (let i = 0; i < 20_000; i++) {
      const key = `flood-${(i * 7919) % 20_000}`;
      keys.add(key);
      present.push(key);
      if (present.length > 3000) keys.remove(present.shift() as string);
      most = Math.max(most, keys.waiting);
    }
    expect(most).toBe(PENDING_AT_MOST);
    expect(keys.list()).toEqual([...present].sort());
    expect(keys.waiting).toBe(0);
  });
});
