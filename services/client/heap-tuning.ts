/**
 * V8's heap settings for the monitor's process, set once, before the monitor
 * starts (main.ts; the benchmark's client does as main.ts does).
 *
 * Allocation-site pretenuring off. V8 watches, per allocation site, how many
 * of its young objects survive a scavenge, and from a high share on
 * allocates that site's objects straight in the old generation. It did so
 * for the tracking thread's per-datagram records (what the pipeline's
 * `accepted()` makes), which then held the young strings and numbers they
 * point to through every scavenge, so each scavenge copied and promoted
 * those too. The objects that do live long (senders, the state file's
 * buffers) are few and made at start-up or once per sender. The figures,
 * traced with and without it: docs/PERFORMANCE.md, "The tracking thread's
 * records taken for long-lived".
 *
 * Set at run time, not on the image's command line, so that the benchmark's
 * client (forked without that command line) runs as the image does; set
 * before the monitor starts, it did what the command-line flag did. Node
 * leaves V8's flags unfrozen for `v8.setFlagsFromString`. They are
 * process-wide: they hold for the socket threads and the state file's thread
 * too.
 */
import { setFlagsFromString } from 'node:v8';

export function tuneHeap(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}
