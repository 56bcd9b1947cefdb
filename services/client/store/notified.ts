/**
 * What was last notified per sender (the `notified` table): so `up` is said
 * only after a problem was, reminders know when they were last sent, and the
 * recovery carries the incident key of the notification it answers — across
 * restarts of the monitor.
 */
import type { DatabaseSync } from 'node:sqlite';

export interface NotifiedRow {
  source: string;
  state: string;
  event: string;
  incidentKey: string;
  atMs: number;
  remindedAtMs: number | null;
}

export interface NotifiedTable {
  get(source: string): NotifiedRow | null;
  set(source: string, row: Omit<NotifiedRow, 'source' | 'remindedAtMs'>): void;
  /** Senders last notified down (or reminded) at or before `beforeMs`. */
  due(beforeMs: number): NotifiedRow[];
  reminded(source: string, atMs: number): void;
  /** The senders whose last notification was `event`. */
  withEvent(event: string): NotifiedRow[];
  /** Forgets a sender (evicted: the monitor no longer tracks it). Free for one never notified: no statement runs. */
  delete(source: string): void;
}

export function openNotifiedTable(db: DatabaseSync): NotifiedTable {
  const get = db.prepare('SELECT * FROM notified WHERE source = ?');
  const set = db.prepare(
    `INSERT INTO notified (source, state, event, incident_key, at, reminded_at) VALUES (?, ?, ?, ?, ?, NULL)
     ON CONFLICT (source) DO UPDATE SET state = excluded.state, event = excluded.event,
       incident_key = excluded.incident_key, at = excluded.at, reminded_at = NULL`,
  );
  const due = db.prepare(
    `SELECT * FROM notified WHERE event IN ('down', 'never_seen', 'reminder') AND COALESCE(reminded_at, at) <= ?`,
  );
  const reminded = db.prepare('UPDATE notified SET reminded_at = ? WHERE source = ?');
  const withEvent = db.prepare('SELECT * FROM notified WHERE event = ?');
  const remove = db.prepare('DELETE FROM notified WHERE source = ?');
  // The senders with a row: an eviction (thousands a second under a flood of spoofed sources,
  // which are never notified) costs a statement only for one that has a row.
  const rows = new Set(
    (db.prepare('SELECT source FROM notified').all() as Array<{ source: string }>).map((r) => r.source),
  );
  const toRow = (r: Record<string, unknown>): NotifiedRow => ({
    source: String(r.source),
    state: String(r.state),
    event: String(r.event),
    incidentKey: String(r.incident_key),
    atMs: Number(r.at),
    remindedAtMs: r.reminded_at === null ? null : Number(r.reminded_at),
  });
  return {
    get(source) {
      const r = get.get(source);
      return r === undefined ? null : toRow(r);
    },
    set(source, row) {
      set.run(source, row.state, row.event, row.incidentKey, row.atMs);
      rows.add(source);
    },
    due: (beforeMs) => due.all(beforeMs).map(toRow),
    reminded: (source, atMs) => void reminded.run(atMs, source),
    withEvent: (event) => withEvent.all(event).map(toRow),
    delete(source) {
      if (rows.delete(source)) remove.run(source);
    },
  };
}
