/**
 * The outbox table: every notification is a row per target, written before
 * any attempt to send it, so a crash between the decision and the delivery
 * loses nothing. Rows leave `pending` as `sent`, `given_up` (too old) or
 * `dropped` (the target's queue was full). Order per sender: for a target,
 * only the oldest pending row of each sender is due, so a sender's
 * notifications arrive in the order they were made.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { atomically } from './atomically.js';
import { dropOrder, type WaitingRow } from './drop-order.js';
import { QUEUES_BY_LABEL } from './schema.js';

export type OutboxStatus = 'pending' | 'sent' | 'given_up' | 'dropped';

/** Rows done and older than the bound go: through outbox_by_done_at (schema 6). */
export const PRUNE_OUTBOX_SQL = `DELETE FROM outbox WHERE status <> 'pending' AND done_at < ?`;

export interface OutboxEntry {
  id: string;
  target: string;
  source: string;
  event: string;
  body: string;
  createdAtMs: number;
}

export interface OutboxRow extends OutboxEntry {
  seq: number;
  attempts: number;
  nextAttemptAtMs: number;
  status: OutboxStatus;
  lastError: string | null;
}

export interface LastNotification {
  id: string;
  event: string;
  target: string;
  createdAtMs: number;
  status: OutboxStatus;
  attempts: number;
  lastError: string | null;
}

export interface Outbox {
  /** One transaction for the batch. */
  enqueue(entries: readonly OutboxEntry[]): void;
  /** The due heads of the target's per-sender queues, oldest first. */
  due(target: string, nowMs: number, limit: number): OutboxRow[];
  sent(seq: number, atMs: number, attempts: number): void;
  retry(seq: number, attempts: number, nextAttemptAtMs: number, error: string): void;
  givenUp(seq: number, atMs: number, attempts: number, error: string): void;
  pending(target: string): number;
  /**
   * Drops the target's pending rows beyond `keep`, in drop-order.ts's order,
   * but those being sent (`sending`: neither waiting nor to be dropped, since
   * the receiver may have them already); returns how many.
   */
  trim(target: string, keep: number, atMs: number, sending?: ReadonlySet<number>): number;
  /**
   * Gives up the pending rows of every target but `configured` (one the
   * configuration no longer names: nothing would ever send them); returns
   * how many per target.
   */
  giveUpUnconfigured(configured: readonly string[], atMs: number): Map<string, number>;
  /** The targets with rows waiting that are not in `configured`, and how many wait for each. */
  orphaned(configured: readonly string[]): Map<string, number>;
  /** Moves every row of target `from` to target `to` (a row `to` holds already, by id, stays where it is). */
  retarget(from: string, to: string): void;
  /**
   * Hands the queue of `from` to `to`, a URL new in the configuration: its
   * rows move (the sent ones too: what a target was last sent of a sender
   * is what a full queue's drop order judges by), and those waiting are due
   * at once, free of the backoff `from`'s failures earned. Returns how many
   * waiting rows moved.
   */
  handOver(from: string, to: string, atMs: number): number;
  /** The queues configured at the last start, and whether the outbox's queues are still named by label (schema 3's). */
  lastConfigured(): { keys: Set<string>; byLabel: boolean };
  /** Records the queues configured now, for the next start. */
  recordConfigured(keys: readonly string[]): void;
  /** The newest notification of a sender on any target. */
  last(source: string): LastNotification | null;
  /** Removes finished rows older than `beforeMs`. */
  prune(beforeMs: number): void;
  /**
   * Removes the target's rows dropped or given up but the newest `keep`. (Sent
   * rows stay until pruned by age: what a target was last sent of a sender
   * is what a full queue's drop order judges by.)
   */
  trimFinished(target: string, keep: number): void;
}

