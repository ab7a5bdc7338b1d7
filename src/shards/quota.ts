/**
 * A shard's side of the escrow: its quota of one product's stock. The fields mirror the product
 * row a shard object keeps (`stock`, `reserved`, `sold`), so today's hold check
 * `stock - reserved >= qty` works on a shard unchanged: on a shard, `stock` is the units this
 * shard may still sell (its quota: free + reserved), not the product's.
 *
 * I2, the shard's invariant, after every function here:
 *   stock + sold = granted - returned,   0 <= reserved <= stock,
 * so a shard can only ever sell or reserve units that were granted to it and not given back.
 */
import { invariant, type Applied, type ShardReport, type Transfer } from "./transfer";

export interface ShardQuota {
  shard: number;
  /** Units this shard may still sell: free + reserved. */
  stock: number;
  /** Units in active holds and pending orders. */
  reserved: number;
  /** Units sold here, ever. */
  sold: number;
  /** The last grant applied (grants apply in order, each once), and all their units. */
  grantSeq: number;
  granted: number;
  /** The last return issued, and all their units (debited here when issued). */
  returnSeq: number;
  returned: number;
  /** Returns debited here and not yet acknowledged by the coordinator, oldest first. */
  outbox: Transfer[];
}

export function newQuota(shard: number): ShardQuota {
  return {
    shard,
    stock: 0,
    reserved: 0,
    sold: 0,
    grantSeq: 0,
    granted: 0,
    returnSeq: 0,
    returned: 0,
    outbox: [],
  };
}

export function freeUnits(q: ShardQuota): number {
  return q.stock - q.reserved;
}

/** Reserve for a hold, or an order's units taken back by a late success: only from free units. */
export function reserve(q: ShardQuota, qty: number): boolean {
  invariant(qty > 0, `reserve of ${qty}`);
  if (freeUnits(q) < qty) return false;
  q.reserved += qty;
  return true;
}

/** A hold expired or was released, an order was cancelled or failed: its units are free again. */
export function unreserve(q: ShardQuota, qty: number): void {
  invariant(qty > 0 && q.reserved >= qty, `unreserve ${qty} of ${q.reserved}`);
  q.reserved -= qty;
}

/** A pending order was paid: its reserved units are sold. */
export function sellReserved(q: ShardQuota, qty: number): void {
  invariant(qty > 0 && q.reserved >= qty, `sell ${qty} of ${q.reserved} reserved`);
  q.reserved -= qty;
  q.stock -= qty;
  q.sold += qty;
}

/** A late success accepted while units are free (`accept_if_available`): sold from free units. */
export function sellFree(q: ShardQuota, qty: number): boolean {
  invariant(qty > 0, `sell of ${qty}`);
  if (freeUnits(q) < qty) return false;
  q.stock -= qty;
  q.sold += qty;
  return true;
}

/**
 * Apply a grant from the coordinator: once, in order. A duplicate (a retried call, a resend of a
 * grant already applied) changes nothing; a gap waits for the coordinator to resend the earlier
 * one first, which it does, as it resends every grant the shard has not acknowledged in order.
 */
export function applyGrant(q: ShardQuota, grant: Transfer): Applied {
  if (grant.seq <= q.grantSeq) return "duplicate";
  if (grant.seq !== q.grantSeq + 1) return "gap";
  invariant(grant.qty > 0, `grant of ${grant.qty}`);
  q.grantSeq = grant.seq;
  q.granted += grant.qty;
  q.stock += grant.qty;
  return "applied";
}

/**
 * Give free units back to the coordinator: debited here first, in this transaction, and kept in
 * the outbox until the coordinator acknowledges them, so a return lost on the way is resent, never
 * spent twice. Returns the transfer to send, or null when there is nothing free to give.
 */
export function beginReturn(q: ShardQuota, qty: number): Transfer | null {
  const give = Math.min(qty, freeUnits(q));
  if (give <= 0) return null;
  q.stock -= give;
  q.returned += give;
  q.returnSeq += 1;
  const transfer = { seq: q.returnSeq, qty: give };
  q.outbox.push(transfer);
  return transfer;
}

/** The coordinator has applied every return up to `seq`: they need no resending. */
export function ackReturns(q: ShardQuota, seq: number): void {
  q.outbox = q.outbox.filter((transfer) => transfer.seq > seq);
}

/** Units to give back so that at most `keep` stay free (a recall, an idle shard's alarm). */
export function surplus(q: ShardQuota, keep: number): number {
  return Math.max(0, freeUnits(q) - keep);
}

export function reportOf(q: ShardQuota): ShardReport {
  return {
    shard: q.shard,
    free: freeUnits(q),
    reserved: q.reserved,
    sold: q.sold,
    grantSeq: q.grantSeq,
    granted: q.granted,
    returnSeq: q.returnSeq,
    returned: q.returned,
  };
}

/** I2, checked: the pair assertion to the arithmetic above (a bug if it ever fails). */
export function checkQuota(q: ShardQuota): void {
  invariant(q.stock + q.sold === q.granted - q.returned, `shard ${q.shard}: I2 ${describe(q)}`);
  invariant(q.reserved >= 0 && q.reserved <= q.stock, `shard ${q.shard}: reserved ${describe(q)}`);
  invariant(q.sold >= 0 && q.returned >= 0, `shard ${q.shard}: negative ${describe(q)}`);
  const seqs = q.outbox.map((transfer) => transfer.seq);
  invariant(
    seqs.every((seq, i) => seq === q.returnSeq - seqs.length + 1 + i),
    `shard ${q.shard}: outbox ${seqs.join(",")} does not end at return ${q.returnSeq}`,
  );
}

function describe(q: ShardQuota): string {
  return JSON.stringify({ ...q, outbox: q.outbox.length });
}
