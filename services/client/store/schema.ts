/**
 * The state file's schema, as numbered migrations: PRAGMA user_version holds
 * the number of migrations applied. A file is moved forward one migration at
 * a time, each in its own transaction; a file newer than this code is
 * refused (an older monitor must not write into a newer file).
 */
/** The mark in webhook_queues of an outbox whose queues are named by label (schema 3): never a key (`scheme://…`). */
export const QUEUES_BY_LABEL = 'queues by label';

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
  // 4: outbox.target names a webhook's queue by its URL (notify/queues.ts
  // queueKey), no longer by its label, and webhook_queues holds the queues
  // configured at the last start (a queue new since then may take one whose
  // URL changed in place). A file with an outbox of an older release is
  // marked QUEUES_BY_LABEL there: its rows move to their URLs' keys at the
  // next start, once. A release before it would give them up as no longer
  // configured.
  `CREATE TABLE webhook_queues (key TEXT PRIMARY KEY) STRICT;
   INSERT INTO webhook_queues (key) SELECT '${QUEUES_BY_LABEL}' WHERE EXISTS (SELECT 1 FROM outbox);`,
  // 5: monitor_runs.recorded_until, the file's watermark: every change of a
  // sender the run made before it is in the file (write-behind.ts). A
  // restart takes the beats due after it as hidden by its absence, those
  // due before it as missed (tracker.ts awayFrom()). 0: nothing known. A
  // row's updated_at is the watermark of the write that wrote it from here
  // on: an older release's (its write's time, datagrams still queued then
  // unknown) is no such bound, and is 0 now.
  `ALTER TABLE monitor_runs ADD COLUMN recorded_until INTEGER NOT NULL DEFAULT 0;
   UPDATE senders SET updated_at = 0;`,
  // 6: the hourly prunes by age find their rows through an index, in time
  // with what they delete, instead of reading the whole table inside their
  // write transaction (incidents: up to 1,000 per sender; the outbox: every
  // notification of the last 7 days), which held the other connection's
  // writes, on the main thread, waiting. Pending outbox rows have no done_at
  // (NULL): the prune's `done_at < ?` never takes them.
  `CREATE INDEX incidents_by_at ON incidents (at);
   CREATE INDEX outbox_by_done_at ON outbox (done_at);`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
