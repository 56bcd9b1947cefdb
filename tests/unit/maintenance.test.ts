/**
 * Silences mark their senders a step at a time (notify/maintenance.ts): a
 * change never holds the main thread for a whole pass over every sender
 * and every silence, a change during a pass starts it over, and marked()
 * says when every sender shows the silences as they are.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createMaintenance, type Maintenance } from '../../services/client/notify/maintenance.js';
import { openSilencesTable } from '../../services/client/store/silences.js';
import { openStateFile, type StateFile } from '../../services/client/store/state-file.js';
import { createWriteFailures } from '../../services/client/store/write-failures.js';
import { createTracker } from '../../services/client/tracking/tracker.js';
import { createTurns, TURN_MS } from '../../services/shared/turns.js';
import { T0, TRACKER_OPTIONS, trackedBeat } from '../support/builders.js';
import { freshDataDir } from '../support/monitor.js';

const SENDERS = 2000;
const HOUR = 3_600_000;

const files: StateFile[] = [];
const passes: Maintenance[] = [];
afterEach(() => {
  for (const m of passes.splice(0)) m.stop();
  for (const f of files.splice(0)) f.close(null);
});

/** A tracker with SENDERS senders `a-0`... and `b-0`... (half each), and its maintenance. */
/** What the last turn settled has run its callbacks (a pass that ended starts the next). */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

function setUp() {
  const tracker = createTracker({ ...TRACKER_OPTIONS, maxSenders: SENDERS });
  for (let i = 0; i < SENDERS; i++) {
    tracker.observe(trackedBeat({ source: `${i % 2 === 0 ? 'a' : 'b'}-${i}`, seq: 0, sentAtMs: T0 }));
  }
  const file = openStateFile(freshDataDir());
  files.push(file);
  // Every look at the clock finds the step's millisecond over: a step marks the fewest senders it may,
  // and a turn runs one step. The turns run when the test says.
  let clockMs = 0;
  const clock = () => (clockMs += 10);
  const deferred: Array<() => void> = [];
  const turns = createTurns(TURN_MS, { now: clock, defer: (run) => deferred.push(run) });
  const failures = createWriteFailures(pino({ level: 'silent' }), file.path, () => T0);
  const maintenance = createMaintenance(openSilencesTable(file.db), tracker, () => T0, failures, {
    turns,
    clock,
  });
  passes.push(maintenance);
  const inMaintenance = (prefix = '') =>
    [...tracker.all()].filter((s) => s.maintenance && s.source.startsWith(prefix)).length;
  /** Runs the turn deferred, if any; false when none was. */
  const turn = () => {
    const run = deferred.shift();
    run?.();
    return run !== undefined;
  };
  /** Every turn, until no step is left (a pass that ends may start the next one); how many it took. */
  const allTurns = async () => {
    let n = 0;
    do {
      while (turn()) n++;
      await settled();
    } while (deferred.length > 0);
    await maintenance.marked();
    return n;
  };
  return { tracker, maintenance, inMaintenance, turn, allTurns, file, failures };
}

