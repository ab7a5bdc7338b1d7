/**
 * What moves between a product's coordinator and its shards: units, in numbered transfers. A grant
 * goes from the coordinator's pool to shard k; a return goes from shard k back to the pool. Each
 * direction of each (coordinator, shard) pair numbers its transfers 1, 2, 3, ... and the receiver
 * applies transfer n only right after n - 1: a duplicate (n already applied) is acknowledged and
 * changes nothing, a gap (n - 1 not applied yet) is refused and the giver resends in order.
 *
 * These modules are pure: plain data in, plain data out, no clock, no I/O. The objects run them
 * inside their one synchronous SQLite transaction per event (state read from its rows, changed,
 * written back), and test/shards/ runs the very same functions against a faulty network.
 */

export interface Transfer {
  /** 1, 2, 3, ... per direction and per shard. */
  seq: number;
  /** Units, at least 1. */
  qty: number;
}

/** How a receiver took a transfer. */
export type Applied = "applied" | "duplicate" | "gap";

/**
 * A shard's account of itself, sent with every message to the coordinator. `grantSeq` and
 * `returnSeq` say which transfers it had applied and issued when it wrote this; `sold` only ever
 * grows. Those three make a later report recognisable (see `newerReport`).
 */
export interface ShardReport {
  shard: number;
  /** Units on sale here now: the shard's stock minus what is reserved. */
  free: number;
  /** Units in active holds and pending orders. */
  reserved: number;
  sold: number;
  /** The last grant applied, and the units of all grants applied. */
  grantSeq: number;
  granted: number;
  /** The last return issued, and the units of all returns issued. */
  returnSeq: number;
  returned: number;
}

/**
 * Whether `next` is at least as recent as `held`: reports can arrive out of order (a delayed
 * duplicate), and the three counters that only grow order them. Two reports with equal counters
 * differ only in how their units split between free and reserved; either may be kept (the
 * sold-out proof in ledger.ts does not depend on which).
 */
export function newerReport(held: ShardReport | null, next: ShardReport): boolean {
  return (
    held === null ||
    (next.grantSeq >= held.grantSeq && next.returnSeq >= held.returnSeq && next.sold >= held.sold)
  );
}

/** A broken invariant: a bug, never a refusal. Thrown inside a transaction, it rolls it back. */
export function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`shard invariant broken: ${message}`);
}
