/**
 * Thread priorities. On Linux a nice value belongs to one thread, and a
 * thread starts with its creator's: `lowerThisThread` lowers the calling
 * thread only, so the threads it started before keep theirs. Raising a nice
 * value needs no privilege; lowering it back does, so nothing here does.
 */
import { setPriority } from 'node:os';

/** Lowers the calling thread to `nice`; false where the platform refuses (the thread runs on, as it was). */
export function lowerThisThread(nice: number): boolean {
  try {
    setPriority(nice);
    return true;
  } catch {
    return false;
  }
}
