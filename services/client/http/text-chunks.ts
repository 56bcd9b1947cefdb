/**
 * Large text sent in chunks of a bounded length, never made into one string.
 *
 * V8 gives any object over 128 KiB a mapping of its own (its large-object
 * space): mapped when it is made, and unmapped one by one in the final pause
 * of a full collection, the main thread's longest. At 50,000 senders a
 * walk's parts of ~130 KiB, the live snapshot of ~550 KB, the scrape's text
 * and the status page made some 20 such objects a second; the phase that
 * unmaps them took up to 101 ms of a full collection's 116, and a part of 250
 * senders took ~4 times as long to serialize as in chunks of 32K characters
 * (docs/PERFORMANCE.md, "What a full collection's final pause spent").
 */

/** The length a chunk is kept under, in characters: 64 KiB even as two-byte text. */
export const CHUNK_CHARS = 32_768;

/** Pieces of text gathered into chunks of at most CHUNK_CHARS, a longer piece left a chunk of its own. */
export interface TextChunks {
  add(piece: string): void;
  /** The chunks, in order; joined, every piece added. */
  close(): string[];
}

export function textChunks(): TextChunks {
  const chunks: string[] = [];
  let open = '';
  return {
    add(piece) {
      if (open.length + piece.length <= CHUNK_CHARS) {
        open += piece;
        return;
      }
      if (open !== '') chunks.push(open);
      open = piece;
    },
    close() {
      if (open !== '') chunks.push(open);
      open = '';
      return chunks;
    },
  };
}
