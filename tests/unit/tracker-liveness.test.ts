import { describe, expect, it } from 'vitest';
import {
  type Beat,
  createTracker,
  type Tracker,
  type TrackerOptions,
} from '../../services/client/tracking/tracker.js';
import { T0, TRACKER_OPTIONS, trackedBeat } from '../support/builders.js';

const OPTIONS: TrackerOptions = TRACKER_OPTIONS;

/** Beat `seq` of sender 'a', boot 'b1', every second from T0, received at once (synchronised clocks). */
function beat(seq: number, over: Partial<Beat> = {}): Beat {
  return trackedBeat({ seq, ...over });
}

function observe(tracker: Tracker, b: Beat) {
  return [...tracker.observe(b).changes];
}

function state(tracker: Tracker, nowMs: number) {
  return tracker.view('a', nowMs)?.state;
}

function bar(tracker: Tracker, nowMs = T0) {
  return tracker.view('a', nowMs)?.heartbeats;
}

const change = (from: string | null, to: string, reason: string, atMs: number) => ({
  source: 'a',
  from,
  to,
  reason,
  atMs,
});

describe('tracker: liveness thresholds', () => {
  it('1 s interval, default grace 1 s: late at expected + 1 s, down 2 intervals later', () => {
    const tracker = createTracker(OPTIONS);
    expect(observe(tracker, beat(0))).toEqual([change(null, 'up', 'first_beat', T0)]);
    expect(tracker.view('a', T0)?.expectedAtMs).toBe(T0 + 1000);
    // late: expected T0 + 1000, + grace 1000
    expect(tracker.tick(T0 + 1999)).toEqual([]);
    expect(state(tracker, T0 + 1999)).toBe('up');
    expect(tracker.tick(T0 + 2000)).toEqual([change('up', 'late', 'no_beat', T0 + 2000)]);
    expect(tracker.tick(T0 + 2000)).toEqual([]);
    // down: + (3 - 1) * 1000
    expect(tracker.tick(T0 + 3999)).toEqual([]);
    expect(state(tracker, T0 + 3999)).toBe('late');
    expect(tracker.tick(T0 + 4000)).toEqual([change('late', 'down', 'missed_3', T0 + 4000)]);
    expect(tracker.tick(T0 + 60_000)).toEqual([]);
    const view = tracker.view('a', T0 + 60_000);
    expect([view?.state, view?.stateSinceMs, view?.reason]).toEqual(['down', T0 + 4000, 'missed_3']);
  });

  it('explicit grace of 250 ms', () => {
    const tracker = createTracker({ ...OPTIONS, lateGraceMs: 250 });
    observe(tracker, beat(0));
    expect(tracker.tick(T0 + 1249)).toEqual([]);
    expect(tracker.tick(T0 + 1250)).toEqual([change('up', 'late', 'no_beat', T0 + 1250)]);
    expect(tracker.tick(T0 + 3249)).toEqual([]);
    expect(tracker.tick(T0 + 3250)).toEqual([change('late', 'down', 'missed_3', T0 + 3250)]);
  });

  it('explicit grace of 0: late exactly at the expected time', () => {
    const tracker = createTracker({ ...OPTIONS, lateGraceMs: 0, downAfterMisses: 2 });
    observe(tracker, beat(0));
    expect(tracker.tick(T0 + 999)).toEqual([]);
    expect(tracker.tick(T0 + 1000)).toEqual([change('up', 'late', 'no_beat', T0 + 1000)]);
    expect(tracker.tick(T0 + 1999)).toEqual([]);
    expect(tracker.tick(T0 + 2000)).toEqual([change('late', 'down', 'missed_2', T0 + 2000)]);
  });

  it('60 s interval, default grace 30 s', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0, { intervalMs: 60_000 }));
    expect(tracker.tick(T0 + 89_999)).toEqual([]);
    expect(tracker.tick(T0 + 90_000)).toEqual([change('up', 'late', 'no_beat', T0 + 90_000)]);
    expect(tracker.tick(T0 + 209_999)).toEqual([]);
    expect(tracker.tick(T0 + 210_000)).toEqual([change('late', 'down', 'missed_3', T0 + 210_000)]);
  });

  it('3 s interval: default grace is half the interval once that exceeds 1 s', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0, { intervalMs: 3000 }));
    expect(tracker.tick(T0 + 4499)).toEqual([]);
    expect(tracker.tick(T0 + 4500)).toEqual([change('up', 'late', 'no_beat', T0 + 4500)]);
  });

  it('one missed beat is down when downAfterMisses is 1', () => {
    const tracker = createTracker({ ...OPTIONS, downAfterMisses: 1 });
    observe(tracker, beat(0));
    expect(tracker.tick(T0 + 1999)).toEqual([]);
    expect(tracker.tick(T0 + 2000)).toEqual([change('up', 'down', 'missed_1', T0 + 2000)]);
  });

  it('absorbs a constant clock offset with the minimum delay of the boot', () => {
    const tracker = createTracker(OPTIONS);
    // The sender's clock is 5 s behind: the delays read 5003 and 5000 ms.
    observe(tracker, beat(0, { receivedAtMs: T0 + 5003 }));
    observe(tracker, beat(1, { receivedAtMs: T0 + 6000 }));
    expect(tracker.view('a', T0 + 6000)?.expectedAtMs).toBe(T0 + 7000);
    expect(tracker.tick(T0 + 7999)).toEqual([]);
    expect(tracker.tick(T0 + 8000)).toEqual([change('up', 'late', 'no_beat', T0 + 8000)]);
  });

  it('follows a step of a clock: a sender whose clock went back 10 s is up again for good at its second beat after the step', () => {
    const tracker = createTracker(OPTIONS);
    const changes: string[] = [];
    for (let seq = 0; seq < 20; seq++) {
      const receivedAtMs = T0 + seq * 1000 + 5;
      // NTP steps the sender's clock back 10 s before beat 5: every delay from there on reads 10 s more.
      const sentAtMs = T0 + seq * 1000 - (seq < 5 ? 0 : 10_000);
      for (const c of observe(tracker, beat(seq, { sentAtMs, receivedAtMs })))
        changes.push(`${c.from}->${c.to}`);
      for (const c of tracker.tick(receivedAtMs + 250)) changes.push(`${c.from}->${c.to}`);
    }
    // Beat 5 alone could be one held up: the tick after it judges it down; beat 6 shows the step.
    expect(changes).toEqual(['null->up', 'up->down', 'down->up']);
    expect(tracker.view('a', T0 + 19_300)).toMatchObject({ state: 'up', expectedAtMs: T0 + 20_005 });
  });

  it('a tick far ahead is one change up -> down, dated at the down threshold', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    expect(tracker.tick(T0 + 3_600_000)).toEqual([change('up', 'down', 'missed_3', T0 + 4000)]);
    expect(tracker.stateCounts()).toEqual({ pending: 0, up: 0, late: 0, down: 1, stopped: 0 });
  });

  it('any state goes up on the next beat', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    tracker.tick(T0 + 2000);
    expect(observe(tracker, beat(1, { receivedAtMs: T0 + 2500 }))).toEqual([
      change('late', 'up', 'beat', T0 + 2500),
    ]);
    tracker.tick(T0 + 10_000);
    expect(state(tracker, T0 + 10_000)).toBe('down');
    expect(observe(tracker, beat(10))).toEqual([change('down', 'up', 'beat', T0 + 10_000)]);
    expect(tracker.view('a', T0 + 10_000)?.expectedAtMs).toBe(T0 + 11_000);
  });

  it('a beat after a threshold without a tick first reports the missed transition', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    expect(observe(tracker, beat(1, { receivedAtMs: T0 + 1999 }))).toEqual([]);
    // The sender itself was late: beat 2 left at T0 + 3500 instead of T0 + 2000.
    expect(observe(tracker, beat(2, { sentAtMs: T0 + 3500 }))).toEqual([
      change('up', 'late', 'no_beat', T0 + 3000),
      change('late', 'up', 'beat', T0 + 3500),
    ]);
    expect(observe(tracker, beat(3, { sentAtMs: T0 + 9000 }))).toEqual([
      change('up', 'down', 'missed_3', T0 + 7500), // beat 2 was sent at T0 + 3500
      change('down', 'up', 'beat', T0 + 9000),
    ]);
    expect(tracker.stateCounts()).toEqual({ pending: 0, up: 1, late: 0, down: 0, stopped: 0 });
  });

  it('judges an arriving beat at its send time: beats held up on the way do not flap the state', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    // Sent on time at T0 + 1000 but 2500 ms on the way: the sender was not late for it.
    expect(observe(tracker, beat(1, { receivedAtMs: T0 + 3500 }))).toEqual([]);
    // Silence is judged in real time: beat 2 (due T0 + 2000) is not here by T0 + 3000.
    expect(tracker.tick(T0 + 3500)).toEqual([change('up', 'late', 'no_beat', T0 + 3000)]);
    // Then the held-up beats arrive in a burst: one change back to up, no flapping.
    expect(observe(tracker, beat(2, { receivedAtMs: T0 + 3501 }))).toEqual([
      change('late', 'up', 'beat', T0 + 3501),
    ]);
    expect(observe(tracker, beat(3, { receivedAtMs: T0 + 3502 }))).toEqual([]);
    expect(observe(tracker, beat(4, { receivedAtMs: T0 + 4003 }))).toEqual([]);
    expect(tracker.tick(T0 + 5000)).toEqual([]);
  });

  it('a burst after a long outage gives one down -> up, not one per beat', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    expect(tracker.tick(T0 + 10_000).map((c) => c.to)).toEqual(['down']);
    const burst = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].flatMap((seq) =>
      observe(tracker, beat(seq, { receivedAtMs: T0 + 10_001 + seq })),
    );
    expect(burst).toEqual([change('down', 'up', 'beat', T0 + 10_002)]);
    expect(tracker.view('a', T0 + 10_020)?.lost).toBe(0);
  });

  it('duplicates, late arrivals and stale datagrams do not change the state', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    observe(tracker, beat(2));
    tracker.tick(T0 + 10_000);
    expect(observe(tracker, beat(2, { receivedAtMs: T0 + 10_001 }))).toEqual([]); // duplicate
    expect(observe(tracker, beat(1, { receivedAtMs: T0 + 10_002 }))).toEqual([]); // late arrival
    expect(state(tracker, T0 + 10_002)).toBe('down');
  });

  it('bye -> stopped, which never goes late or down; a later beat -> up', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    expect(observe(tracker, beat(1, { kind: 'bye', sentAtMs: T0 + 500 }))).toEqual([
      change('up', 'stopped', 'bye', T0 + 500),
    ]);
    expect(observe(tracker, beat(1, { kind: 'bye', receivedAtMs: T0 + 600 }))).toEqual([]); // its duplicate
    expect(tracker.tick(T0 + 86_400_000)).toEqual([]);
    expect(tracker.stateCounts()).toEqual({ pending: 0, up: 0, late: 0, down: 0, stopped: 1 });
    expect(observe(tracker, beat(2, { receivedAtMs: T0 + 86_400_000 }))).toEqual([
      change('stopped', 'up', 'beat', T0 + 86_400_000),
    ]);
  });

  it('a restart after a bye goes up with reason restart', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    observe(tracker, beat(1, { kind: 'bye' }));
    expect(observe(tracker, beat(0, { boot: 'b2', sentAtMs: T0 + 5000 }))).toEqual([
      change('stopped', 'up', 'restart', T0 + 5000),
    ]);
    const view = tracker.view('a', T0 + 5000);
    expect([view?.state, view?.reason, view?.restarts]).toEqual(['up', 'restart', 1]);
  });

  it('a restart after the sender went down reports down, then up', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    expect(observe(tracker, beat(0, { boot: 'b2', sentAtMs: T0 + 30_000 }))).toEqual([
      change('up', 'down', 'missed_3', T0 + 4000),
      change('down', 'up', 'restart', T0 + 30_000),
    ]);
  });

  /** A tracker with a 60 s stopped timeout, and sender 'a' stopped by its bye at T0 + 500. */
  function stoppedWithTimeout(): Tracker {
    const tracker = createTracker({ ...OPTIONS, stoppedTimeoutMs: 60_000 });
    observe(tracker, beat(0));
    observe(tracker, beat(1, { kind: 'bye', sentAtMs: T0 + 500 }));
    return tracker;
  }

  it('with a stopped timeout, a sender not back that long after its bye goes down (not_back)', () => {
    const tracker = stoppedWithTimeout();
    expect(tracker.tick(T0 + 60_499)).toEqual([]);
    expect(tracker.tick(T0 + 61_000)).toEqual([change('stopped', 'down', 'not_back', T0 + 60_500)]);
    // The minute it was stopped is no run of missed beats: those come from the timeout on.
    expect(tracker.tick(T0 + 63_000)).toEqual([]);
    expect(bar(tracker, T0 + 63_000)).toEqual(['received', 'missed', 'missed']);
    expect(observe(tracker, beat(0, { boot: 'b2', sentAtMs: T0 + 70_000 }))).toEqual([
      change('down', 'up', 'restart', T0 + 70_000),
    ]);
  });

  it('with a stopped timeout, a sender back within it is only up again', () => {
    const tracker = stoppedWithTimeout();
    expect(tracker.tick(T0 + 59_000)).toEqual([]);
    expect(observe(tracker, beat(0, { boot: 'b2', sentAtMs: T0 + 59_500 }))).toEqual([
      change('stopped', 'up', 'restart', T0 + 59_500),
    ]);
    expect(tracker.tick(T0 + 60_000)).toEqual([]);
  });

  it('a new sender can start with a bye', () => {
    const tracker = createTracker(OPTIONS);
    expect(observe(tracker, beat(7, { kind: 'bye' }))).toEqual([change(null, 'stopped', 'bye', T0 + 7000)]);
    expect(tracker.stateCounts()).toEqual({ pending: 0, up: 0, late: 0, down: 0, stopped: 1 });
    expect(bar(tracker)).toEqual([]);
  });

  it('keeps stateCounts equal to the states of the views', () => {
    const tracker = createTracker(OPTIONS);
    for (const [i, source] of ['a', 'b', 'c', 'd'].entries()) {
      tracker.observe(beat(0, { source, sentAtMs: T0 + i * 1000 }));
    }
    tracker.observe(beat(1, { source: 'd', kind: 'bye', sentAtMs: T0 + 3500 }));
    tracker.tick(T0 + 5500); // a: down (T0 + 4000); b: down (5000); c: late (4000 .. 6000)
    expect(tracker.stateCounts()).toEqual({ pending: 0, up: 0, late: 1, down: 2, stopped: 1 });
    const fromViews = { pending: 0, up: 0, late: 0, down: 0, stopped: 0 };
    for (const v of tracker.views(T0 + 5500)) fromViews[v.state]++;
    expect(tracker.stateCounts()).toEqual(fromViews);
  });
});

