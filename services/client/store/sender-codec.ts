/**
 * A tracker record <-> a state-file row. The scalars go into a JSON record
 * (validated with zod when read back: the file is a boundary), the three
 * rings (sequence bits, heartbeat bar, uptime buckets) into blobs. A ring
 * stored with another size than configured now (SEQUENCE_WINDOW or the bar
 * length changed) starts afresh instead of being misread. Uptime buckets
 * are read in either layout: 32-bit (schema 3 on) or the 64-bit floats
 * files of schema 1 and 2 hold.
 */
import { z } from 'zod';
import { senderKindSchema, senderStateSchema } from '../../shared/vocabulary.js';
import { clearHeartbeatBar } from '../tracking/heartbeats.js';
import { blankSender, countersOf, type Sender, type SenderShape } from '../tracking/sender.js';
import { startSequence } from '../tracking/sequence.js';
import { BUCKET_MAX_MS, UPTIME_BUCKETS } from '../tracking/uptime.js';
import type { StoredSenderRow } from './state-file.js';

const finite = z.number().refine(Number.isFinite, 'a finite number');
const count = z.number().int().min(0);

const recordSchema = z.object({
  kind: senderKindSchema,
  declaration: z
    .object({ intervalMs: finite, graceMs: finite.nullable(), displayName: z.string().nullable() })
    .nullable(),
  boot: z.string(),
  previousBoots: z.array(z.string()).max(8),
  state: senderStateSchema,
  stateSinceMs: finite,
  reason: z.string(),
  firstSeenMs: finite.nullable(),
  lastSeenMs: finite,
  lastSentMs: finite,
  intervalMs: finite,
  baseDelayMs: finite,
  notBeforeMs: finite,
  // Since 2026-12-06; a row of an older release has none of them.
  listenFloorMs: finite.default(0),
  hiddenUntilMs: finite.default(0),
  hiddenMs: z.number().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  missedMarks: count,
  received: count,
  lost: z.number().int(),
  duplicates: count,
  outOfOrder: count,
  stale: count,
  restarts: count,
  delayLastMs: finite,
  delayMinMs: finite,
  delayMaxMs: finite,
  delayMeanMs: finite,
  delaySamples: count,
  jitterMs: finite,
  lastTransitMs: finite,
  textGapsMs: z.array(finite).max(64).nullable(),
  sequence: z.object({ base: count, highest: count, gap: count }),
  heartbeats: z.object({ next: count, count: count }),
  uptime: z.object({
    minuteHead: z.number().int(),
    hourHead: z.number().int(),
    creditedUntilMs: finite,
    current: z.enum(['available', 'unavailable', 'planned', 'unknown']),
  }),
});
type StoredRecord = z.infer<typeof recordSchema>;

/** Uptime buckets as files of schema 1 and 2 hold them: a Float64Array's bytes. */
const FLOAT64_UPTIME_BYTES = UPTIME_BUCKETS * Float64Array.BYTES_PER_ELEMENT;

const bytesOf = (view: ArrayBufferView) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);

/**
 * The three rings' bytes, copied into one new buffer: one allocation per row
 * (and one buffer for postMessage to clone), not three. The row holds views
 * on it.
 */
function ringBytes(s: Sender): Pick<StoredSenderRow, 'sequence' | 'heartbeats' | 'uptime'> {
  const sequence = bytesOf(s.sequence.words);
  const heartbeats = bytesOf(s.heartbeats.marks);
  const uptime = bytesOf(s.uptime.ms);
  const heartbeatsAt = sequence.byteLength;
  const uptimeAt = heartbeatsAt + heartbeats.byteLength;
  const copy = new Uint8Array(uptimeAt + uptime.byteLength);
  copy.set(sequence, 0);
  copy.set(heartbeats, heartbeatsAt);
  copy.set(uptime, uptimeAt);
  return {
    sequence: copy.subarray(0, heartbeatsAt),
    heartbeats: copy.subarray(heartbeatsAt, uptimeAt),
    uptime: copy.subarray(uptimeAt),
  };
}

