/**
 * V8's heap settings for the monitor's process, set once, before the monitor
 * starts (main.ts; the benchmark's client does as main.ts does).
 *
 * Allocation-site pretenuring off. V8 watches, per allocation site, how many
 * of its young objects survive a scavenge, and from a high share on
 * allocates that site's objects straight in the old generation. At 50,000
 * senders the tracking thread's per-datagram records (the history's entry,
 * the readable line's parts) were taken for long-lived: every one of them
 * went to the old generation (17.5 MB a second, sampled with V8's allocation
 * profiler), and from there held the young strings and numbers they point to
 * through each scavenge, which then copied and promoted those too. Scavenges
 * paused the thread for 8.5–9.2 ms at the median and promoted ~3 MB each,
 * and the old generation filled into a full collection every ten seconds.
 * Without it, in the same scenario: 4.0 ms, 0.6 MB, one every twenty seconds
 * (docs/PERFORMANCE.md, "The tracking thread's records taken for
 * long-lived"). The objects that do live long (senders, the state file's
 * buffers) are few and made at start-up or once per sender; they are
 * promoted by the scavenges in turn.
 *
 * Set at run time because the benchmark's client forks without the image's
 * command line; V8 reads this flag at every collection and allocation-site
 * decision, so setting it before the monitor's code runs is setting it for
 * all of it. (Node leaves V8's flags unfrozen for `v8.setFlagsFromString`.)
 * The flags are process-wide: they hold for the socket threads and the state
 * file's thread too.
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_FLAGS = ['--no-allocation-site-pretenuring'] as const;

export function tuneHeap(): void {
  for (const flag of HEAP_FLAGS) setFlagsFromString(flag);
}