describe('tracker: heartbeat bar', () => {
  it('marks beats in time as received', () => {
    const tracker = createTracker(OPTIONS);
    for (let seq = 0; seq < 3; seq++) observe(tracker, beat(seq));
    expect(bar(tracker)).toEqual(['received', 'received', 'received']);
  });

  it('pushes a missed mark as each expected beat becomes overdue', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    tracker.tick(T0 + 1999);
    expect(bar(tracker)).toEqual(['received']);
    tracker.tick(T0 + 2000);
    expect(bar(tracker)).toEqual(['received', 'missed']);
    tracker.tick(T0 + 2999);
    expect(bar(tracker)).toEqual(['received', 'missed']);
    tracker.tick(T0 + 3000);
    tracker.tick(T0 + 4500);
    expect(bar(tracker)).toEqual(['received', 'missed', 'missed', 'missed']);
  });

  it('fills a gap with missed marks on arrival, not twice when ticks pushed some already', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    observe(tracker, beat(1));
    observe(tracker, beat(4)); // 2 and 3 lost; 4 in time
    expect(bar(tracker)).toEqual(['received', 'received', 'missed', 'missed', 'received']);

    tracker.tick(T0 + 6000); // 5 overdue since T0 + 6000
    observe(tracker, beat(8, { receivedAtMs: T0 + 8100 })); // 5, 6, 7 lost; 6 overdue at 7000, 7 at 8000
    expect(bar(tracker)).toEqual([
      'received',
      'received',
      'missed',
      'missed',
      'received',
      'missed',
      'missed',
      'missed',
      'received',
    ]);
    expect(tracker.view('a', T0 + 8100)?.lost).toBe(5);
  });

  it('fills a gap on arrival when the lost beats are not overdue yet', () => {
    const tracker = createTracker({ ...OPTIONS, lateGraceMs: 5000 });
    observe(tracker, beat(0));
    observe(tracker, beat(3));
    expect(bar(tracker)).toEqual(['received', 'missed', 'missed', 'received']);
  });

  it('marks a beat that arrives after expected + grace as late (with or without a tick before)', () => {
    const ticked = createTracker(OPTIONS);
    observe(ticked, beat(0));
    ticked.tick(T0 + 2000);
    expect(bar(ticked)).toEqual(['received', 'missed']);
    observe(ticked, beat(1, { receivedAtMs: T0 + 2000 }));
    expect(bar(ticked)).toEqual(['received', 'late']);

    const unticked = createTracker(OPTIONS);
    observe(unticked, beat(0));
    observe(unticked, beat(1, { receivedAtMs: T0 + 1999 }));
    observe(unticked, beat(2, { sentAtMs: T0 + 3000 })); // the sender was a second late
    expect(bar(unticked)).toEqual(['received', 'received', 'late']);
  });

  it('a late beat after a long silence takes the newest overdue slot', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    observe(tracker, beat(1, { sentAtMs: T0 + 4000, receivedAtMs: T0 + 4000 })); // overdue: 1000 + 1000, 3000, 4000
    expect(bar(tracker)).toEqual(['received', 'missed', 'missed', 'late']);
  });

  it('marks a new boot as restart, without missed marks for the old boot', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    observe(tracker, beat(1));
    observe(tracker, beat(5, { boot: 'b2', sentAtMs: T0 + 1500 }));
    observe(tracker, beat(6, { boot: 'b2', sentAtMs: T0 + 2500 }));
    expect(bar(tracker)).toEqual(['received', 'received', 'restart', 'received']);
  });

  it('a bye takes no slot and a stopped sender misses nothing', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    observe(tracker, beat(1, { kind: 'bye', sentAtMs: T0 + 300 }));
    tracker.tick(T0 + 60_000);
    expect(bar(tracker)).toEqual(['received']);
  });

  it('keeps at most heartbeatSlots marks, oldest dropped first', () => {
    const tracker = createTracker({ ...OPTIONS, heartbeatSlots: 5 });
    for (let seq = 0; seq < 7; seq++) observe(tracker, beat(seq));
    observe(tracker, beat(8)); // 7 lost
    expect(bar(tracker)).toEqual(['received', 'received', 'received', 'missed', 'received']);
    tracker.tick(T0 + 3_600_000);
    expect(bar(tracker)).toEqual(['missed', 'missed', 'missed', 'missed', 'missed']);
  });

  it('holds 50 marks with the default length', () => {
    const tracker = createTracker(OPTIONS);
    for (let seq = 0; seq < 60; seq++) observe(tracker, beat(seq));
    expect(bar(tracker)).toEqual(new Array(50).fill('received'));
  });
});

