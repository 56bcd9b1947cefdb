/**
 * The state file's schema, as numbered migrations: PRAGMA user_version holds
 * the number of migrations applied. A file is moved forward one migration at
 * a time, each in its own transaction; a file newer than this code is
 * refused (an older monitor must not write into a newer file).
 */
export const MIGRATIONS: readonly string[] = [
  // 1: senders, their state changes (incidents) and the monitor's own runs.
  `CREATE TABLE senders (
     source TEXT PRIMARY KEY,
     record TEXT NOT NULL,
     sequence BLOB NOT NULL,
     heartbeats BLOB NOT NULL,
     uptime BLOB NOT NULL,
     updated_at INTEGER NOT NULL
   ) STRICT;
   CREATE TABLE incidents (
     id INTEGER PRIMARY KEY,
     source TEXT NOT NULL,
     from_state TEXT,
     to_state TEXT NOT NULL,
     reason TEXT NOT NULL,
     at INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX incidents_by_source ON incidents (source, id);
   CREATE TABLE monitor_runs (
     id INTEGER PRIMARY KEY,
     started_at INTEGER NOT NULL,
     alive_at INTEGER NOT NULL,
     stopped_at INTEGER
   ) STRICT;`,
  // 2: notifications. The outbox holds every notification before any attempt
  // to send it (one row per target, in order by seq); silences; and what was
  // last notified per sender, so a restart neither repeats nor forgets one.
  `CREATE TABLE outbox (
     seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL,
     target TEXT NOT NULL,
     source TEXT NOT NULL,
     event TEXT NOT NULL,
     body TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'given_up', 'dropped')),
     last_error TEXT,
     done_at INTEGER,
     UNIQUE (id, target)
   ) STRICT;
   CREATE INDEX outbox_pending ON outbox (status, target, seq);
   CREATE INDEX outbox_head ON outbox (target, source, status, seq);
   CREATE INDEX outbox_by_source ON outbox (source, seq);
   CREATE TABLE silences (
     id TEXT PRIMARY KEY,
     sources TEXT NOT NULL,
     until INTEGER NOT NULL,
     comment TEXT NOT NULL,
     created_at INTEGER NOT NULL
   ) STRICT;
   CREATE TABLE notified (
     source TEXT PRIMARY KEY,
     state TEXT NOT NULL,
     event TEXT NOT NULL,
     incident_key TEXT NOT NULL,
     at INTEGER NOT NULL,
     reminded_at INTEGER
   ) STRICT;`,
  // 3: no table changes. Uptime buckets are written as 32-bit integers from
  // here on (sender-codec.ts reads the 64-bit floats of older rows too): a
  // release before it would refuse such a row, so it is told the file is newer.
  `SELECT 1;`,
  // 4: no table changes. outbox.target names a webhook's queue by its URL
  // (targets.ts queueKey), no longer by its label; the notifier moves the
  // rows of an older release to the new names at its start. A release
  // before it would give those rows up as no longer configured.
  `SELECT 1;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
