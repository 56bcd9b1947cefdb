/**
 * The senders' last ways out of `down`, from their incidents: at a start,
 * the Alertmanager alerts the previous run may have left firing, their
 * resolution not taken yet (Alertmanager was unreachable, or the monitor
 * stopped first). The firing set lives in memory; the incidents say which
 * of its alerts ended.
 */
import type { DatabaseSync } from 'node:sqlite';
import { type SenderState, senderStateSchema } from '../../shared/vocabulary.js';

export interface Recovery {
  source: string;
  /** When the down began, and why. */
  downAtMs: number;
  downReason: string;
  /** When it ended, into what, and why. */
  atMs: number;
  to: SenderState;
  reason: string;
}

/**
 * Each sender whose latest change out of `down` came at `sinceMs` or later,
 * with the change into `down` before it (read through incidents_by_at).
 */
export function recoveriesSince(db: DatabaseSync, sinceMs: number): Recovery[] {
  const rows = db
    .prepare(
      `SELECT up.source, up.at, up.to_state, up.reason, down.at AS down_at, down.reason AS down_reason
       FROM incidents up
       JOIN incidents down ON down.id = (
         SELECT max(id) FROM incidents WHERE source = up.source AND to_state = 'down' AND id < up.id)
       WHERE up.at >= ? AND up.from_state = 'down'
         AND up.id = (SELECT max(id) FROM incidents WHERE source = up.source AND from_state = 'down')`,
    )
    .all(sinceMs);
  return rows.map((r) => ({
    source: String(r.source),
    downAtMs: Number(r.down_at),
    downReason: String(r.down_reason),
    atMs: Number(r.at),
    to: senderStateSchema.parse(r.to_state),
    reason: String(r.reason),
  }));
}
