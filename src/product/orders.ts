import { failure, type Failure } from "../errors";
import { newOrderId } from "../ids";
import type { OrderView } from "../schemas";
import { readProduct } from "./stock";
import { firstRow, type HoldRow, type OrderRow, type Tx } from "./tx";

export interface OrderResult {
  ok: true;
  order: OrderView;
  /** False when the hold had already become this order (a repeated POST). */
  created: boolean;
}

export function orderView(productId: number, order: OrderRow): OrderView {
  return {
    order_id: order.order_id,
    hold_id: order.hold_id,
    product_id: productId,
    qty: order.qty,
    status: order.status,
    amount_cents: order.amount_cents,
    currency: order.currency,
    created_at: new Date(order.created_at).toISOString(),
    pay_by: new Date(order.pay_by).toISOString(),
    updated_at: new Date(order.updated_at).toISOString(),
  };
}

export function findOrder(tx: Tx, orderId: string): OrderRow | undefined {
  return firstRow<OrderRow>(tx.sql.exec("SELECT * FROM orders WHERE order_id = ?", orderId));
}

/**
 * Turn an active hold into a pending order. The units stay reserved; they now wait for the
 * payment instead of the hold's deadline.
 */
export function createOrder(tx: Tx, holdId: string, paymentTtlMs: number): OrderResult | Failure {
  const hold = firstRow<HoldRow>(tx.sql.exec("SELECT * FROM holds WHERE hold_id = ?", holdId));
  if (!hold) return failure("hold_not_found", `No hold ${holdId}.`);

  if (hold.status === "ordered") {
    const existing = findOrder(tx, hold.order_id!)!;
    return { ok: true, order: orderView(tx.productId, existing), created: false };
  }
  if (hold.status === "expired" || hold.expires_at <= tx.now) {
    return failure(
      "hold_expired",
      `Hold ${holdId} expired at ${new Date(hold.expires_at).toISOString()}; its units were released.`,
    );
  }

  const product = readProduct(tx.sql)!;
  const order: OrderRow = {
    order_id: newOrderId(tx.productId),
    hold_id: hold.hold_id,
    qty: hold.qty,
    amount_cents: hold.qty * product.price_cents,
    currency: product.currency,
    status: "pending",
    created_at: tx.now,
    pay_by: tx.now + paymentTtlMs,
    updated_at: tx.now,
    needs_refund: 0,
  };
  tx.sql.exec(
    `INSERT INTO orders (order_id, hold_id, qty, amount_cents, currency, status, created_at, pay_by, updated_at)
     VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
    order.order_id,
    order.hold_id,
    order.qty,
    order.amount_cents,
    order.currency,
    order.created_at,
    order.pay_by,
    order.updated_at,
  );
  tx.sql.exec(
    "UPDATE holds SET status = 'ordered', order_id = ? WHERE hold_id = ?",
    order.order_id,
    hold.hold_id,
  );
  tx.deadline(order.pay_by);
  tx.record({ event: "order_created", order });
  return { ok: true, order: orderView(tx.productId, order), created: true };
}
