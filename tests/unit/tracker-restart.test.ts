import { describe, expect, it } from 'vitest';
import { fromRow, toRow } from '../../services/client/store/sender-codec.js';
import { createTracker, type Tracker, type TrackerOptions } from '../../services/client/tracking/tracker.js';
import { declaredSender, T0, TRACKER_OPTIONS, takeDirtyLists, trackedBeat } from '../support/builders.js';

const OPTIONS: TrackerOptions = TRACKER_OPTIONS;
const SHAPE = { sequenceWindow: OPTIONS.sequenceWindow, heartbeatSlots: OPTIONS.heartbeatSlots };

/**
 * What the state file hands the next run after a clean stop at lastAliveMs
 * (every record written then, through the codec, knowing all the monitor had
 * heard), listening at `listenMs` (null: the test calls listening() itself).
 */
function restarted(
  before: Tracker,
  monitorStartMs: number,
  lastAliveMs: number,
  listenMs: number | null = monitorStartMs,
): Tracker {
  const after = createTracker(OPTIONS);
  const stored = [...before.all()].map((s) => fromRow(toRow(s), SHAPE));
  const recordedUntilMs = new Map(stored.map((s) => [s.source, lastAliveMs]));
  after.restore(stored, { monitorStartMs, lastAliveMs, recordedUntilMs });
  if (listenMs !== null) after.listening(listenMs);
  return after;
}

const changes = (t: Tracker, nowMs: number) =>
  t.tick(nowMs).map((c) => `${c.source}:${c.from}->${c.to}:${c.reason}@${c.atMs - T0}`);

