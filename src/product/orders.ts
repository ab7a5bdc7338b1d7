import { failure, type Answer, type Failure } from "../contract/errors";
import { newOrderId, orderNumber } from "../contract/ids";
import type { OrderView } from "../contract/shapes";
import { findHold, holdOwnerFailure } from "./holds";
import { moveShopperUnits } from "./shoppers";
import { adjust } from "./counters";
import { productRow } from "./product-row";
import { firstRow, rows, type Look, type Tx } from "./tx";
import { type OrderRow } from "./rows";

export interface OrderMade {
  order: OrderView;
  /** False when the hold had already become this order (a repeated POST). */
  created: boolean;
}

export interface OrderCancelled {
  order: OrderView;
  /** Units that went back on sale now (0 when the order was already cancelled). */
  freed: number;
}

/** Who is asking to see an order: its shopper sees it, and so does an operator. */
export interface OrderViewer {
  shopperId: string | null;
  admin: boolean;
}

export function orderView(productId: number, order: OrderRow): OrderView {
  const view: OrderView = {
    order_id: order.order_id,
    order_number: orderNumber(order.order_id),
    hold_id: order.hold_id,
    product_id: productId,
    qty: order.qty,
    status: order.status,
    amount_cents: order.amount_cents,
    currency: order.currency,
    created_at: new Date(order.created_at).toISOString(),
    pay_by: new Date(order.pay_by).toISOString(),
    updated_at: new Date(order.updated_at).toISOString(),
    payment_id: order.payment_id,
    paid_late: order.paid_late === 1,
  };
  if (order.shopper_id !== null) view.shopper_id = order.shopper_id;
  return view;
}

export function findOrder(tx: Look, orderId: string): OrderRow | undefined {
  return firstRow<OrderRow>(tx.sql.exec("SELECT * FROM orders WHERE order_id = ?", orderId));
}

export function orderOwnerFailure(order: OrderRow, shopperId: string | null): Failure | null {
  if (order.shopper_id === null || order.shopper_id === shopperId) return null;
  return failure("not_your_order", `Order ${order.order_id} belongs to another shopper.`);
}

/**
 * Turn an active hold into a pending order. The units stay reserved; they now wait for the
 * payment instead of the hold's deadline. The price is the one the hold was made at.
 */
export function createOrder(
  tx: Tx,
  holdId: string,
  shopperId: string | null,
  paymentTtlMs: number,
): Answer<OrderMade> {
  const hold = findHold(tx, holdId);
  if (!hold) return failure("hold_not_found", `No hold ${holdId}.`);
  const notYours = holdOwnerFailure(hold, shopperId);
  if (notYours) return notYours;

  if (hold.status === "ordered" && hold.order_id !== null) {
    const existing = findOrder(tx, hold.order_id);
    if (!existing)
      throw new Error(`hold ${holdId} is ordered but order ${hold.order_id} is missing`);
    return { ok: true, order: orderView(tx.productId, existing), created: false };
  }
  if (hold.status === "released") {
    return failure("hold_released", `Hold ${holdId} was released; its units are on sale again.`);
  }
  if (hold.status === "expired" || hold.expires_at <= tx.now) {
    return failure(
      "hold_expired",
      `Hold ${holdId} expired at ${new Date(hold.expires_at).toISOString()}; its units were released.`,
    );
  }

  const product = productRow(tx.sql);
  const order: OrderRow = {
    order_id: newOrderId(tx.productId, tx.shard),
    hold_id: hold.hold_id,
    qty: hold.qty,
    amount_cents: hold.qty * (hold.price_cents ?? product.price_cents),
    currency: product.currency,
    status: "pending",
    created_at: tx.now,
    pay_by: tx.now + paymentTtlMs,
    updated_at: tx.now,
    needs_refund: 0,
    shopper_id: hold.shopper_id,
    payment_id: null,
    paid_late: 0,
  };
  tx.sql.exec(
    `INSERT INTO orders (order_id, hold_id, qty, amount_cents, currency, status, created_at, pay_by, updated_at, shopper_id)
     VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)`,
    order.order_id,
    order.hold_id,
    order.qty,
    order.amount_cents,
    order.currency,
    order.created_at,
    order.pay_by,
    order.updated_at,
    order.shopper_id,
  );
  tx.sql.exec(
    "UPDATE holds SET status = 'ordered', order_id = ? WHERE hold_id = ?",
    order.order_id,
    hold.hold_id,
  );
  adjust(tx, { holds_active: -1, holds_ordered: 1, orders_pending: 1 });
  tx.deadline(order.pay_by);
  tx.record({ event: "order_created", order });
  return { ok: true, order: orderView(tx.productId, order), created: true };
}

