/**
 * State changes counted by (to, reason), for `udp_monitor_state_changes_total`:
 * how often senders changed state, which an alert on flapping or a benchmark
 * looking for false changes reads. Bounded: states and reasons are closed sets
 * (missed_N has one N per configuration).
 */
import type { StateChange } from '../tracking/tracker.js';

export interface ChangeCounts {
  record(changes: readonly StateChange[]): void;
  entries(): Iterable<{ to: string; reason: string; count: number }>;
}

export function createChangeCounts(): ChangeCounts {
  const counts = new Map<string, { to: string; reason: string; count: number }>();
  return {
    record(changes) {
      for (const c of changes) {
        const key = `${c.to}\u0000${c.reason}`;
        const entry = counts.get(key);
        if (entry === undefined) counts.set(key, { to: c.to, reason: c.reason, count: 1 });
        else entry.count++;
      }
    },
    entries: () => counts.values(),
  };
}