describe('tracker: a monitor that lost datagrams itself (blind)', () => {
  it('judges no silence before the blind moment + interval + grace, and charges no loss for it', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    // Beats 1 and 2 were dropped in the monitor's own queue (it had handled all that came before T0 + 500);
    // it knows so at T0 + 2500.
    tracker.blind(T0 + 500, T0 + 2500);
    // Without it: late at T0 + 2000, down at T0 + 4000.
    expect(tracker.tick(T0 + 4499)).toEqual([]);
    expect(state(tracker, T0 + 4499)).toBe('up');
    expect(observe(tracker, beat(3))).toEqual([]);
    const view = tracker.view('a', T0 + 3000);
    expect([view?.state, view?.lost, view?.lastSeq]).toEqual(['up', 0, 3]);
  });

  it('excuses the same beats whatever the offset of the clocks', () => {
    for (const offsetMs of [-5000, 0, 5000]) {
      const tracker = createTracker(OPTIONS);
      // Sent every second by a clock offsetMs ahead of the monitor's, received at once.
      const at = (seq: number) =>
        beat(seq, { sentAtMs: T0 + seq * 1000 + offsetMs, receivedAtMs: T0 + seq * 1000 });
      observe(tracker, at(0));
      // Beats 1-3 were dropped in the monitor's own queue; it knows so at T0 + 3500.
      tracker.blind(T0 + 500, T0 + 3500);
      expect(tracker.observe(at(4)).lostDelta, `offset ${offsetMs} ms`).toBe(0);
    }
  });

  it('never counts lost below zero when an excused beat turns up late after all', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    // Beats 1-5 were sent while the monitor was blind, and not charged; beat 3 was only held up.
    tracker.blind(T0 + 500, T0 + 5500);
    observe(tracker, beat(6));
    expect(tracker.observe(beat(3, { receivedAtMs: T0 + 6100 }))).toMatchObject({
      outOfOrder: true,
      lostDelta: 0,
    });
    expect(tracker.view('a', T0 + 6100)).toMatchObject({ lost: 0, outOfOrder: 1 });
  });

  it('charges the beats that were due before it was blind: a silent sender is not excused by a later overrun', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    // Silent from beat 1 on; the monitor dropped datagrams that arrived from T0 + 5500 to T0 + 7500.
    tracker.blind(T0 + 5500, T0 + 7500);
    // Beat 5 (due T0 + 5000) may have come within its 1 s grace, into the blind time; 6 and 7 were due in it.
    // Beats 1-4 were due while the monitor read everything: lost.
    expect(tracker.observe(beat(8)).lostDelta).toBe(4);
    expect(tracker.view('a', T0 + 8000)?.lost).toBe(4);
  });

  it('takes two blind times the sender beat between apart: the first excuses nothing after that beat', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    tracker.blind(T0 + 500, T0 + 1500);
    expect(tracker.observe(beat(2)).lostDelta).toBe(0); // beat 1 was due in the blind time
    tracker.blind(T0 + 6500, T0 + 7500);
    // Of beats 3-8: 6 (may have come within its grace) and 7 were due in the second blind time.
    expect(tracker.observe(beat(9)).lostDelta).toBe(4);
  });

  // A sender with beat 0 at T0, silent since; the monitor blind at these times (from, until), then beat `next`.
  it.each([
    {
      name: 'joins blind times that overlap (overruns seen at consecutive checks)',
      blinds: [
        [T0 + 2500, T0 + 3500],
        [T0 + 3400, T0 + 4500],
      ],
      next: 8,
      // Beats 2-4 from the first start (beat 2 within its grace of it) to the second end; 1, 5, 6 and 7 were due
      // while the monitor read everything.
      lost: 4,
    },
    {
      name: 'keeps blind times apart when the monitor read everything between them: the beats due between are lost',
      blinds: [
        [T0 + 2500, T0 + 3500],
        [T0 + 5500, T0 + 6500],
      ],
      next: 8,
      // Beats 2 and 3, then 5 and 6 (each first one within its grace of its start); 1, 4 and 7 are lost.
      lost: 3,
    },
    {
      name: 'charges a sender an hour of silence after a restart of the monitor, when an overrun comes at its end',
      // The monitor away until T0 + 10_500 (a restart: from the sender's last beat on), then blind again an hour later.
      blinds: [
        [0, T0 + 10_500],
        [T0 + 3_600_500, T0 + 3_601_500],
      ],
      next: 3602,
      // Excused: beats 1-10 (the restart), 3600 and 3601 (the overrun); the hour between is lost.
      lost: 3601 - 12,
    },
  ])('$name', ({ blinds, next, lost }) => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    for (const [fromMs, untilMs] of blinds) tracker.blind(fromMs as number, untilMs as number);
    expect(tracker.observe(beat(next)).lostDelta).toBe(lost);
  });

  it('keeps its floor when a beat that waited in the queue is handled after it', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    // Beat 1 was read before the overrun and handled after it; beat 2 was dropped.
    tracker.blind(T0 + 500, T0 + 2500);
    expect(observe(tracker, beat(1))).toEqual([]);
    // Beat 1 alone would make it late at T0 + 3000.
    expect(tracker.tick(T0 + 4499)).toEqual([]);
    expect(observe(tracker, beat(3))).toEqual([]);
    expect(tracker.view('a', T0 + 3000)?.lost).toBe(0);
  });

  it('still finds a sender that stays silent after it', () => {
    const tracker = createTracker(OPTIONS);
    observe(tracker, beat(0));
    tracker.blind(T0 + 500, T0 + 2500);
    expect(tracker.tick(T0 + 4500)).toEqual([change('up', 'late', 'no_beat', T0 + 4500)]);
    expect(tracker.tick(T0 + 6500)).toEqual([change('late', 'down', 'missed_3', T0 + 6500)]);
  });
});

