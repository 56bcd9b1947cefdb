/**
 * The flags the client's Node runs with, wherever it runs: the image's CMD,
 * `npm run start:client`, the benchmark and the flood test. A unit test holds
 * Dockerfile.client and package.json to this list. V8 reads them when it
 * starts, so they cannot be set from inside the process.
 *
 * --no-memory-reducer: V8's memory reducer shrinks the heap once allocation
 * slows down, and its watchdog does so at the latest 100 s after the last
 * full collection: one compaction of the whole heap, in a single pause on
 * the main thread, where tracking and HTTP run (81-85 ms at 50,000
 * senders). The monitor's live heap is bounded by MAX_SENDERS; without the
 * reducer the heap keeps what it grew to until a regular collection.
 */
export const CLIENT_NODE_FLAGS: readonly string[] = ['--no-memory-reducer'];