/**
 * An order as `viewer` may see it, as of `at.now`, read with no transaction: another shopper's
 * order is, to them, no order at all. A pending order whose payment window has closed is shown
 * cancelled, as it was at its pay-by (the alarm, or the next write, cancels it and frees its
 * units), so polling an order costs the object one read and no write.
 */
export function readOrder(
  at: Look,
  orderId: string,
  viewer: OrderViewer,
): Answer<{ order: OrderView }> {
  const order = findOrder(at, orderId);
  const visible =
    order !== undefined &&
    (viewer.admin || order.shopper_id === null || order.shopper_id === viewer.shopperId);
  if (!visible) return failure("order_not_found", `No order ${orderId}.`);
  const closed = order.status === "pending" && order.pay_by <= at.now;
  const asOf: OrderRow = closed
    ? { ...order, status: "cancelled", updated_at: order.pay_by }
    : order;
  return { ok: true, order: orderView(at.productId, asOf) };
}

/**
 * The shopper calls off a pending order: its units go back on sale at once. Cancelling again
 * answers the cancelled order; a paid or failed order is final. A payment that arrives after
 * is handled as for any cancelled order.
 */
export function cancelOrder(
  tx: Tx,
  orderId: string,
  shopperId: string | null,
): Answer<OrderCancelled> {
  const order = findOrder(tx, orderId);
  if (!order) return failure("order_not_found", `No order ${orderId}.`);
  const notYours = orderOwnerFailure(order, shopperId);
  if (notYours) return notYours;
  if (order.status === "cancelled") {
    return { ok: true, order: orderView(tx.productId, order), freed: 0 };
  }
  if (order.status !== "pending") {
    return failure(
      "order_not_pending",
      `Order ${orderId} is ${order.status}; it can no longer be cancelled.`,
    );
  }

  const cancelled: OrderRow = { ...order, status: "cancelled", updated_at: tx.now };
  tx.sql.exec(
    "UPDATE orders SET status = 'cancelled', updated_at = ? WHERE order_id = ?",
    tx.now,
    orderId,
  );
  adjust(tx, { reserved: -order.qty, orders_pending: -1, orders_cancelled: 1 });
  moveShopperUnits(tx, order.shopper_id, -order.qty);
  tx.record({ event: "order_cancelled", order: cancelled, detail: "cancelled by the shopper" });
  tx.log("Order cancelled by shopper, units released.", {
    product_id: tx.productId,
    order_id: orderId,
    hold_id: order.hold_id,
    qty: order.qty,
    shopper_id: order.shopper_id,
  });
  return { ok: true, order: orderView(tx.productId, cancelled), freed: order.qty };
}

/** What the object alone knows of an order's story: when its hold was made, each payment notice. */
export interface OrderTrailLive {
  order: OrderView;
  /** Epoch ms; null once retention deleted the hold. */
  holdCreatedAt: number | null;
  payments: { at: number; status: "success" | "failure"; ignored: boolean; key: string }[];
}

/** The live order with what the object keeps beside it, for the operators' timeline. */
export function readOrderTrail(tx: Tx, orderId: string): Answer<OrderTrailLive> {
  const order = findOrder(tx, orderId);
  if (!order) return failure("order_not_found", `No order ${orderId}.`);
  const hold = findHold(tx, order.hold_id);
  const payments = rows<{
    idempotency_key: string;
    payment_status: "success" | "failure";
    ignored: number;
    received_at: number;
  }>(
    tx.sql.exec(
      `SELECT idempotency_key, payment_status, ignored, received_at FROM webhook_keys
       WHERE order_id = ? ORDER BY received_at`,
      orderId,
    ),
  );
  return {
    ok: true,
    order: orderView(tx.productId, order),
    holdCreatedAt: hold?.created_at ?? null,
    payments: payments.map((p) => ({
      at: p.received_at,
      status: p.payment_status,
      ignored: p.ignored === 1,
      key: p.idempotency_key,
    })),
  };
}
