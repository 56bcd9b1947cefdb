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
];

export const SCHEMA_VERSION = MIGRATIONS.length;
