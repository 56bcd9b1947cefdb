/**
 * Anti-replay for authenticated datagrams (RFC 4303's sliding window, per
 * source and boot). Consulted only after the MAC verified, so a forger
 * cannot move a window. A boot never seen before is accepted only when its
 * sentAt is within `maxClockSkewMs` of the receiver's clock, so old captured
 * datagrams of a forgotten boot cannot be replayed later.
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
  readonly size: number;
}

export function createReplayGuard(options: ReplayOptions): ReplayGuard {
  // source -> (boot -> window); both maps in recency order for O(1) eviction.
  const sources = new Map<string, Map<string, SequenceWindow>>();
  return {
    check(source, boot, seq, sentAtMs, nowMs) {
      let boots = sources.get(source);
      let window = boots?.get(boot);
      if (window === undefined) {
        // Written so that NaN (an unparseable time) fails the check instead of passing it.
        if (!(Math.abs(sentAtMs - nowMs) <= options.maxClockSkewMs)) return 'clock_skew';
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
    get size() {
      return sources.size;
    },
  };
}
