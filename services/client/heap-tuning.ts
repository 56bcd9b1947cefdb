/**
 * V8's heap settings for the monitor's process, set once, before the monitor
 * starts (main.ts; the benchmark's client does as main.ts does).
 *
 * Allocation-site pretenuring off. V8 watches, per allocation site, how many
 * of its young objects survive a scavenge, and from a high share on
 * allocates that site's objects straight in the old generation. At 50,000
 * senders, 17.5 MB a second of the tracking thread's per-datagram records
 * (what the pipeline's `accepted()` makes, ~350 bytes a datagram, most
 * likely chiefly each datagram's entry in the history, which keeps only the
 * latest 500) outlived every scavenge: V8's allocation profiler, sampling
 * what no scavenge collected; with this flag, 0.45 MB a second. From the
 * old generation they held the young strings and numbers they point to
 * through each scavenge, which then copied and promoted those too. The main
 * thread's scavenges paused it 8.5–9.2 ms at the median and promoted a
 * median ~3 MB each, with 12 full collections in a 120 s run; without
 * pretenuring, 4.0–4.3 ms, 0.56 MB and 6–9 (traced runs, docs/PERFORMANCE.md,
 * "The tracking thread's records taken for long-lived"). The objects that
 * do live long (senders, the state file's buffers) are few and made at
 * start-up or once per sender; the scavenges promote them in turn.
 *
 * Set at run time, not on the image's command line, so that the benchmark's
 * client (forked without that command line) runs as the image does. Set
 * before the monitor starts, it did what the flag on the command line
 * did (the traces above, one run each). Node leaves V8's flags unfrozen for
 * `v8.setFlagsFromString`. They are process-wide: they hold for the socket
 * threads and the state file's thread too.
 */
import { setFlagsFromString } from 'node:v8';

export function tuneHeap(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}
