import { describe, expect, it } from 'vitest';
import { acceptSeq, createSequenceWindow, startSequence } from '../../services/client/tracking/sequence.js';

function windowFrom(base: number, size = 64) {
  const window = createSequenceWindow(size);
  startSequence(window, base);
  return window;
}

describe('sequence window', () => {
  it('rounds the size up to a multiple of 32 and refuses less than 64', () => {
    expect(createSequenceWindow(64).bits).toBe(64);
    expect(createSequenceWindow(100).bits).toBe(128);
    expect(createSequenceWindow(1024).words.length).toBe(32);
    expect(() => createSequenceWindow(63)).toThrow(RangeError);
    expect(() => createSequenceWindow(64.5)).toThrow(RangeError);
  });

  it('takes the first seq as base and highest', () => {
    const w = windowFrom(500);
    expect(w.base).toBe(500);
    expect(w.highest).toBe(500);
    expect(acceptSeq(w, 500)).toBe('duplicate');
  });

  it('reports the gap of a jump forward', () => {
    const w = windowFrom(0);
    expect(acceptSeq(w, 1)).toBe('next');
    expect(w.gap).toBe(0);
    expect(acceptSeq(w, 5)).toBe('next');
    expect(w.gap).toBe(3);
    expect(w.highest).toBe(5);
  });

  it('tells a late arrival from a duplicate, and a duplicate of a late one', () => {
    const w = windowFrom(0);
    acceptSeq(w, 5);
    expect(acceptSeq(w, 3)).toBe('late');
    expect(acceptSeq(w, 3)).toBe('duplicate');
    expect(acceptSeq(w, 5)).toBe('duplicate');
    expect(acceptSeq(w, 0)).toBe('duplicate');
    expect(acceptSeq(w, 4)).toBe('late');
  });

  it('marks seqs below the base as before_base once, then duplicate', () => {
    const w = windowFrom(100);
    expect(acceptSeq(w, 99)).toBe('before_base');
    expect(acceptSeq(w, 99)).toBe('duplicate');
    expect(acceptSeq(w, 37)).toBe('before_base');
  });

  it('calls stale what is older than the window, exactly at its edge', () => {
    const w = windowFrom(0);
    acceptSeq(w, 100); // window holds 37..100
    expect(acceptSeq(w, 36)).toBe('stale');
    expect(acceptSeq(w, 37)).toBe('late');
    expect(acceptSeq(w, 0)).toBe('stale');
  });

  it('forgets the seqs of the previous lap when the ring wraps', () => {
    const w = windowFrom(0);
    for (let seq = 1; seq <= 63; seq++) acceptSeq(w, seq);
    // 64..69 reuse the bits of 0..5; 66 is skipped and must read as unseen.
    acceptSeq(w, 65);
    acceptSeq(w, 67);
    expect(w.gap).toBe(1);
    expect(acceptSeq(w, 66)).toBe('late');
    expect(acceptSeq(w, 64)).toBe('late');
    expect(acceptSeq(w, 65)).toBe('duplicate');
  });

  it('clears whole words on a long gap and everything on a gap past the window', () => {
    const w = windowFrom(0, 128);
    for (let seq = 1; seq < 128; seq++) acceptSeq(w, seq);
    acceptSeq(w, 200); // 128..199 skipped: ring bits 0..71 cleared, 73..127 kept
    expect(w.gap).toBe(72);
    for (let seq = 128; seq < 200; seq++) expect(acceptSeq(w, seq)).toBe('late');
    expect(acceptSeq(w, 72)).toBe('stale');
    expect(acceptSeq(w, 73)).toBe('duplicate');

    acceptSeq(w, 10_000);
    expect(w.gap).toBe(9799);
    for (let seq = 9873; seq < 10_000; seq++) expect(acceptSeq(w, seq)).toBe('late');
  });

  it('starts afresh on a new boot', () => {
    const w = windowFrom(0);
    acceptSeq(w, 10);
    startSequence(w, 3);
    expect(w.base).toBe(3);
    expect(w.highest).toBe(3);
    expect(acceptSeq(w, 2)).toBe('before_base');
    expect(acceptSeq(w, 10)).toBe('next');
    expect(w.gap).toBe(6);
  });
});
