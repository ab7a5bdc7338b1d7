import { adjust } from "./counters";
import { rows, type Tx } from "./tx";
import { type OrderRow } from "./rows";

/**
 * Bounded storage. Holds that are expired or released, orders that are final (with the holds they
 * came from), webhook and restock keys, refunds that are resolved, and the queue's shopper map
 * and used admissions are deleted once older than
 * RETENTION_DAYS, and, for what is copied to D1, once D1 has it. The alarm deletes a small slice
 * at a time (at most SLICE rows per kind), so no single event holds the object's thread for more
 * than a few milliseconds, and comes back a second later while there is more.
 *
 * A webhook key that comes back after it was deleted is treated as new (as Stripe does with
 * idempotency keys); the order's own state still stops a payment from being applied twice. A
 * deleted order leaves a tombstone (its id, status, payment id and amount), kept at least
 * TOMBSTONE_DAYS, so a payment that arrives after the order is gone still becomes a refund.
 *
 * History that D1 refused for good (a dead letter) holds back only the rows it is about: the
 * rest of retention goes on.
 */
export const SLICE = 100;
/** Longer than any gateway redelivers, and than card disputes run. */
export const TOMBSTONE_DAYS = 400;
const tombstoneMs = (retentionMs: number) => Math.max(retentionMs, TOMBSTONE_DAYS * 86_400_000);

/** Orders and refunds named by a dead letter: kept until it is retried and copied. */
const NOT_DEAD_LETTERED = `NOT IN (SELECT json_extract(payload, '$.order.order_id') FROM dead_letters
  WHERE json_extract(payload, '$.order.order_id') IS NOT NULL)`;
const REFUND_NOT_DEAD_LETTERED = `NOT IN (SELECT json_extract(payload, '$.refund.refund_id')
  FROM dead_letters WHERE json_extract(payload, '$.refund.refund_id') IS NOT NULL)`;

export interface RetentionSlice {
  deleted: number;
  /** Some kind hit the slice size: there is probably more to delete right now. */
  more: boolean;
}

/**
 * Everything changed before this time has reached D1 or the dead letters: the oldest event still
 * waiting in the outbox.
 */
function copiedBefore(sql: SqlStorage): number {
  const row = sql.exec("SELECT MIN(appended_at) AS at FROM outbox").one();
  return typeof row.at === "number" ? row.at : Infinity;
}