describe('silences mark their senders a step at a time', () => {
  /** Senders of SENDERS whose number starts with 1, among the odd (b-) ones. */
  const b1 = [...Array(SENDERS).keys()].filter((i) => i % 2 === 1 && `${i}`.startsWith('1')).length;

  it('marks a step a turn, and marked() resolves once every sender is marked', async () => {
    const { maintenance, inMaintenance, turn, allTurns } = setUp();
    await allTurns(); // the pass of the start: no silence yet
    maintenance.add({ sources: 'a-*', untilMs: T0 + HOUR, comment: '' }, T0);
    expect(inMaintenance()).toBe(0);
    turn();
    const afterOneTurn = inMaintenance();
    expect(afterOneTurn).toBeGreaterThan(0);
    expect(afterOneTurn).toBeLessThan(SENDERS / 2);
    // The clock is looked at after each sender, and this one finds the step's millisecond over every
    // time: one sender a step, a step a turn (the one above was the first), and one to find the end.
    expect(await allTurns()).toBe(SENDERS);
    expect(inMaintenance('a-')).toBe(SENDERS / 2);
    expect(inMaintenance('b-')).toBe(0);
  });

  it('ends its passes, and answers marked(), however often the silences change', async () => {
    const { maintenance, turn, allTurns } = setUp();
    await allTurns();
    let silence = maintenance.add({ sources: 'a-*', untilMs: T0 + HOUR, comment: '' }, T0);
    let answered = false;
    void maintenance.marked().then(() => {
      answered = true;
    });
    // A change every turn (the silence ended and added again), for three passes' worth of turns.
    let turns = 0;
    for (let i = 0; i < 3 * SENDERS; i++) {
      maintenance.remove(silence.id);
      silence = maintenance.add({ sources: 'a-*', untilMs: T0 + HOUR, comment: '' }, T0);
      turn();
      await settled();
      if (!answered) turns++;
    }
    // Answered at the end of the first pass begun after it: two passes at most.
    expect(answered).toBe(true);
    expect(turns).toBeLessThanOrEqual(2 * SENDERS + 2);
    await allTurns();
  });

  it('marks the senders a pass went by before a change again: the pass after it', async () => {
    const { maintenance, inMaintenance, turn, allTurns } = setUp();
    await allTurns();
    const silence = maintenance.add({ sources: 'a-*', untilMs: T0 + HOUR, comment: '' }, T0);
    for (let i = 0; i < 5; i++) turn();
    expect(inMaintenance()).toBeGreaterThan(0);
    // Removed half-way: the senders the pass marked already are unmarked too.
    expect(maintenance.remove(silence.id)).toBe(true);
    await allTurns();
    expect(inMaintenance()).toBe(0);

    maintenance.add({ sources: 'a-*', untilMs: T0 + HOUR, comment: '' }, T0);
    for (let i = 0; i < 5; i++) turn();
    // Added half-way: the senders the pass went by already are marked by it too.
    maintenance.add({ sources: 'b-1*', untilMs: T0 + HOUR, comment: '' }, T0);
    await allTurns();
    expect(inMaintenance('a-')).toBe(SENDERS / 2);
    expect(inMaintenance('b-')).toBe(b1);
  });

  it('a pass that fails answers its waiters with the error, and the pass a change during it asked for runs', async () => {
    const { tracker, maintenance, inMaintenance, turn, allTurns } = setUp();
    await allTurns();
    maintenance.add({ sources: 'a-*', untilMs: T0 + HOUR, comment: '' }, T0);
    for (let i = 0; i < 5; i++) turn();
    const first = maintenance.marked().then(
      () => 'marked',
      (err: Error) => err.message,
    );
    // Added during the pass: it asks for one more.
    maintenance.add({ sources: 'b-1*', untilMs: T0 + HOUR, comment: '' }, T0);
    let second = 'unsettled';
    void maintenance.marked().then(
      () => {
        second = 'marked';
      },
      (err: Error) => {
        second = err.message;
      },
    );
    // The pass under way fails at its next sender.
    const setMaintenance = tracker.setMaintenance;
    let failures = 1;
    tracker.setMaintenance = (source, on, atMs) => {
      if (failures-- > 0) throw new Error('marking failed');
      setMaintenance(source, on, atMs);
    };
    turn();
    await settled();
    expect(await first).toBe('marking failed');
    await allTurns();
    await settled();
    expect(second).toBe('marked');
    expect(inMaintenance('a-')).toBe(SENDERS / 2);
    expect(inMaintenance('b-')).toBe(b1);
  });

  it('ends a silence whose time is up while the file refuses to let it go (read-only): counted, and gone next start', async () => {
    const { maintenance, allTurns, file, failures } = setUp();
    await allTurns();
    maintenance.add({ sources: 'a-*', untilMs: T0 + HOUR, comment: '' }, T0);
    await allTurns();
    file.db.exec('PRAGMA query_only = 1');
    expect(maintenance.tick(T0 + HOUR).map((s) => s.sources)).toEqual(['a-*']);
    expect(maintenance.list()).toEqual([]);
    expect(maintenance.covering('a-0', T0 + HOUR)).toBeNull();
    expect(failures.count).toBe(1);
    file.db.exec('PRAGMA query_only = 0');
    // Its row stayed behind: the next start lets it go (here at its first tick, its clock fixed at T0).
    const next = createMaintenance(
      openSilencesTable(file.db),
      createTracker(TRACKER_OPTIONS),
      () => T0,
      failures,
    );
    passes.push(next);
    expect(next.tick(T0 + HOUR + 1000).map((s) => s.sources)).toEqual(['a-*']);
    expect(file.db.prepare('SELECT count(*) AS n FROM silences').get()).toEqual({ n: 0 });
  });

  it('covering() answers from the silences at once, whatever the pass has marked', async () => {
    const { maintenance, inMaintenance, allTurns } = setUp();
    await allTurns();
    maintenance.add({ sources: 'b-*', untilMs: T0 + HOUR, comment: '' }, T0);
    expect(inMaintenance()).toBe(0);
    expect(maintenance.covering(`b-${SENDERS - 1}`, T0)?.sources).toBe('b-*');
    expect(maintenance.covering('a-0', T0)).toBeNull();
  });

  it('a stop ends the pass under way', async () => {
    const { maintenance, inMaintenance, turn, allTurns } = setUp();
    await allTurns();
    maintenance.add({ sources: '*', untilMs: T0 + HOUR, comment: '' }, T0);
    turn();
    maintenance.stop();
    expect(await allTurns()).toBeLessThanOrEqual(1);
    const marked = inMaintenance();
    expect(marked).toBeGreaterThan(0);
    expect(marked).toBeLessThan(SENDERS);
  });
});
