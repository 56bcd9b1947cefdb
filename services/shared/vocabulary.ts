/**
 * The monitor's closed sets, each declared once as a zod enum: the tracker,
 * the API schemas, the log schema, the metrics and the page all take them
 * from here (the browser script gets them from the page it is served with).
 */
import { z } from 'zod';
import { REJECT_REASONS, type RejectReason } from './protocol.js';

/**
 * A sender's liveness. `pending`: declared, not heard from yet (it turns
 * `down` with reason `never_seen` if it does not show up in time).
 */
export const senderStateSchema = z.enum(['pending', 'up', 'late', 'down', 'stopped']);
export type SenderState = z.infer<typeof senderStateSchema>;
export const SENDER_STATES: readonly SenderState[] = senderStateSchema.options;

/** Problems first: the order in which the page and views list senders. */
export const STATE_URGENCY: Readonly<Record<SenderState, number>> = {
  down: 0,
  late: 1,
  pending: 2,
  stopped: 3,
  up: 4,
};

/** How a sender speaks: the JSON protocol (keyed by its `source`), or plain text (keyed by its address). */
export const senderKindSchema = z.enum(['protocol', 'text']);
export type SenderKind = z.infer<typeof senderKindSchema>;

/** What one received datagram was. */
export const receivedKindSchema = z.enum(['beat', 'bye', 'text', 'rejected']);
export type ReceivedKind = z.infer<typeof receivedKindSchema>;

/** A slot of a sender's heartbeat bar. */
export const heartbeatMarkSchema = z.enum(['received', 'late', 'missed', 'restart']);
export type HeartbeatMark = z.infer<typeof heartbeatMarkSchema>;

/**
 * Why the monitor logged an `exception` event (a datagram it rejected, or a
 * socket error). Plain text (the decoder's `not_json`) is no exception: it
 * is a plain-text sender's datagram.
 */
export const clientExceptionReasonSchema = z.enum([
  ...REJECT_REASONS.filter((r): r is Exclude<RejectReason, 'not_json'> => r !== 'not_json'),
  'replay',
  'clock_skew',
  'not_allowed',
  'undeclared',
  'self',
  'socket_error',
  'kernel_discarded',
]);
export type ClientExceptionReason = z.infer<typeof clientExceptionReasonSchema>;

/**
 * What a notification says happened: a transition, or `flapping`, or a
 * `reminder` while down; or `test`, one an operator asked for to see that
 * the targets get through (POST /api/notifications/test).
 */
export const notifyEventSchema = z.enum([
  'down',
  'never_seen',
  'up',
  'late',
  'stopped',
  'flapping',
  'reminder',
  'test',
]);
export type NotifyEvent = z.infer<typeof notifyEventSchema>;
/** The transitions NOTIFY_ON may list. */
export const notifyOnEventSchema = notifyEventSchema.extract(['down', 'never_seen', 'up', 'late', 'stopped']);
export type NotifyOnEvent = z.infer<typeof notifyOnEventSchema>;
/** What a sender's notification may be: every event but an operator's `test`. */
export const senderNotifyEventSchema = notifyEventSchema.exclude(['test']);
export type SenderNotifyEvent = z.infer<typeof senderNotifyEventSchema>;
/** The notifications that open (or go on with) an incident: a later `up` answers them. */
export const PROBLEM_EVENTS: ReadonlySet<string> = new Set<NotifyEvent>([
  'down',
  'never_seen',
  'late',
  'flapping',
]);
/** The notifications that tell a sender down: a `late` of the same incident says less. */
export const DOWN_EVENTS: ReadonlySet<string> = new Set<NotifyEvent>(['down', 'never_seen']);

/**
 * Whether `event`, told after `before` (what was last told of the sender;
 * null: nothing), ends an incident: an `up`, or a `stopped` after a problem.
 */
export function endsIncident(event: string, before: string | null): boolean {
  return event === 'up' || (event === 'stopped' && before !== null && PROBLEM_EVENTS.has(before));
}

/** Why the beacon logged an `exception` event. */
export const serverExceptionReasonSchema = z.enum(['dns_error', 'send_error', 'socket_error']);
export type ServerExceptionReason = z.infer<typeof serverExceptionReasonSchema>;

/**
 * Why a sender was forgotten (an `evict` event): MAX_SENDERS made room, an
 * operator forgot it, the state file held it under an id no longer valid,
 * UNDECLARED_SENDERS=ignore refuses its datagrams (so it could never beat
 * again), or it was taken off the declared senders before it was heard from.
 */
export const evictReasonSchema = z.enum(['max_senders', 'forgotten', 'invalid_id', 'undeclared', 'unlisted']);
export type EvictReason = z.infer<typeof evictReasonSchema>;
