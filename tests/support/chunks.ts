/** The length of the longest of `chunks`: what a bound on text sent in chunks (http/text-chunks.ts) is checked by. */
export const longestChunk = (chunks: readonly string[]): number =>
  Math.max(...chunks.map((chunk) => chunk.length));
