// Live updates: filled in by the status page work.