/** Delete one slice of what retention allows, in the caller's transaction. */
export function pruneSlice(tx: Tx, retentionMs: number): RetentionSlice {
  const cutoff = tx.now - retentionMs;
  const copiedCutoff = Math.min(cutoff, copiedBefore(tx.sql));
  let deleted = 0;
  let more = false;
  const count = (n: number) => {
    deleted += n;
    if (n >= SLICE) more = true;
  };

  const orders = rows<OrderRow>(
    tx.sql.exec(
      `SELECT * FROM orders WHERE status != 'pending' AND updated_at < ?
         AND order_id ${NOT_DEAD_LETTERED} ORDER BY updated_at LIMIT ?`,
      copiedCutoff,
      SLICE,
    ),
  );
  for (const order of orders) {
    if (order.status === "paid") {
      // Sold stays sold and still counts against the shopper's limit: the units are kept as
      // counts once their rows are gone, for the full check to add back.
      adjust(tx, { pruned_paid_units: order.qty, pruned_paid_cents: order.amount_cents });
      if (order.shopper_id !== null) {
        tx.sql.exec(
          "UPDATE shopper_units SET pruned_units = pruned_units + ? WHERE shopper_id = ?",
          order.qty,
          order.shopper_id,
        );
      }
    }
    tx.sql.exec(
      `INSERT OR REPLACE INTO order_tombstones
         (order_id, status, payment_id, amount_cents, currency, closed_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
      order.order_id,
      order.status,
      order.payment_id,
      order.amount_cents,
      order.currency,
      order.updated_at,
    );
    tx.sql.exec("DELETE FROM orders WHERE order_id = ?", order.order_id);
    tx.sql.exec("DELETE FROM holds WHERE hold_id = ?", order.hold_id);
  }
  count(orders.length);

  const deleteOld = (query: string, before: number) =>
    count(tx.sql.exec(query, before, SLICE).rowsWritten);
  deleteOld(
    `DELETE FROM holds WHERE hold_id IN (SELECT hold_id FROM holds
       WHERE status IN ('expired', 'released') AND expires_at < ? ORDER BY expires_at LIMIT ?)`,
    cutoff,
  );
  deleteOld(
    `DELETE FROM webhook_keys WHERE idempotency_key IN (SELECT idempotency_key FROM webhook_keys
       WHERE received_at < ? ORDER BY received_at LIMIT ?)`,
    cutoff,
  );
  deleteOld(
    `DELETE FROM restock_keys WHERE idempotency_key IN (SELECT idempotency_key FROM restock_keys
       WHERE received_at < ? ORDER BY received_at LIMIT ?)`,
    cutoff,
  );
  deleteOld(
    `DELETE FROM refunds WHERE refund_id IN (SELECT refund_id FROM refunds
       WHERE status = 'resolved' AND resolved_at < ? AND refund_id ${REFUND_NOT_DEAD_LETTERED}
       ORDER BY resolved_at LIMIT ?)`,
    copiedCutoff,
  );
  deleteOld(
    `DELETE FROM order_tombstones WHERE order_id IN (SELECT order_id FROM order_tombstones
       WHERE closed_at < ? ORDER BY closed_at LIMIT ?)`,
    tx.now - tombstoneMs(retentionMs),
  );
  deleteOld(
    `DELETE FROM queue_shoppers WHERE shopper_id IN (SELECT shopper_id FROM queue_shoppers
       WHERE joined_at < ? ORDER BY joined_at LIMIT ?)`,
    cutoff,
  );
  deleteOld(
    `DELETE FROM queue_left WHERE seq IN (SELECT seq FROM queue_left
       WHERE left_at < ? ORDER BY left_at LIMIT ?)`,
    cutoff,
  );
  deleteOld(
    `DELETE FROM queue_admissions_used WHERE seq IN (SELECT seq FROM queue_admissions_used
       WHERE used_at < ? ORDER BY used_at LIMIT ?)`,
    cutoff,
  );
  // A shopper with nothing left counts as zero without a row (and paid units keep theirs).
  count(
    tx.sql.exec(
      `DELETE FROM shopper_units WHERE shopper_id IN (SELECT shopper_id FROM shopper_units
         WHERE units = 0 AND pruned_units = 0 AND carried = 0 LIMIT ?)`,
      SLICE,
    ).rowsWritten,
  );
  if (deleted > 0) tx.log("Retention deleted old rows.", { product_id: tx.productId, deleted });
  return { deleted, more };
}

/** While retention finds more to delete, the next slice runs this soon. */
const NEXT_SLICE_MS = 1_000;
/** When what retention may delete is still waiting for D1, look again this much later. */
const RECHECK_MS = 60_000;

/**
 * When retention runs again after a slice that began at `now`: soon while it finds more, else
 * when the oldest row becomes old enough; one due but still waiting for D1 (or for the history
 * copy) is looked at again a little later.
 */
export function nextSliceAt(
  sql: SqlStorage,
  retentionMs: number,
  now: number,
  slice: RetentionSlice,
): number {
  const next = slice.more ? now + NEXT_SLICE_MS : nextPrunableAt(sql, retentionMs);
  return next <= now ? now + RECHECK_MS : next;
}

/** When the oldest row that retention will delete becomes old enough (Infinity: none). */
export function nextPrunableAt(sql: SqlStorage, retentionMs: number): number {
  // One indexed MIN per kind (the object's SQLite allows only a few terms in a compound SELECT).
  const oldest = [
    "SELECT MIN(updated_at) AS at FROM orders WHERE status != 'pending'",
    "SELECT MIN(expires_at) AS at FROM holds WHERE status IN ('expired', 'released')",
    "SELECT MIN(received_at) AS at FROM webhook_keys",
    "SELECT MIN(received_at) AS at FROM restock_keys",
    "SELECT MIN(resolved_at) AS at FROM refunds WHERE status = 'resolved'",
    "SELECT MIN(joined_at) AS at FROM queue_shoppers",
    "SELECT MIN(used_at) AS at FROM queue_admissions_used",
    "SELECT MIN(left_at) AS at FROM queue_left",
  ].map((query) => sql.exec(query).one().at);
  const at = Math.min(...oldest.map((value) => (typeof value === "number" ? value : Infinity)));
  const tombstone = sql.exec("SELECT MIN(closed_at) AS at FROM order_tombstones").one().at;
  return Math.min(
    at + retentionMs,
    typeof tombstone === "number" ? tombstone + tombstoneMs(retentionMs) : Infinity,
  );
}