describe('tracker: a monitor restart', () => {
  it('brings every sender back with its state and counters', () => {
    const before = createTracker(OPTIONS);
    for (let seq = 0; seq <= 10; seq++) if (seq !== 4) before.observe(trackedBeat({ seq }));
    before.observe(trackedBeat({ source: 'b', seq: 3 }));
    before.observe(trackedBeat({ source: 'b', seq: 4, kind: 'bye' }));
    const after = restarted(before, T0 + 60_000, T0 + 11_000);
    const a = after.view('a', T0 + 60_000);
    expect(a).toMatchObject({ state: 'up', received: 10, lost: 1, lastSeq: 10, boot: 'b1' });
    expect(after.view('b', T0 + 60_000)).toMatchObject({ state: 'stopped', reason: 'bye' });
    expect(after.stateCounts()).toMatchObject({ up: 1, stopped: 1 });
    // The sequence ring came back too: a duplicate of seq 10 is a duplicate.
    expect(after.observe(trackedBeat({ seq: 10, receivedAtMs: T0 + 60_001 })).duplicate).toBe(true);
  });

  it('a stopped timeout that ran out while the monitor was away: down no earlier than start + interval + grace', () => {
    const options = { ...OPTIONS, stoppedTimeoutMs: 60_000 };
    const before = createTracker(options);
    before.observe(trackedBeat({ seq: 0 }));
    before.observe(trackedBeat({ seq: 1, kind: 'bye' })); // stopped at T0 + 1000
    const after = createTracker(options);
    after.restore(
      [...before.all()].map((s) => fromRow(toRow(s), SHAPE)),
      { monitorStartMs: T0 + 600_000, lastAliveMs: T0 + 2000 },
    );
    after.listening(T0 + 600_000);
    // It may have come back while the monitor was away: its beat has until start + 1 s + 1 s of grace to show.
    expect(changes(after, T0 + 601_999)).toEqual([]);
    expect(changes(after, T0 + 602_000)).toEqual(['a:stopped->down:not_back@602000']);
  });

  it('marks nobody down at start: the first deadline is start + interval + grace, down 2 intervals later', () => {
    const before = createTracker(OPTIONS);
    before.observe(trackedBeat({ seq: 0 })); // 1 s interval, grace 1 s; its own deadline passed long ago
    const start = T0 + 600_000;
    const after = restarted(before, start, T0 + 500);
    expect(changes(after, start)).toEqual([]);
    expect(changes(after, start + 1999)).toEqual([]);
    expect(changes(after, start + 2000)).toEqual([`a:up->late:no_beat@${600_000 + 2000}`]);
    expect(changes(after, start + 3999)).toEqual([]);
    expect(changes(after, start + 4000)).toEqual([`a:late->down:missed_3@${600_000 + 4000}`]);
  });

  it('takes the first deadline from when the socket is bound, however long loading the file took', () => {
    const before = createTracker(OPTIONS);
    before.observe(trackedBeat({ seq: 0 })); // 1 s interval, grace 1 s
    const start = T0 + 600_000;
    const after = restarted(before, start, T0 + 500, null);
    // Loading took 3 s: listening from start + 3 s, the first deadline is 2 s after that.
    after.listening(start + 3000);
    expect(changes(after, start + 4999)).toEqual([]);
    expect(changes(after, start + 5000)).toEqual([`a:up->late:no_beat@${600_000 + 5000}`]);
    // The beats it sent until the monitor listened (seq 1 to 603) are not charged as lost either.
    const back = after.observe(trackedBeat({ seq: 604, receivedAtMs: start + 5001 }));
    expect(back.lostDelta).toBe(0);
  });

  it('judges a restored sender by its declared interval as it is now, not as the stored floor had it', () => {
    const before = createTracker(OPTIONS);
    before.declare([declaredSender('a', 3_600_000)], T0);
    before.observe(trackedBeat({ seq: 0, intervalMs: 3_600_000 })); // its last beat
    const start = T0 + 10_000;
    const after = restarted(before, start, start - 1000, null);
    // The operator now declares 10 s (grace 5 s): its beat due at +10 s fell in the monitor's absence, and
    // it is late at listening + 15 s; down once the beats due at +20, +30 and +40 s are missed, + grace.
    after.declare([declaredSender('a', 10_000)], start);
    after.listening(start + 500);
    expect(changes(after, start + 15_499)).toEqual([]);
    expect(changes(after, start + 15_500)).toEqual([`a:up->late:no_beat@${10_000 + 15_500}`]);
    expect(changes(after, start + 34_999)).toEqual([]);
    expect(changes(after, start + 35_000)).toEqual([`a:late->down:missed_3@${10_000 + 35_000}`]);
  });

  it('gives a declared sender new to the file its interval + grace from when the socket is bound', () => {
    const before = createTracker(OPTIONS);
    before.declare([declaredSender('old', 1000)], T0);
    const start = T0 + 100_000;
    const after = restarted(before, start, T0 + 1000, null);
    after.declare([declaredSender('old', 1000), declaredSender('new', 1000)], start);
    // Loading 50,000 senders and binding took 3 s: neither is down before listening + 1 s + 1 s.
    after.listening(start + 3000);
    expect(changes(after, start + 4999)).toEqual([]);
    expect(changes(after, start + 5000).sort()).toEqual([
      `new:pending->down:never_seen@${100_000 + 5000}`,
      `old:pending->down:never_seen@${100_000 + 5000}`,
    ]);
  });

  it('keeps the beats a restart hid as time: a declaration changed at a later start does not scale them', () => {
    const minute = 60_000;
    const before = createTracker(OPTIONS);
    before.declare([declaredSender('a', minute)], T0);
    before.observe(trackedBeat({ seq: 0, intervalMs: minute })); // its last beat
    // Away from +4 s to +10 min: its beats due at 1 to 10 min were hidden (10 min), its floor 11.5 min.
    const first = restarted(before, T0 + 10 * minute, T0 + 4000, null);
    first.declare([declaredSender('a', minute)], T0 + 10 * minute);
    first.listening(T0 + 10 * minute);
    // Stopped cleanly at 10 min 50 s, started again with a declared interval of 1 h (grace 30 min).
    const second = restarted(first, T0 + 650_000, T0 + 650_000, null);
    second.declare([declaredSender('a', 60 * minute)], T0 + 650_000);
    second.listening(T0 + 650_000);
    // Late at its floor (listening + 1 h + 30 min); down 2 intervals after its last beat + 1 h + 30 min +
    // the 10 min hidden: at 3 h 40 min (as ten hidden beats of 1 h, at 11 h 30 min).
    expect(changes(second, T0 + 650_000 + 90 * minute)).toEqual([
      `a:up->late:no_beat@${650_000 + 90 * minute}`,
    ]);
    expect(changes(second, T0 + 220 * minute - 1)).toEqual([]);
    expect(changes(second, T0 + 220 * minute)).toEqual([`a:late->down:missed_3@${220 * minute}`]);
  });

  it("keeps the restart's floor where it is later than the sender's own deadline, and lets a beat after the restart clear it", () => {
    const before = createTracker(OPTIONS);
    before.observe(trackedBeat({ seq: 0, intervalMs: 60_000 })); // late at T0 + 90 s
    const after = restarted(before, T0 + 5000, T0 + 4000); // floor: T0 + 5 s + 60 s + 30 s
    expect(changes(after, T0 + 94_999)).toEqual([]);
    expect(changes(after, T0 + 95_000)).toEqual(['a:up->late:no_beat@95000']);
    const back = after.observe(trackedBeat({ seq: 1, intervalMs: 60_000, sentAtMs: T0 + 96_000 }));
    expect(back.changes.map((c) => `${c.from}->${c.to}`)).toEqual(['late->up']);
    expect(changes(after, T0 + 96_000 + 90_000)).toEqual([`a:up->late:no_beat@${96_000 + 90_000}`]);
  });

  it('does not hide a sender that was down: it stays down, with no new change', () => {
    const before = createTracker(OPTIONS);
    before.observe(trackedBeat({ seq: 0 }));
    expect(changes(before, T0 + 10_000)).toEqual(['a:up->down:missed_3@4000']);
    const after = restarted(before, T0 + 20_000, T0 + 10_000);
    expect(after.view('a', T0 + 20_000)).toMatchObject({ state: 'down', reason: 'missed_3' });
    expect(changes(after, T0 + 60_000)).toEqual([]);
  });

  it('says when a restored sender not heard yet will have shown itself if it lives: the bind + interval + grace', () => {
    const before = createTracker(OPTIONS);
    before.observe(trackedBeat({ seq: 0 })); // 1 s interval, grace 1 s
    expect(changes(before, T0 + 10_000)).toEqual(['a:up->down:missed_3@4000']);
    const start = T0 + 600_000;
    const after = restarted(before, start, T0 + 10_000, null);
    // Before the socket is bound, nobody can have shown: no time yet.
    expect(after.showsByMs('a')).toBe(Number.POSITIVE_INFINITY);
    after.listening(start + 3000);
    expect(after.showsByMs('a')).toBe(start + 3000 + 2000);
    // Heard: what the run sees of it is its own.
    after.observe(trackedBeat({ seq: 1, sentAtMs: start + 3500, receivedAtMs: start + 3500 }));
    expect(after.showsByMs('a')).toBeNull();
    expect(after.showsByMs('never-tracked')).toBeNull();
  });

  it('moves that time on past a blind time of the monitor: a beat then may be among what it lost', () => {
    const before = createTracker(OPTIONS);
    before.observe(trackedBeat({ seq: 0 }));
    expect(changes(before, T0 + 10_000)).toEqual(['a:up->down:missed_3@4000']);
    const start = T0 + 600_000;
    const after = restarted(before, start, T0 + 10_000);
    after.blind(start + 500, start + 1500);
    expect(after.showsByMs('a')).toBe(start + 1500 + 2000);
  });

  it('charges no loss for the beats sent while the monitor itself was away, but does for later ones', () => {
    const before = createTracker(OPTIONS);
    for (let seq = 0; seq <= 5; seq++) before.observe(trackedBeat({ seq }));
    // The monitor is away from +5.5 s to +15.5 s: beats 6..15 fall into its absence.
    const after = restarted(before, T0 + 15_500, T0 + 5500);
    const first = after.observe(trackedBeat({ seq: 16 }));
    expect(first.lostDelta).toBe(0);
    const next = after.observe(trackedBeat({ seq: 19 }));
    expect(next.lostDelta).toBe(2);
    expect(after.view('a', T0 + 19_000)).toMatchObject({ lost: 2, received: 8 });
  });

  it('has the state file write a sender put under a silence or taken out of one: its uptime counts planned time', () => {
    const tracker = createTracker(OPTIONS);
    tracker.observe(trackedBeat({ seq: 0, intervalMs: 600_000 }));
    tracker.tick(T0 + 3_000_000);
    tracker.tick(T0 + 3_000_000);
    expect(tracker.view('a', T0 + 3_000_000)?.state).toBe('down');
    takeDirtyLists(tracker); // written: down, and nothing else changes it for a while
    // A restart credits the time until the last write by the availability stored: it must be the planned one.
    tracker.setMaintenance('a', true, T0 + 3_000_000);
    expect(takeDirtyLists(tracker).changed.map((s) => s.source)).toEqual(['a']);
    tracker.setMaintenance('a', false, T0 + 3_600_000);
    expect(takeDirtyLists(tracker).changed.map((s) => s.source)).toEqual(['a']);
  });

  it('counts the time a start takes to load, before its socket is bound, as unobserved', () => {
    const before = createTracker(OPTIONS);
    for (let seq = 0; seq <= 9; seq++) before.observe(trackedBeat({ seq }));
    before.tick(T0 + 20_000); // down by then
    const start = T0 + 20_000;
    const after = restarted(before, start, start, null);
    expect(after.view('a', start)?.state).toBe('down');
    const atStart = after.view('a', start)?.uptime.h1;
    // 30 s to read the file: neither up nor down, whatever its stored state.
    after.listening(start + 30_000);
    expect(after.view('a', start + 30_000)?.uptime.h1).toBe(atStart);
    // From then on, observed as its state says.
    expect(after.view('a', start + 60_000)?.uptime.h1).toBeLessThan(atStart as number);
  });

  it("counts the monitor's own absence as unknown: neither up nor down in the uptime", () => {
    const before = createTracker(OPTIONS);
    // Up for 30 s, beating every second; the monitor was last alive at +30 s and back at +50 s.
    for (let seq = 0; seq <= 30; seq++) before.observe(trackedBeat({ seq }));
    before.tick(T0 + 30_000);
    const after = restarted(before, T0 + 50_000, T0 + 30_000);
    for (let seq = 50; seq <= 59; seq++) after.observe(trackedBeat({ seq }));
    after.tick(T0 + 59_000);
    // 39 s observed up, the 20 s gap left out: 100 %, where counting it down would give 66 %.
    expect(after.view('a', T0 + 59_000)?.uptime.h1).toBe(100);
  });
});

