import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { createWriteFailures, isRefusedWrite } from '../../services/client/store/write-failures.js';
import { captureLogs } from '../support/log-capture.js';

/** What a statement on a real file throws, or null. */
function thrownBy(setUp: string, statement: string): unknown {
  const db = new DatabaseSync(join(mkdtempSync(join(tmpdir(), 'udpts-unit-')), 'state.db'));
  db.exec('PRAGMA journal_mode = WAL; CREATE TABLE t (x TEXT)');
  db.exec(setUp);
  try {
    db.exec(statement);
    return null;
  } catch (err) {
    return err;
  } finally {
    db.close();
  }
}

describe('writes the state file refused', () => {
  it('tells a refusal (a full file, a read-only one) from a statement SQLite cannot run, or another error', () => {
    const full = thrownBy('PRAGMA max_page_count = 2', `INSERT INTO t VALUES ('${'x'.repeat(20_000)}')`);
    const readOnly = thrownBy('PRAGMA query_only = 1', "INSERT INTO t VALUES ('x')");
    const noTable = thrownBy('', "INSERT INTO nowhere VALUES ('x')");
    expect([full, readOnly, noTable].map((e) => (e as { errcode?: number } | null)?.errcode)).toEqual([
      13, 8, 1,
    ]);
    expect([full, readOnly, noTable, new TypeError('x'), null].map(isRefusedWrite)).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  it('counts every refusal and logs at most a line a second, naming the file', () => {
    const { logger, lines } = captureLogs('client', 'debug');
    let nowMs = 0;
    const failures = createWriteFailures(logger, '/data/monitor.db', () => nowMs);
    const err = thrownBy('PRAGMA query_only = 1', "INSERT INTO t VALUES ('x')");
    for (; nowMs < 2500; nowMs += 100) failures.failed(err);
    expect(failures.count).toBe(25);
    const logged = lines().filter((l) => l.event === 'store_error');
    expect(logged.map((l) => l.file)).toEqual(['/data/monitor.db', '/data/monitor.db', '/data/monitor.db']);
    expect(logged[0]?.err).toMatchObject({ message: 'attempt to write a readonly database' });
  });
});
