/**
 * A unit of writes on the main thread's connection while another connection
 * (the writer thread's, here a worker of the test's) commits to the same
 * file: a unit that reads, then writes, must not fail because the other
 * committed in between (SQLITE_BUSY_SNAPSHOT, which no busy timeout helps).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { atomically } from '../../services/client/store/atomically.js';
import { configureConnection } from '../../services/client/store/state-writer.js';

describe('atomically', () => {
  it('reads then writes as one unit while another connection commits all the time', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'udpts-unit-')), 'unit.db');
    const db = new DatabaseSync(path);
    db.exec(
      'PRAGMA journal_mode = WAL; CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER); CREATE TABLE other (n INTEGER)',
    );
    configureConnection(db);
    const writer = new Worker(
      `const { DatabaseSync } = require('node:sqlite');
       const { parentPort, workerData } = require('node:worker_threads');
       const db = new DatabaseSync(workerData);
       db.exec('PRAGMA busy_timeout = 5000');
       let stop = false;
       parentPort.on('message', () => { stop = true; });
       const loop = () => {
         if (stop) { db.close(); parentPort.postMessage('done'); return; }
         db.exec('BEGIN IMMEDIATE; INSERT INTO other VALUES (1); COMMIT');
         // A pause between commits, as the writer thread has (it waits for its next slice).
         setTimeout(loop, 1);
       };
       parentPort.postMessage('started');
       loop();`,
      { eval: true, workerData: path },
    );
    await new Promise((resolve) => writer.once('message', resolve));
    const read = db.prepare('SELECT n FROM t WHERE k = ?');
    const write = db.prepare('INSERT INTO t VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET n = excluded.n');
    let failures = 0;
    let units = 0;
    const started = Date.now();
    while (Date.now() - started < 1000) {
      units++;
      try {
        atomically(db, () => {
          const n = (read.get('k') as { n: number } | undefined)?.n ?? 0;
          // Let the other connection commit between the read and the write.
          const until = performance.now() + 0.2;
          while (performance.now() < until) {}
          write.run('k', n + 1);
        });
      } catch {
        failures++;
      }
      // A pause between units too: neither side holds the lock back to back (SQLite's busy handler polls by
      // sleeping, so a side that never lets go can starve the other past its busy timeout).
      await new Promise((r) => setTimeout(r, 1));
    }
    writer.postMessage('stop');
    await new Promise((resolve) => writer.once('message', resolve));
    expect(failures).toBe(0);
    // Every unit's read and write counted: none was lost to the other connection's commits.
    expect(read.get('k')).toEqual({ n: units });
    expect((db.prepare('SELECT COUNT(*) AS n FROM other').get() as { n: number }).n).toBeGreaterThan(100);
    db.close();
  });

  it('is a savepoint inside a unit already open: the inner one undone, the outer one kept', () => {
    const db = new DatabaseSync(':memory:');
    db.exec('CREATE TABLE t (n INTEGER)');
    atomically(db, () => {
      db.exec('INSERT INTO t VALUES (1)');
      expect(() =>
        atomically(db, () => {
          db.exec('INSERT INTO t VALUES (2)');
          throw new Error('inner');
        }),
      ).toThrow('inner');
    });
    expect(db.prepare('SELECT n FROM t').all()).toEqual([{ n: 1 }]);
    expect(db.isTransaction).toBe(false);
  });

  it.each([false, true])(
    'throws the error of a write the disk refused, which SQLite rolled back itself (nested: %s)',
    (nested) => {
      const db = new DatabaseSync(join(mkdtempSync(join(tmpdir(), 'udpts-unit-')), 'full.db'));
      db.exec('PRAGMA journal_mode = WAL; CREATE TABLE t (x TEXT)');
      // The file may not grow: as a full disk, SQLite answers SQLITE_FULL and ends the transaction.
      const { page_count } = db.prepare('PRAGMA page_count').get() as { page_count: number };
      db.exec(`PRAGMA max_page_count = ${page_count}`);
      const insert = db.prepare('INSERT INTO t VALUES (?)');
      const unit = () => atomically(db, () => insert.run('x'.repeat(20_000)));
      expect(() => (nested ? atomically(db, unit) : unit())).toThrow(
        expect.objectContaining({ errcode: 13, message: 'database or disk is full' }),
      );
      expect(db.isTransaction).toBe(false);
      // The file takes writes again once it may grow.
      db.exec('PRAGMA max_page_count = 1000000');
      unit();
      expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 1 });
      db.close();
    },
  );
});