describe('tracker: declared senders', () => {
  it('lists a declared sender as pending, then down (never_seen) at start + interval + grace', () => {
    const t = createTracker(OPTIONS);
    t.declare([declaredSender('billing', 30_000, { displayName: 'Billing' })], T0);
    expect(t.view('billing', T0)).toMatchObject({
      state: 'pending',
      declared: true,
      displayName: 'Billing',
      firstSeenMs: null,
      lastSeenMs: null,
      lastSeq: null,
      boot: null,
      intervalMs: 30_000,
      expectedAtMs: T0 + 30_000,
    });
    expect(t.stateCounts()).toMatchObject({ pending: 1 });
    expect(changes(t, T0 + 44_999)).toEqual([]);
    expect(changes(t, T0 + 45_000)).toEqual(['billing:pending->down:never_seen@45000']);
  });

  it('goes up on its first beat, from pending or from down', () => {
    const t = createTracker(OPTIONS);
    t.declare([declaredSender('a', 1000), declaredSender('b', 1000, { graceMs: 0 })], T0 - 5000);
    const first = t.observe(trackedBeat({ seq: 7 }));
    expect(first.changes.map((c) => [c.from, c.to, c.reason])).toEqual([['pending', 'up', 'first_beat']]);
    expect(changes(t, T0)).toEqual([`b:pending->down:never_seen@-4000`]);
    const late = t.observe(trackedBeat({ source: 'b', seq: 0 }));
    expect(late.changes.map((c) => [c.from, c.to, c.reason])).toEqual([['down', 'up', 'first_beat']]);
    expect(t.view('b', T0)).toMatchObject({ received: 1, lastSeq: 0, boot: 'b1', declared: true });
  });

  it('judges by the declared interval and grace, not the announced one', () => {
    const t = createTracker(OPTIONS);
    t.declare([declaredSender('a', 10_000, { graceMs: 2000 })], T0);
    t.observe(trackedBeat({ seq: 0, intervalMs: 1000 }));
    expect(changes(t, T0 + 11_999)).toEqual([]);
    expect(changes(t, T0 + 12_000)).toEqual(['a:up->late:no_beat@12000']);
  });

  it('never evicts a declared sender, and makes room with undeclared ones', () => {
    const t = createTracker({ ...OPTIONS, maxSenders: 2 });
    t.declare([declaredSender('d', 1000)], T0);
    t.observe(trackedBeat({ source: 'x' }));
    const o = t.observe(trackedBeat({ source: 'y', seq: 1 }));
    expect(o.evicted).toBe('x');
    expect([...t.all()].map((s) => s.source).sort()).toEqual(['d', 'y']);
  });

  it('lets go, and says so, of the undeclared sender a new declaration makes room with in a full tracker', () => {
    const t = createTracker({ ...OPTIONS, maxSenders: 2 });
    t.observe(trackedBeat({ source: 'x' }));
    t.observe(trackedBeat({ source: 'y', receivedAtMs: T0 + 1000, sentAtMs: T0 + 1000 }));
    expect(t.declare([declaredSender('d', 1000)], T0 + 2000)).toEqual([
      { source: 'x', reason: 'max_senders' },
    ]);
    expect([...t.all()].map((s) => s.source).sort()).toEqual(['d', 'y']);
  });

  it('never evicts for a new declaration a known sender the same list declares, wherever the list names it', () => {
    const t = createTracker({ ...OPTIONS, maxSenders: 2 });
    // x, the longest silent, is known but not declared yet; the list declares it after a new one.
    t.observe(trackedBeat({ source: 'x' }));
    t.observe(trackedBeat({ source: 'y', receivedAtMs: T0 + 1000, sentAtMs: T0 + 1000 }));
    const letGo = t.declare([declaredSender('d', 1000), declaredSender('x', 1000)], T0 + 2000);
    expect(letGo).toEqual([{ source: 'y', reason: 'max_senders' }]);
    expect(t.view('x', T0 + 2000)).toMatchObject({ state: 'up', received: 1 });
    expect([...t.all()].map((s) => s.source).sort()).toEqual(['d', 'x']);
  });

  it('after a restart: a no-longer-declared sender never seen is forgotten, one still declared stays down', () => {
    const before = createTracker(OPTIONS);
    before.declare([declaredSender('gone', 1000), declaredSender('ghost', 1000)], T0);
    before.tick(T0 + 5000);
    expect(before.view('ghost', T0 + 5000)?.state).toBe('down');
    const after = restarted(before, T0 + 10_000, T0 + 9000);
    after.declare([declaredSender('ghost', 1000)], T0 + 10_000);
    expect(after.view('gone', T0 + 10_000)).toBeUndefined();
    expect(takeDirtyLists(after).removed).toEqual(['gone']);
    expect(after.view('ghost', T0 + 10_000)).toMatchObject({ state: 'down', reason: 'never_seen' });
    expect(changes(after, T0 + 60_000)).toEqual([]);
  });
});

