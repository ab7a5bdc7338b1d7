import { orderNumber } from "../contract/ids";
import type { OrderStatus, OrderView } from "../contract/shapes";

/**
 * The order history in D1 as operators search it: orders newest first with filters, and what
 * happened to one order (its events and refunds). The product's object is the one that changes
 * an order; this is its copy, a moment behind.
 */

interface OrderHistoryRow {
  order_id: string;
  product_id: number;
  hold_id: string;
  qty: number;
  amount_cents: number;
  currency: string;
  status: OrderStatus;
  created_at: string;
  pay_by: string;
  updated_at: string;
  shopper_id: string | null;
  payment_id: string | null;
  paid_late: number;
}

const COLUMNS = `order_id, product_id, hold_id, qty, amount_cents, currency, status, created_at,
  pay_by, updated_at, shopper_id, payment_id, paid_late`;

function orderView(row: OrderHistoryRow): OrderView {
  const view: OrderView = {
    order_id: row.order_id,
    order_number: orderNumber(row.order_id),
    hold_id: row.hold_id,
    product_id: row.product_id,
    qty: row.qty,
    status: row.status,
    amount_cents: row.amount_cents,
    currency: row.currency,
    created_at: row.created_at,
    pay_by: row.pay_by,
    updated_at: row.updated_at,
    payment_id: row.payment_id,
    paid_late: row.paid_late === 1,
  };
  if (row.shopper_id !== null) view.shopper_id = row.shopper_id;
  return view;
}

export interface OrderQuery {
  productId: number | null;
  status: OrderStatus | null;
  shopperId: string | null;
  paymentId: string | null;
  /** The first 10 hex digits of the order id's random part (an order number, read back). */
  idPrefix: string | null;
  /** ISO 8601 (UTC, as stored): orders created at or after it. */
  since: string | null;
  /** Where the previous page ended (newest first). */
  after: { createdAt: string; orderId: string } | null;
  limit: number;
}

/** Orders from the history in D1, newest first; throws when D1 cannot answer. */
export async function listOrders(db: D1Database, query: OrderQuery): Promise<OrderView[]> {
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM orders
       WHERE (?1 IS NULL OR product_id = ?1) AND (?2 IS NULL OR status = ?2)
         AND (?3 IS NULL OR shopper_id = ?3) AND (?4 IS NULL OR payment_id = ?4)
         AND (?5 IS NULL OR substr(order_id, -32, 10) = ?5) AND (?6 IS NULL OR created_at >= ?6)
         AND (?7 IS NULL OR created_at < ?7 OR (created_at = ?7 AND order_id < ?8))
       ORDER BY created_at DESC, order_id DESC
       LIMIT ?9`,
    )
    .bind(
      query.productId,
      query.status,
      query.shopperId,
      query.paymentId,
      query.idPrefix,
      query.since,
      query.after?.createdAt ?? null,
      query.after?.orderId ?? null,
      query.limit,
    )
    .all<OrderHistoryRow>();
  return results.map(orderView);
}

/** One order's history: its copy, its events in order, and its refunds. */
export interface OrderTrail {
  order: OrderView | null;
  events: { event: string; status: string; at: string; detail: string | null }[];
  refunds: {
    refund_id: string;
    amount_cents: number;
    currency: string;
    reason: string;
    created_at: string;
    resolved_at: string | null;
    note: string | null;
  }[];
}

/** Everything D1 has on one order; throws when D1 cannot answer. */
export async function readOrderTrail(db: D1Database, orderId: string): Promise<OrderTrail> {
  const [order, events, refunds] = await db.batch([
    db.prepare(`SELECT ${COLUMNS} FROM orders WHERE order_id = ?`).bind(orderId),
    db
      .prepare(
        "SELECT event, status, at, detail FROM order_events WHERE order_id = ? ORDER BY at, seq",
      )
      .bind(orderId),
    db
      .prepare(
        `SELECT refund_id, amount_cents, currency, reason, created_at, resolved_at, note
         FROM refunds WHERE order_id = ? ORDER BY created_at`,
      )
      .bind(orderId),
  ]);
  const row = (order?.results as OrderHistoryRow[] | undefined)?.[0];
  return {
    order: row ? orderView(row) : null,
    events: (events?.results ?? []) as OrderTrail["events"],
    refunds: (refunds?.results ?? []) as OrderTrail["refunds"],
  };
}
