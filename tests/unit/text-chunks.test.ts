import { describe, expect, it } from 'vitest';
import { CHUNK_CHARS, textChunks } from '../../services/client/http/text-chunks.js';
import { longestChunk } from '../support/chunks.js';

describe('text gathered into chunks of bounded length', () => {
  it('keeps every piece, in order, in chunks of at most CHUNK_CHARS', () => {
    const pieces = Array.from({ length: 500 }, (_, i) => `${i}:`.padEnd(1 + ((i * 7919) % 3000), 'ü'));
    const chunks = textChunks();
    for (const piece of pieces) chunks.add(piece);
    const out = chunks.close();
    expect(out.join('')).toBe(pieces.join(''));
    expect(longestChunk(out)).toBeLessThanOrEqual(CHUNK_CHARS);
    // Gathered, not a chunk a piece: each chunk but the last is full up to the piece that did not fit.
    expect(out.length).toBeLessThan(pieces.join('').length / (CHUNK_CHARS - 3000) + 1);
  });

  it('leaves a piece longer than a chunk whole, in a chunk of its own', () => {
    const long = 'y'.repeat(CHUNK_CHARS + 1);
    const chunks = textChunks();
    chunks.add('a');
    chunks.add(long);
    chunks.add('b');
    expect(chunks.close()).toEqual(['a', long, 'b']);
  });

  it('makes no chunk of nothing', () => {
    const chunks = textChunks();
    chunks.add('');
    expect(chunks.close()).toEqual([]);
  });
});