describe('tracker: plain-text senders', () => {
  it('are keyed by address, infer their interval from the median of 3 gaps, then go late and down', () => {
    const t = createTracker(OPTIONS);
    const first = t.observeText('10.0.0.5', T0);
    expect(first.changes.map((c) => [c.from, c.to, c.reason])).toEqual([[null, 'up', 'first_beat']]);
    expect(t.view('10.0.0.5', T0)).toMatchObject({
      kind: 'text',
      intervalMs: null,
      boot: null,
      lastSeq: null,
    });
    t.observeText('10.0.0.5', T0 + 60_000);
    t.observeText('10.0.0.5', T0 + 120_500);
    expect(t.view('10.0.0.5', T0 + 120_500)?.intervalMs).toBeNull();
    // No interval yet: no deadline, however long the silence.
    expect(changes(t, T0 + 10 * 60_000)).toEqual([]);
    t.observeText('10.0.0.5', T0 + 180_000);
    expect(t.view('10.0.0.5', T0 + 180_000)).toMatchObject({ intervalMs: 60_000, received: 4, lost: 0 });
    // Late at the last arrival + 60 s + 30 s grace, down two intervals later.
    expect(changes(t, T0 + 269_999)).toEqual([]);
    expect(changes(t, T0 + 270_000)).toEqual(['10.0.0.5:up->late:no_beat@270000']);
    expect(changes(t, T0 + 390_000)).toEqual(['10.0.0.5:late->down:missed_3@390000']);
  });

  it('go on as one sender when protocol datagrams come under the same key: no change invented, counts kept', () => {
    const t = createTracker(OPTIONS);
    const key = '10.0.0.5';
    t.observeText(key, T0);
    t.observeText(key, T0 + 1000);
    const beat = (seq: number, atMs: number) =>
      t.observe(trackedBeat({ source: key, seq, sentAtMs: atMs, receivedAtMs: atMs }));
    expect(beat(0, T0 + 1500).changes).toEqual([]);
    expect(t.observeText(key, T0 + 2000).changes).toEqual([]);
    expect(beat(1, T0 + 2500).changes).toEqual([]);
    expect(t.view(key, T0 + 2500)).toMatchObject({
      state: 'up',
      received: 5,
      firstSeenMs: T0,
    });
    // Down meanwhile: a protocol beat brings it up, as any beat does.
    t.tick(T0 + 60_000);
    expect(t.view(key, T0 + 60_000)?.state).toBe('down');
    expect(beat(2, T0 + 61_000).changes.map((c) => `${c.from}->${c.to}:${c.reason}`)).toEqual([
      'down->up:beat',
    ]);
  });

  it.each([0, 5, 49])(
    'take datagrams %i ms after a beat as part of it: a sender of two per period keeps its period, and goes down when it stops',
    (apartMs) => {
      const t = createTracker(OPTIONS);
      const key = '10.0.0.7';
      const seen: string[] = [];
      for (let k = 0; k < 5; k++) {
        for (const atMs of [T0 + k * 60_000, T0 + k * 60_000 + apartMs]) {
          for (const c of t.observeText(key, atMs).changes) seen.push(`${c.from}->${c.to}`);
        }
        for (const c of t.tick(T0 + k * 60_000 + 30_000)) seen.push(`${c.from}->${c.to}`);
      }
      expect(seen).toEqual(['null->up']);
      expect(t.view(key, T0 + 240_000)).toMatchObject({ intervalMs: 60_000, received: 10, lost: 0 });
      // Silent from T0 + 240 s: late at + 60 s + 30 s grace, down two intervals later.
      expect(changes(t, T0 + 3_600_000)).toEqual([`${key}:up->down:missed_3@450000`]);
    },
  );

  it('time a key back from the protocol to text on the monitor clock, whatever the sender clock said', () => {
    const t = createTracker(OPTIONS);
    const key = '10.0.0.9';
    // Heard through the protocol, its clock 2 min ahead; then as plain text, once a minute.
    t.observe(
      trackedBeat({ source: key, seq: 0, sentAtMs: T0 + 120_000, receivedAtMs: T0, intervalMs: 60_000 }),
    );
    for (const k of [1, 2, 3]) expect(t.observeText(key, T0 + k * 60_000).lostDelta).toBe(0);
    // Three gaps of a minute each (none taken for a burst by a gap measured from the sender's clock).
    expect(t.view(key, T0 + 180_000)).toMatchObject({ received: 4, intervalMs: 60_000 });
  });

  it('holds a key that goes on as plain text after a restart to what the restart hid: no down invented', () => {
    const before = createTracker(OPTIONS);
    const key = '10.0.0.9';
    before.observe(trackedBeat({ source: key, seq: 0, receivedAtMs: T0, sentAtMs: T0, intervalMs: 60_000 }));
    // Away from +4 s to +10 min: its beats due at 1 to 10 min hidden; late no earlier than +11.5 min.
    const after = restarted(before, T0 + 600_000, T0 + 4000);
    expect(after.tick(T0 + 640_000)).toEqual([]);
    // Its first datagram since is plain text, within the time the restart gave it.
    const text = after.observeText(key, T0 + 650_000);
    expect(text.changes).toEqual([]);
    expect(after.view(key, T0 + 650_000)).toMatchObject({ state: 'up', kind: 'text' });
  });

  it('counts the intervals a gap covers as lost, and comes back up', () => {
    const t = createTracker(OPTIONS);
    t.declare(
      [{ source: '10.0.0.6', kind: 'text', intervalMs: 1000, graceMs: null, displayName: 'legacy' }],
      T0,
    );
    expect(t.view('10.0.0.6', T0)).toMatchObject({ state: 'pending', kind: 'text', displayName: 'legacy' });
    t.observeText('10.0.0.6', T0 + 500);
    t.observeText('10.0.0.6', T0 + 1500);
    const back = t.observeText('10.0.0.6', T0 + 6500); // 4 beats missed
    expect(back.lostDelta).toBe(4);
    expect(back.changes.map((c) => `${c.from}->${c.to}`)).toEqual(['up->down', 'down->up']);
    expect(t.view('10.0.0.6', T0 + 6500)).toMatchObject({ state: 'up', lost: 4, received: 3 });
  });
});

