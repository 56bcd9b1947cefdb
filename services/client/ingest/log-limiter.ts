/**
 * Rate limit for the log lines of rejected datagrams: per reason, the first
 * `limit` in each window are logged in full, the rest only counted; the
 * window's suppressed counts are reported once in a `suppressed` line. The
 * exception counters themselves are exact either way.
 */
export interface LogLimiter {
  /** True when this occurrence of `reason` should be logged in full. */
  allow(reason: string): boolean;
  /** Suppressed counts of the window now ending (only reasons with any); starts a new window. */
  rollover(): Array<{ reason: string; suppressed: number }>;
}

export function createLogLimiter(limit: number): LogLimiter {
  const logged = new Map<string, number>();
  const suppressed = new Map<string, number>();
  return {
    allow(reason) {
      const n = (logged.get(reason) ?? 0) + 1;
      if (n <= limit) {
        logged.set(reason, n);
        return true;
      }
      suppressed.set(reason, (suppressed.get(reason) ?? 0) + 1);
      return false;
    },
    rollover() {
      const out = [...suppressed].map(([reason, n]) => ({ reason, suppressed: n }));
      logged.clear();
      suppressed.clear();
      return out;
    },
  };
}
