import { moveShopperUnits } from "./shoppers";
import { adjust } from "./counters";
import { rows, type Tx } from "./tx";
import { type HoldRow, type OrderRow } from "./rows";

/**
 * Release every hold and cancel every unpaid order whose deadline has passed. Runs from the alarm
 * and at the start of every transaction that reads or takes stock, so availability is exact even
 * when the alarm is late. Returns the earliest deadline still ahead (Infinity when none).
 */
export function releaseDue(tx: Tx): number {
  const holds = rows<Pick<HoldRow, "hold_id" | "qty" | "expires_at" | "shopper_id">>(
    tx.sql.exec(
      "SELECT hold_id, qty, expires_at, shopper_id FROM holds WHERE status = 'active' AND expires_at <= ?",
      tx.now,
    ),
  );
  for (const hold of holds) {
    tx.sql.exec("UPDATE holds SET status = 'expired' WHERE hold_id = ?", hold.hold_id);
    adjust(tx, { reserved: -hold.qty, holds_active: -1, holds_expired: 1 });
    moveShopperUnits(tx, hold.shopper_id, -hold.qty);
    tx.log("Expired hold released.", {
      product_id: tx.productId,
      hold_id: hold.hold_id,
      qty: hold.qty,
      expired_at: new Date(hold.expires_at).toISOString(),
    });
  }

  const orders = rows<OrderRow>(
    tx.sql.exec("SELECT * FROM orders WHERE status = 'pending' AND pay_by <= ?", tx.now),
  );
  for (const order of orders) {
    tx.sql.exec(
      "UPDATE orders SET status = 'cancelled', updated_at = ? WHERE order_id = ?",
      tx.now,
      order.order_id,
    );
    adjust(tx, { reserved: -order.qty, orders_pending: -1, orders_cancelled: 1 });
    moveShopperUnits(tx, order.shopper_id, -order.qty);
    tx.record({
      event: "order_cancelled",
      order: { ...order, status: "cancelled", updated_at: tx.now },
      detail: "payment window closed",
    });
    tx.log("Unpaid order cancelled, units released.", {
      product_id: tx.productId,
      order_id: order.order_id,
      hold_id: order.hold_id,
      qty: order.qty,
      pay_by: new Date(order.pay_by).toISOString(),
    });
  }

  return earliestDeadline(tx.sql);
}

/** The earliest deadline among active holds and pending orders, or Infinity. */
export function earliestDeadline(sql: SqlStorage): number {
  const row = sql
    .exec(
      `SELECT MIN(at) AS at FROM (
         SELECT MIN(expires_at) AS at FROM holds WHERE status = 'active'
         UNION ALL
         SELECT MIN(pay_by) AS at FROM orders WHERE status = 'pending')`,
    )
    .one();
  return typeof row.at === "number" ? row.at : Infinity;
}

/**
 * The product as it stands at `now` without writing anything: units in holds and unpaid orders
 * past their deadline count as free (the alarm or the next write releases them). Only reads when
 * something may be due (`expiryAt`, the earliest known deadline, is not ahead).
 */
export function productAsOf<P extends { reserved: number }>(
  sql: SqlStorage,
  product: P,
  now: number,
  expiryAt: number,
): P {
  if (now < expiryAt) return product;
  const row = sql
    .exec(
      `SELECT COALESCE(SUM(qty), 0) AS due FROM (
         SELECT qty FROM holds WHERE status = 'active' AND expires_at <= ?
         UNION ALL
         SELECT qty FROM orders WHERE status = 'pending' AND pay_by <= ?)`,
      now,
      now,
    )
    .one();
  const due = Number(row.due);
  return due === 0 ? product : { ...product, reserved: product.reserved - due };
}
