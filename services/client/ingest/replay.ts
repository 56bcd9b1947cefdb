/**
 * Anti-replay for authenticated datagrams (RFC 4303's sliding window, per
 * source and boot). Consulted only after the MAC verified, so a forger
 * cannot move a window. A boot never seen before is accepted only when its
 * sentAt is within `maxClockSkewMs` of the receiver's clock, so old captured
 * datagrams of a forgotten boot cannot be replayed later.
 *
 * A monitor's restart does not forget the boots it tracked: each is seeded
 * from the state file (seed()) with its highest seq and the delay its
 * datagrams had, the sender's clock offset included. Its next datagram is
 * accepted if it is newer and as late as they were, or on time by the
 * receiver's clock (a clock set right meanwhile), give or take
 * `maxClockSkewMs`: a sender whose clock drifted while the monitor watched
 * it is not locked out by the monitor's restart, and a datagram captured
 * before the restart is still a replay.
 */
import {
  acceptSeq,
  createSequenceWindow,
  isFresh,
  type SequenceWindow,
  startSequence,
} from '../tracking/sequence.js';

export type ReplayVerdict = 'ok' | 'replay' | 'clock_skew';

export interface ReplayOptions {
  window: number;
  maxClockSkewMs: number;
  maxSources: number;
  /** Boots remembered per source. */
  maxBoots: number;
}

export interface ReplayGuard {
  check(source: string, boot: string, seq: number, sentAtMs: number, nowMs: number): ReplayVerdict;
  /** A boot the previous run tracked: its highest seq, and the delay (arrival - sentAt) of its datagrams. */
  seed(source: string, boot: string, highestSeq: number, delayMs: number): void;
  readonly size: number;
}

export function createReplayGuard(options: ReplayOptions): ReplayGuard {
  // source -> (boot -> window); both maps in recency order for O(1) eviction.
  const sources = new Map<string, Map<string, SequenceWindow>>();
  /** source -> the boot the previous run tracked (seed()), until its first datagram here. */
  const seeded = new Map<string, { boot: string; highestSeq: number; delayMs: number }>();
  return {
    check(source, boot, seq, sentAtMs, nowMs) {
      let boots = sources.get(source);
      let window = boots?.get(boot);
      if (window === undefined) {
        // Written so that NaN (an unparseable time) fails each check instead of passing it.
        const onTime = Math.abs(sentAtMs - nowMs) <= options.maxClockSkewMs;
        const known = seeded.get(source);
        if (known?.boot === boot) {
          if (seq <= known.highestSeq) return 'replay';
          // As late as its datagrams were (its clock's offset included), or on time by the receiver's
          // clock (a clock set right since, the sender's or the receiver's).
          if (!(onTime || Math.abs(nowMs - sentAtMs - known.delayMs) <= options.maxClockSkewMs))
            return 'clock_skew';
          seeded.delete(source);
        } else if (!onTime) {
          return 'clock_skew';
        }
        window = createSequenceWindow(options.window);
        startSequence(window, seq);
        if (boots === undefined) {
          if (sources.size >= options.maxSources) sources.delete(sources.keys().next().value as string);
          boots = new Map();
        } else if (boots.size >= options.maxBoots) {
          boots.delete(boots.keys().next().value as string);
        }
      } else if (!isFresh(acceptSeq(window, seq))) {
        return 'replay';
      }
      // Re-insert: most recently used last.
      (boots as Map<string, SequenceWindow>).delete(boot);
      (boots as Map<string, SequenceWindow>).set(boot, window);
      sources.delete(source);
      sources.set(source, boots as Map<string, SequenceWindow>);
      return 'ok';
    },
    seed(source, boot, highestSeq, delayMs) {
      if (seeded.size >= options.maxSources && !seeded.has(source)) return;
      seeded.set(source, { boot, highestSeq, delayMs });
    },
    get size() {
      return sources.size;
    },
  };
}