export function openOutbox(db: DatabaseSync): Outbox {
  const sql = (text: string): StatementSync => db.prepare(text);
  const insert = sql(
    `INSERT OR IGNORE INTO outbox (id, target, source, event, body, created_at, next_attempt_at, status)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')`,
  );
  const due = sql(
    `SELECT * FROM outbox o WHERE status = 'pending' AND target = ? AND next_attempt_at <= ?
       AND seq = (SELECT MIN(seq) FROM outbox h WHERE h.target = o.target AND h.source = o.source AND h.status = 'pending')
     ORDER BY seq LIMIT ?`,
  );
  const finish = sql(
    'UPDATE outbox SET status = ?, attempts = ?, done_at = ?, last_error = ? WHERE seq = ? AND status = ?',
  );
  const retry = sql(
    `UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE seq = ? AND status = 'pending'`,
  );
  const pending = sql(`SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending' AND target = ?`);
  const waiting = sql(
    `SELECT seq, source, event FROM outbox WHERE status = 'pending' AND target = ? ORDER BY seq`,
  );
  // Per sender with rows waiting: the event of the last row the target was sent, reminders aside.
  const told = sql(
    `SELECT o.source, o.event FROM outbox o
     WHERE o.target = ? AND o.status = 'sent' AND o.event <> 'reminder'
       AND o.seq = (SELECT MAX(seq) FROM outbox p WHERE p.target = o.target AND p.source = o.source
                      AND p.status = 'sent' AND p.event <> 'reminder')
       AND o.source IN (SELECT source FROM outbox WHERE status = 'pending' AND target = o.target)`,
  );
  const drop = sql(
    `UPDATE outbox SET status = 'dropped', done_at = ?, last_error = 'queue full'
     WHERE status = 'pending' AND seq IN (SELECT value FROM json_each(?))`,
  );
  const unconfigured = sql(
    `SELECT target, COUNT(*) AS n FROM outbox WHERE status = 'pending'
       AND target NOT IN (SELECT value FROM json_each(?)) GROUP BY target`,
  );
  const giveUpTarget = sql(
    `UPDATE outbox SET status = 'given_up', done_at = ?, last_error = 'target no longer configured'
     WHERE status = 'pending' AND target = ?`,
  );
  const retarget = sql('UPDATE OR IGNORE outbox SET target = ? WHERE target = ?');
  const pendingDueAt = sql(`UPDATE outbox SET next_attempt_at = ? WHERE target = ? AND status = 'pending'`);
  const configuredKeys = sql('SELECT key FROM webhook_queues');
  const forgetConfigured = sql('DELETE FROM webhook_queues');
  const addConfigured = sql('INSERT INTO webhook_queues (key) VALUES (?)');
  const last = sql('SELECT * FROM outbox WHERE source = ? ORDER BY seq DESC LIMIT 1');
  const prune = sql(PRUNE_OUTBOX_SQL);
  const trimFinished = sql(
    `DELETE FROM outbox WHERE target = ? AND status IN ('dropped', 'given_up') AND seq <= (
       SELECT seq FROM outbox WHERE target = ? AND status IN ('dropped', 'given_up') ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
  );

  const toRow = (r: Record<string, unknown>): OutboxRow => ({
    seq: Number(r.seq),
    id: String(r.id),
    target: String(r.target),
    source: String(r.source),
    event: String(r.event),
    body: String(r.body),
    createdAtMs: Number(r.created_at),
    attempts: Number(r.attempts),
    nextAttemptAtMs: Number(r.next_attempt_at),
    status: String(r.status) as OutboxStatus,
    lastError: r.last_error === null ? null : String(r.last_error),
  });

  return {
    enqueue(entries) {
      if (entries.length === 0) return;
      atomically(db, () => {
        for (const e of entries)
          insert.run(e.id, e.target, e.source, e.event, e.body, e.createdAtMs, e.createdAtMs);
      });
    },
    due: (target, nowMs, limit) => due.all(target, nowMs, limit).map(toRow),
    sent: (seq, atMs, attempts) => void finish.run('sent', attempts, atMs, null, seq, 'pending'),
    retry: (seq, attempts, nextAttemptAtMs, error) => void retry.run(attempts, nextAttemptAtMs, error, seq),
    givenUp: (seq, atMs, attempts, error) =>
      void finish.run('given_up', attempts, atMs, error, seq, 'pending'),
    pending: (target) => Number((pending.get(target) as { n: number }).n),
    trim(target, keep, atMs, sending = new Set()) {
      const excess = this.pending(target) - sending.size - keep;
      if (excess <= 0) return 0;
      const rows = waiting
        .all(target)
        .map((r): WaitingRow => ({ seq: Number(r.seq), source: String(r.source), event: String(r.event) }));
      const lastTold = new Map(told.all(target).map((r) => [String(r.source), String(r.event)]));
      return Number(drop.run(atMs, JSON.stringify(dropOrder(rows, excess, sending, lastTold))).changes);
    },
    giveUpUnconfigured(configured, atMs) {
      return atomically(db, () => {
        const given = this.orphaned(configured);
        for (const target of given.keys()) giveUpTarget.run(atMs, target);
        return given;
      });
    },
    orphaned: (configured) =>
      new Map(unconfigured.all(JSON.stringify(configured)).map((r) => [String(r.target), Number(r.n)])),
    retarget: (from, to) => void retarget.run(to, from),
    handOver(from, to, atMs) {
      return atomically(db, () => {
        const before = this.pending(to);
        this.retarget(from, to);
        pendingDueAt.run(atMs, to);
        return this.pending(to) - before;
      });
    },
    lastConfigured() {
      const keys = new Set(configuredKeys.all().map((r) => String(r.key)));
      const byLabel = keys.delete(QUEUES_BY_LABEL);
      return { keys, byLabel };
    },
    recordConfigured(keys) {
      atomically(db, () => {
        forgetConfigured.run();
        for (const key of keys) addConfigured.run(key);
      });
    },
    last(source) {
      const r = last.get(source);
      if (r === undefined) return null;
      const row = toRow(r);
      return {
        id: row.id,
        event: row.event,
        target: row.target,
        createdAtMs: row.createdAtMs,
        status: row.status,
        attempts: row.attempts,
        lastError: row.lastError,
      };
    },
    prune: (beforeMs) => void prune.run(beforeMs),
    trimFinished: (target, keep) => void trimFinished.run(target, target, keep),
  };
}
