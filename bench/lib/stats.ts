/** Small numeric helpers for the report. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Occurrences of `needle` in a file, read in 1 MiB chunks. */
export async function countInFile(path: string, needle: string): Promise<number> {
  const { open } = await import('node:fs/promises');
  const pattern = Buffer.from(needle);
  const handle = await open(path, 'r');
  try {
    const chunk = Buffer.alloc(1024 * 1024 + pattern.length);
    let carry = 0;
    let count = 0;
    for (;;) {
      const { bytesRead } = await handle.read(chunk, carry, chunk.length - carry);
      if (bytesRead === 0) break;
      const end = carry + bytesRead;
      const view = chunk.subarray(0, end);
      for (let at = view.indexOf(pattern); at !== -1; at = view.indexOf(pattern, at + pattern.length)) {
        count++;
      }
      // Keep the tail that could hold the start of a match cut by the chunk boundary.
      carry = Math.min(pattern.length - 1, end);
      chunk.copy(chunk, 0, end - carry, end);
    }
    return count;
  } finally {
    await handle.close();
  }
}
