/**
 * One unit of writes to the state file: all of them or none.
 *
 * The outermost unit begins IMMEDIATE: it takes the write lock first (with
 * the connection's busy timeout, as a single write would). A deferred one
 * that reads, then writes, fails with SQLITE_BUSY_SNAPSHOT if the writer
 * thread's connection committed in between, and no timeout helps with that.
 * A unit inside one already open is a savepoint: the outer one decides.
 */
import type { DatabaseSync } from 'node:sqlite';

export function atomically<T>(db: DatabaseSync, work: () => T): T {
  const nested = db.isTransaction;
  db.exec(nested ? 'SAVEPOINT unit' : 'BEGIN IMMEDIATE');
  try {
    const result = work();
    db.exec(nested ? 'RELEASE unit' : 'COMMIT');
    return result;
  } catch (err) {
    // A full disk or an I/O error may have made SQLite roll the whole transaction back itself: then
    // there is nothing left to undo, and a ROLLBACK would fail and hide the error that matters.
    if (db.isTransaction) db.exec(nested ? 'ROLLBACK TO unit; RELEASE unit' : 'ROLLBACK');
    throw err;
  }
}
