/**
 * Records in silence order, the longest-silent first and the one heard from
 * last at the end: an intrusive doubly linked list through two fields of
 * each record. Moving a record to the end (on every datagram) and taking
 * one out are O(1) and allocate nothing. A Map kept in this order by
 * delete + set is O(1) too, but at 50,000 senders it rebuilt its table
 * every few thousand datagrams: megabytes a second of garbage that lived
 * long enough to be promoted, which the collector then paid for in pauses
 * of the tracking thread (docs/PERFORMANCE.md).
 */

/** The two fields a record lends to the order; null at the ends and outside it. */
export interface SilenceLinks<T> {
  heardBefore: T | null;
  heardAfter: T | null;
}

export class SilenceOrder<T extends SilenceLinks<T>> {
  private first: T | null = null;
  private last: T | null = null;

  /** Puts a record that is not in the order at the end. */
  append(record: T): void {
    record.heardBefore = this.last;
    record.heardAfter = null;
    if (this.last === null) this.first = record;
    else this.last.heardAfter = record;
    this.last = record;
  }

  /** Takes a record out; one not in the order is left as it is. */
  remove(record: T): void {
    if (record.heardBefore === null && this.first !== record) return;
    if (record.heardBefore === null) this.first = record.heardAfter;
    else record.heardBefore.heardAfter = record.heardAfter;
    if (record.heardAfter === null) this.last = record.heardBefore;
    else record.heardAfter.heardBefore = record.heardBefore;
    record.heardBefore = null;
    record.heardAfter = null;
  }

  /** The record was heard from: it goes to the end. */
  moveToEnd(record: T): void {
    if (this.last === record) return;
    this.remove(record);
    this.append(record);
  }

  /** From the longest-silent on. The current record may be removed while iterating. */
  *fromLongestSilent(): Generator<T> {
    for (let record = this.first; record !== null; ) {
      const next: T | null = record.heardAfter;
      yield record;
      record = next;
    }
  }
}
