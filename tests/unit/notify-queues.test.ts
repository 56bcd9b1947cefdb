/**
 * The webhooks' queues in the outbox: their names (they follow the URL, not
 * its place in the list), which queue a changed configuration hands to which
 * URL, and the outbox's hand-over on a real state file.
 */
import { describe, expect, it } from 'vitest';
import { queueKey, queuesMovedInPlace } from '../../services/client/notify/queues.js';
import { parseWebhookUrls } from '../../services/client/notify/targets.js';
import { openOutbox } from '../../services/client/store/outbox.js';
import { openStateFile } from '../../services/client/store/state-file.js';
import { freshDataDir } from '../support/monitor.js';

const SLACK = 'https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX';
const T0 = Date.parse('2026-12-06T02:00:00Z');

describe('webhook queues', () => {
  it("names each URL's queue by its label's host part and the URL, not by its place in the list", () => {
    const other = SLACK.replace('XXXX', 'YYYY');
    const [a, b] = parseWebhookUrls(`${SLACK}\n${other}`) ?? [];
    const [b2, a2] = parseWebhookUrls(`${other}\n${SLACK}`) ?? [];
    if (a === undefined || b === undefined || a2 === undefined || b2 === undefined) throw new Error('parsed');
    expect(queueKey(a.url)).toBe(queueKey(a2.url));
    expect(queueKey(b.url)).toBe(queueKey(b2.url));
    expect(queueKey(a.url)).not.toBe(queueKey(b.url));
    expect(queueKey(a.url)).toMatch(/^https:\/\/hooks\.slack\.com#[0-9a-f]{12}$/);
    for (const secret of ['SECRET', 'T000', 'services']) expect(queueKey(a.url)).not.toContain(secret);
  });

  it('moves a queue to the URL that replaced its own on a host, and only when that is the one reading', () => {
    const key = (path: string, host = 'https://hooks.slack.com') => queueKey(new URL(`${host}${path}`));
    // One gone, one new on the host: a secret rotated.
    expect(queuesMovedInPlace([key('/old')], [key('/new')])).toEqual([[key('/old'), key('/new')]]);
    // One gone, none new (the other URL on the host has its own queue): a removal.
    expect(queuesMovedInPlace([key('/old')], [])).toEqual([]);
    // Two gone, or two new: which went where cannot be told.
    expect(queuesMovedInPlace([key('/a'), key('/b')], [key('/new')])).toEqual([]);
    expect(queuesMovedInPlace([key('/old')], [key('/n1'), key('/n2')])).toEqual([]);
    // Hosts apart: each on its own; another host's new URL takes nothing.
    const sink = 'http://sink:9000';
    expect(
      queuesMovedInPlace([key('/old'), key('/x', sink)], [key('/new'), key('/y', 'http://other')]),
    ).toEqual([[key('/old'), key('/new')]]);
    // An older release's label is a queue of its host too.
    expect(queuesMovedInPlace(['https://hooks.slack.com#2'], [key('/new')])).toEqual([
      ['https://hooks.slack.com#2', key('/new')],
    ]);
  });

  it('hands a queue over with its rows, the waiting ones due at once, and counts only those waiting', () => {
    const file = openStateFile(freshDataDir());
    try {
      const outbox = openOutbox(file.db);
      outbox.enqueue(
        ['n1', 'n2', 'n3'].map((id, i) => ({
          id,
          target: 'old',
          source: `s${i}`,
          event: 'down',
          body: '{}',
          createdAtMs: T0 + i,
        })),
      );
      const [first, second] = outbox.due('old', T0 + 10, 16);
      outbox.sent(first?.seq as number, T0 + 1, 1);
      outbox.retry(second?.seq as number, 3, T0 + 3_600_000, 'HTTP 503');
      expect(outbox.handOver('old', 'new', T0 + 20)).toBe(2);
      const rows = file.db
        .prepare('SELECT id, target, status, next_attempt_at FROM outbox ORDER BY seq')
        .all();
      expect(rows).toEqual([
        { id: 'n1', target: 'new', status: 'sent', next_attempt_at: T0 },
        { id: 'n2', target: 'new', status: 'pending', next_attempt_at: T0 + 20 },
        { id: 'n3', target: 'new', status: 'pending', next_attempt_at: T0 + 20 },
      ]);
    } finally {
      file.close(T0);
    }
  });
});