describe('tracker: a liveness pass in steps', () => {
  /** Senders s00..s{n-1}, each with one beat at T0. */
  function tracked(n: number): Tracker {
    const tracker = createTracker(OPTIONS);
    for (let i = 0; i < n; i++) tracker.observe(beat(0, { source: `s${String(i).padStart(2, '0')}` }));
    return tracker;
  }

  it('judges every sender once, a step at a time, as one tick would', () => {
    const stepped = tracked(10);
    const whole = tracked(10);
    const pass = stepped.pass(T0 + 2000);
    const found = [pass.step(4), pass.step(4), pass.step(4)];
    expect(found.map((changes) => changes.length)).toEqual([4, 4, 2]);
    expect(pass.done).toBe(true);
    expect(found.flat()).toEqual(whole.tick(T0 + 2000));
    expect(pass.step(4)).toEqual([]);
  });

  it('is done only once the last sender was judged', () => {
    const pass = tracked(4).pass(T0 + 2000);
    expect(pass.step(4)).toHaveLength(4);
    expect(pass.done).toBe(false);
    expect(pass.step(4)).toEqual([]);
    expect(pass.done).toBe(true);
  });

  it('never marks late a sender whose beat came between two steps', () => {
    const tracker = tracked(6);
    const pass = tracker.pass(T0 + 2000);
    expect(pass.step(3).map((c) => c.source)).toEqual(['s00', 's01', 's02']);
    // s04's next beat comes in (received at T0 + 1900, before the pass's time) before its step.
    tracker.observe(beat(1, { source: 's04', receivedAtMs: T0 + 1900 }));
    expect(pass.step(10).map((c) => c.source)).toEqual(['s03', 's05']);
    expect(tracker.view('s04', T0 + 2000)?.state).toBe('up');
  });

  it('reaches a sender first heard during the pass', () => {
    const tracker = tracked(3);
    const pass = tracker.pass(T0 + 2000);
    pass.step(1);
    tracker.observe(beat(0, { source: 'zz' }));
    const rest = pass.step(10).map((c) => c.source);
    expect(rest).toEqual(['s01', 's02', 'zz']);
  });
});
