/**
 * One unit of writes to the state file: all of them or none. A savepoint, so
 * it may run inside a unit already open (the notifier's decisions hold the
 * outbox's rows): the outer one then decides.
 */
import type { DatabaseSync } from 'node:sqlite';

export function atomically<T>(db: DatabaseSync, work: () => T): T {
  db.exec('SAVEPOINT unit');
  try {
    const result = work();
    db.exec('RELEASE unit');
    return result;
  } catch (err) {
    db.exec('ROLLBACK TO unit');
    db.exec('RELEASE unit');
    throw err;
  }
}
