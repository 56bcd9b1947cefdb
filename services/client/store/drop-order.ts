/**
 * Which waiting notifications a full queue (NOTIFY_QUEUE_MAX) drops, and in
 * what order: what tells the least about now goes first. Pure: the outbox
 * hands in its target's waiting rows.
 *   1. reminders (the incident they repeat was told);
 *   2. a problem and the `up` that answers it, both waiting: together, so a
 *      receiver never gets the recovery of an outage it was never told of,
 *      and is left where it was, with the sender up;
 *   3. the other problems and the rest (but `up`), oldest first;
 *   4. last, an `up` whose problem was told: dropped, it would leave the
 *      receiver's incident open.
 * A pair goes whole, so one more row than asked may go.
 */

export interface WaitingRow {
  seq: number;
  source: string;
  event: string;
}

/** The events a later `up` of the same sender answers. */
const PROBLEM_EVENTS: ReadonlySet<string> = new Set(['down', 'never_seen', 'late', 'flapping']);

/**
 * The seqs to drop: at least `excess` of `rows` (oldest first, the target's
 * waiting rows) when there are that many, none of those in `sending`.
 */
export function dropOrder(
  rows: readonly WaitingRow[],
  excess: number,
  sending: ReadonlySet<number>,
): number[] {
  const dropped = new Set<number>();
  const droppable = rows.filter((r) => !sending.has(r.seq));
  const take = (r: WaitingRow) => {
    if (dropped.size < excess) dropped.add(r.seq);
  };
  for (const r of droppable) if (r.event === 'reminder') take(r);
  // The row after each, per sender (rows being sent among them: a sender's rows go in order).
  const next = new Map<number, WaitingRow>();
  const lastOf = new Map<string, WaitingRow>();
  for (const r of rows) {
    const before = lastOf.get(r.source);
    if (before !== undefined) next.set(before.seq, r);
    lastOf.set(r.source, r);
  }
  for (const p of droppable) {
    if (dropped.size >= excess) break;
    const answer = next.get(p.seq);
    if (!PROBLEM_EVENTS.has(p.event) || dropped.has(p.seq) || answer?.event !== 'up') continue;
    dropped.add(p.seq);
    dropped.add(answer.seq);
  }
  for (const r of droppable) if (r.event !== 'up') take(r);
  for (const r of droppable) take(r);
  return [...dropped];
}