describe('tracker: what a record encoded now may not know', () => {
  it('is a blind time some sender has not taken in yet: from its start, until a liveness pass took it to every sender', () => {
    const tracker = createTracker(OPTIONS);
    tracker.observe(trackedBeat({ seq: 0 }));
    tracker.observe(trackedBeat({ source: 'b', seq: 0 }));
    expect(tracker.blindSinceMs()).toBe(Number.POSITIVE_INFINITY);
    tracker.blind(T0 + 500, T0 + 900);
    tracker.blind(T0 + 200, T0 + 1000);
    expect(tracker.blindSinceMs()).toBe(T0 + 200);
    tracker.tick(T0 + 1000);
    expect(tracker.blindSinceMs()).toBe(Number.POSITIVE_INFINITY);
  });

  it('has a silent sender whose floor a blind time moved written again: the watermark passes the blind time once it is', () => {
    const tracker = createTracker(OPTIONS);
    tracker.observe(trackedBeat({ seq: 0 }));
    takeDirtyLists(tracker);
    tracker.tick(T0 + 500); // nothing due: nothing changed
    expect(takeDirtyLists(tracker).changed).toEqual([]);
    tracker.blind(T0 + 600, T0 + 1500);
    tracker.tick(T0 + 1500);
    expect(takeDirtyLists(tracker).changed.map((s) => [s.source, s.notBeforeMs - T0])).toEqual([['a', 3500]]);
  });
});