export function toRow(s: Sender): StoredSenderRow {
  const record: StoredRecord = {
    kind: s.kind,
    declaration: s.declaration,
    boot: s.boot,
    previousBoots: s.previousBoots,
    state: s.state,
    stateSinceMs: s.stateSinceMs,
    reason: s.reason,
    firstSeenMs: s.firstSeenMs,
    lastSeenMs: s.lastSeenMs,
    lastSentMs: s.lastSentMs,
    intervalMs: s.intervalMs,
    baseDelayMs: s.baseDelayMs,
    notBeforeMs: s.notBeforeMs,
    listenFloorMs: s.listenFloorMs,
    hiddenUntilMs: s.hiddenUntilMs,
    hiddenMs: s.hiddenMs,
    missedMarks: s.missedMarks,
    ...countersOf(s),
    delayLastMs: s.delayLastMs,
    delayMinMs: s.delayMinMs,
    delayMaxMs: s.delayMaxMs,
    delayMeanMs: s.delayMeanMs,
    delaySamples: s.delaySamples,
    jitterMs: s.jitterMs,
    lastTransitMs: s.lastTransitMs,
    textGapsMs: s.textGapsMs,
    sequence: { base: s.sequence.base, highest: s.sequence.highest, gap: s.sequence.gap },
    heartbeats: { next: s.heartbeats.next, count: s.heartbeats.count },
    uptime: {
      minuteHead: s.uptime.minuteHead,
      hourHead: s.uptime.hourHead,
      creditedUntilMs: s.uptime.creditedUntilMs,
      current: s.uptime.current,
    },
  };
  return {
    source: s.source,
    record: JSON.stringify(record),
    ...ringBytes(s),
  };
}

/** A row back into a record; throws an Error naming the source and the field when the row is not one. */
export function fromRow(row: StoredSenderRow, shape: SenderShape): Sender {
  let json: unknown;
  try {
    json = JSON.parse(row.record);
  } catch {
    throw new Error(`sender ${JSON.stringify(row.source)}: its record is not JSON`);
  }
  const parsed = recordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`sender ${JSON.stringify(row.source)}: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const r = parsed.data;
  const s = blankSender(row.source, r.kind, r.state, r.reason, r.stateSinceMs, shape);
  const { sequence, heartbeats, uptime, previousBoots, ...scalars } = r;
  // Maintenance is not stored: the silences are, and they are applied again at start.
  Object.assign(s, scalars);
  s.previousBoots.push(...previousBoots);

  if (row.sequence.byteLength === s.sequence.words.byteLength) {
    bytesOf(s.sequence.words).set(row.sequence);
    Object.assign(s.sequence, sequence);
  } else if (r.firstSeenMs !== null && r.kind === 'protocol') {
    startSequence(s.sequence, sequence.highest);
  }
  if (
    row.heartbeats.byteLength === s.heartbeats.marks.byteLength &&
    heartbeats.next < row.heartbeats.byteLength
  ) {
    s.heartbeats.marks.set(row.heartbeats);
    Object.assign(s.heartbeats, {
      next: heartbeats.next,
      count: Math.min(heartbeats.count, row.heartbeats.byteLength),
    });
  } else {
    clearHeartbeatBar(s.heartbeats);
  }
  readUptimeBuckets(row, s.uptime.ms);
  Object.assign(s.uptime, uptime);
  return s;
}

/** A row's uptime buckets into `into`, from either layout; throws naming the source when they are neither. */
function readUptimeBuckets(row: StoredSenderRow, into: Uint32Array): void {
  const bad = (what: string) => new Error(`sender ${JSON.stringify(row.source)}: uptime buckets ${what}`);
  if (row.uptime.byteLength === into.byteLength) {
    bytesOf(into).set(row.uptime);
    return;
  }
  if (row.uptime.byteLength !== FLOAT64_UPTIME_BYTES) throw bad(`of ${row.uptime.byteLength} bytes`);
  // Copied first: a blob's bytes need not start on an 8-byte boundary.
  const floats = new Float64Array(Uint8Array.from(row.uptime).buffer);
  for (let i = 0; i < floats.length; i++) {
    const ms = floats[i] as number;
    if (!(ms >= 0 && ms <= BUCKET_MAX_MS)) throw bad(`hold ${ms} ms in one bucket`);
    into[i] = Math.round(ms);
  }
}
