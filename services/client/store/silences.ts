/** The silences table: maintenance windows, kept across restarts. */
import type { DatabaseSync } from 'node:sqlite';
import type { Silence } from '../notify/silences.js';

export interface SilencesTable {
  list(): Silence[];
  insert(silence: Silence): void;
  /** True when it existed. */
  remove(id: string): boolean;
  /** Removes the silences that ended at or before `nowMs`; returns them. */
  expire(nowMs: number): Silence[];
}

export function openSilencesTable(db: DatabaseSync): SilencesTable {
  const all = db.prepare('SELECT * FROM silences ORDER BY created_at');
  const insert = db.prepare(
    'INSERT INTO silences (id, sources, until, comment, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const remove = db.prepare('DELETE FROM silences WHERE id = ?');
  const ended = db.prepare('SELECT * FROM silences WHERE until <= ?');
  const toSilence = (r: Record<string, unknown>): Silence => ({
    id: String(r.id),
    sources: String(r.sources),
    until: Number(r.until),
    comment: String(r.comment),
    createdAtMs: Number(r.created_at),
  });
  return {
    list: () => all.all().map(toSilence),
    insert: (s) => void insert.run(s.id, s.sources, s.until, s.comment, s.createdAtMs),
    remove: (id) => Number(remove.run(id).changes) > 0,
    expire(nowMs) {
      const gone = ended.all(nowMs).map(toSilence);
      for (const s of gone) remove.run(s.id);
      return gone;
    },
  };
}
