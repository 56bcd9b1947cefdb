/**
 * Which waiting notifications a full queue (NOTIFY_QUEUE_MAX) drops, and in
 * what order: what tells the least about now goes first. Pure: the outbox
 * hands in its target's waiting rows, and what the target was last sent of
 * each of their senders.
 *   1. reminders (the incident they repeat was told);
 *   2. an incident the receiver has not heard of and that is over: its
 *      problems (and reminders) and the `up` or `stopped` that ends it, all
 *      together, so the receiver never gets the end of an outage it was not
 *      told of, and is left where it was, with the sender up (or signed off);
 *   3. the other rows oldest first, but the ends of incidents (an `up`, a
 *      `stopped` after a problem);
 *   4. last, those ends: dropped, one would leave its incident open.
 * An incident goes whole, so more rows than asked may go.
 */
import { endsIncident, PROBLEM_EVENTS } from '../../shared/vocabulary.js';

export interface WaitingRow {
  seq: number;
  source: string;
  event: string;
}

/**
 * The seqs to drop: at least `excess` of `rows` (oldest first, the target's
 * waiting rows) when there are that many, none of those in `sending` (which
 * the receiver may have already). `told`: per sender, the event of the last
 * row sent to the target (reminders aside), if any.
 */
export function dropOrder(
  rows: readonly WaitingRow[],
  excess: number,
  sending: ReadonlySet<number>,
  told: ReadonlyMap<string, string>,
): number[] {
  const dropped = new Set<number>();
  const droppable = rows.filter((r) => !sending.has(r.seq));
  const take = (r: WaitingRow) => {
    if (dropped.size < excess) dropped.add(r.seq);
  };
  for (const r of droppable) if (r.event === 'reminder') take(r);
  const { incidents, ends } = incidentsOf(rows, sending, told);
  for (const incident of incidents) {
    if (dropped.size >= excess) break;
    for (const r of incident) dropped.add(r.seq);
  }
  for (const r of droppable) if (!ends.has(r.seq)) take(r);
  for (const r of droppable) take(r);
  return [...dropped];
}

/**
 * Per sender, in the order its rows would be sent: each run of problems
 * that begins where the receiver knows of no problem (its last word an `up`,
 * or nothing) and ends with an `up` or a `stopped`, with the reminders among
 * them; none of them being sent (`incidents`, ordered by their first row).
 * And every row that ends an incident (`ends`): an `up`, or a `stopped`
 * after a problem.
 */
function incidentsOf(
  rows: readonly WaitingRow[],
  sending: ReadonlySet<number>,
  told: ReadonlyMap<string, string>,
): { incidents: WaitingRow[][]; ends: Set<number> } {
  const incidents: WaitingRow[][] = [];
  const ends = new Set<number>();
  /** Per sender: what the receiver will know by the row at hand, and the unheard incident so far. */
  const state = new Map<string, { known: string | null; run: WaitingRow[] | null }>();
  for (const r of rows) {
    let s = state.get(r.source);
    if (s === undefined) {
      s = { known: told.get(r.source) ?? null, run: null };
      state.set(r.source, s);
    }
    const closes = endsIncident(r.event, s.known);
    if (closes) ends.add(r.seq);
    if (sending.has(r.seq)) {
      // On its way: the receiver may have it.
      s.run = null;
      if (r.event !== 'reminder') s.known = r.event;
    } else if (r.event === 'reminder') {
      s.run?.push(r);
    } else if (PROBLEM_EVENTS.has(r.event)) {
      if (s.run !== null) s.run.push(r);
      else if (s.known === null || !PROBLEM_EVENTS.has(s.known)) s.run = [r];
      s.known = r.event;
    } else if (closes && s.run !== null) {
      incidents.push([...s.run, r]);
      s.run = null;
      s.known = r.event;
    } else {
      s.run = null;
      s.known = r.event;
    }
  }
  return { incidents: incidents.sort((a, b) => (a[0]?.seq ?? 0) - (b[0]?.seq ?? 0)), ends };
}
