/**
 * Thread priorities. On Linux a nice value belongs to one thread, and a
 * thread starts with its creator's: `lowerThisThread` lowers the calling
 * thread only, so the threads it started before keep theirs. Raising a nice
 * value needs no privilege; lowering it back does, so nothing here does.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { setPriority } from 'node:os';

/** The name Node gives the threads of V8's platform: they collect garbage and compile for every isolate. */
export const V8_HELPER_THREAD_NAME = 'V8Worker';
/** The name libuv gives the threads of its pool (file I/O, among them the log's writes). */
export const POOL_THREAD_NAME = 'libuv-worker';

/**
 * Starts libuv's thread pool, which writes the log. The pool starts on its
 * first task, and its threads take the nice value of whichever thread queued
 * that task: called first thing, before any thread lowers itself, the pool
 * runs at the process's priority, not at a lowered thread's.
 */
export async function startThreadPool(): Promise<void> {
  // An asynchronous file call is a pool task; any readable path will do.
  await access('/');
}

/** Lowers the calling thread to `nice`; false where the platform refuses (the thread runs on, as it was). */
export function lowerThisThread(nice: number): boolean {
  try {
    setPriority(nice);
    return true;
  } catch {
    return false;
  }
}

/**
 * Lowers V8's helper threads to `nice` (none off Linux, where threads are not
 * found by name in /proc). They do most of the work of a large collection on
 * the main thread's heap: left at the process's priority, that work takes the
 * cores back from the threads the main thread's nice value puts first.
 */
export function lowerV8Helpers(nice: number): void {
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return;
  }
  for (const tid of tasks) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== V8_HELPER_THREAD_NAME) continue;
      setPriority(Number(tid), nice);
    } catch {
      // Ended meanwhile, or refused: it runs on as it was.
    }
  }
}

/**
 * MAIN_THREAD_NICE: the calling (main) thread below the threads it started
 * before, and V8's helper threads with it, since they collect its heap.
 */
export function lowerMainThread(nice: number): void {
  lowerThisThread(nice);
  if (nice > 0) lowerV8Helpers(nice);
}
