import { failure, type Answer, type Failure } from "../contract/errors";
import type { LatePayments, PaymentStatus, WebhookAnswerView } from "../contract/shapes";
import { adjust } from "./counters";
import { findOrder } from "./orders";
import { createRefund, knownPayment } from "./refunds";
import { limitOf, moveShopperUnits, unitsOf } from "./shoppers";
import { available, productRow } from "./product-row";
import { firstRow, type Tx } from "./tx";
import { type OrderRow } from "./rows";

export interface PaymentNotice {
  idempotencyKey: string;
  orderId: string;
  status: PaymentStatus;
  /** What the gateway says it charged; checked against the order when given. */
  amountCents?: number;
  /** ISO 4217, any case. */
  currency?: string;
  /** The gateway's charge or payment-intent id. */
  paymentId?: string;
  /**
   * For a failure: false when the customer may still retry the same payment (Stripe's
   * `payment_intent.payment_failed`): the attempt is recorded and the order stays pending.
   * Absent or true: the payment is over and the order fails (the generic webhook's `failure`).
   */
  final?: boolean;
}

export interface PaymentSettled {
  answer: WebhookAnswerView;
  /** Units that went back on sale (a failed payment), for the Worker's sold-out memory. */
  freed: number;
}

/** The policies that decide a payment the object cannot simply apply. */
export interface PaymentPolicy {
  /** LATE_PAYMENTS, for products without a policy of their own. */
  latePayments: LatePayments;
  /** MAX_UNITS_PER_SHOPPER, which a late payment may not take a shopper past either. */
  defaultLimit: number;
  /** Units admitted queue shoppers are counting on: a late payment never takes them. */
  admittedUnits: number;
  /**
   * On a shard: a late payment that would be accepted but finds too few units here answers
   * `LateSaleShort`, having written nothing, so that the shard can borrow them and try again.
   */
  askForUnits?: boolean;
}

/** A late payment short of units on a shard (never an answer to the gateway: see `askForUnits`). */
export interface LateSaleShort extends Failure {
  code: "insufficient_stock";
  /** Units to borrow before trying again. */
  missing: number;
}

interface WebhookKeyRow {
  idempotency_key: string;
  order_id: string;
  payment_status: PaymentStatus;
  order_status: WebhookAnswerView["order_status"];
  ignored: number;
  answer: string | null;
}

/**
 * Apply a payment gateway's webhook exactly once per idempotency key. The key is stored in the
 * same transaction as the change it caused, so a copy that arrives later, or in parallel, finds
 * it and changes nothing. Money is reconciled as it arrives: a success for the wrong amount, a
 * second charge, or a late payment that cannot be honoured becomes a refund record.
 */
export function settlePayment(
  tx: Tx,
  notice: PaymentNotice,
  policy: PaymentPolicy,
): Answer<PaymentSettled, LateSaleShort> {
  const fields = {
    product_id: tx.productId,
    order_id: notice.orderId,
    idempotency_key: notice.idempotencyKey,
    payment_status: notice.status,
    payment_id: notice.paymentId,
  };

  const seen = firstRow<WebhookKeyRow>(
    tx.sql.exec("SELECT * FROM webhook_keys WHERE idempotency_key = ?", notice.idempotencyKey),
  );
  if (seen) return duplicate(tx, seen, notice, fields);

  const order = findOrder(tx, notice.orderId);
  let decided;
  if (order) decided = decide(tx, order, notice, policy, fields);
  else {
    // Retention may have deleted the order; its tombstone still says what a payment means.
    const tombstone = findTombstone(tx, notice.orderId);
    if (!tombstone) return failure("order_not_found", `No order ${notice.orderId}.`);
    decided = afterRetention(tx, tombstone, notice, fields);
  }
  if ("ok" in decided) return decided;
  const { answer, freed } = decided;
  tx.sql.exec(
    `INSERT INTO webhook_keys (idempotency_key, order_id, payment_status, order_status, ignored, received_at, answer)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
    notice.idempotencyKey,
    notice.orderId,
    notice.status,
    answer.order_status,
    answer.ignored ? 1 : 0,
    tx.now,
    JSON.stringify(answer),
  );
  adjust(tx, { webhooks_processed: 1, webhooks_ignored: answer.ignored ? 1 : 0 });
  return { ok: true, answer, freed };
}

/** What retention keeps of a deleted order: enough to refund a payment that comes after. */
interface TombstoneRow {
  order_id: string;
  status: "paid" | "failed" | "cancelled";
  payment_id: string | null;
  amount_cents: number;
  currency: string;
  closed_at: number;
}

function findTombstone(tx: Tx, orderId: string): TombstoneRow | undefined {
  return firstRow<TombstoneRow>(
    tx.sql.exec("SELECT * FROM order_tombstones WHERE order_id = ?", orderId),
  );
}

/**
 * A payment for an order retention has deleted: it was final long ago, so a failure changes
 * nothing, the payment that paid it is a duplicate, and any other success is money to return.
 */
function afterRetention(
  tx: Tx,
  tombstone: TombstoneRow,
  notice: PaymentNotice,
  fields: Record<string, string | number | undefined>,
): { answer: WebhookAnswerView; freed: number } {
  const answer = (extra: Partial<WebhookAnswerView>): WebhookAnswerView => ({
    order_id: tombstone.order_id,
    order_status: tombstone.status,
    duplicate: false,
    ...extra,
  });
  if (notice.status === "failure") return { answer: answer({ ignored: true }), freed: 0 };
  if (knownPayment(tx, tombstone, notice.paymentId)) {
    tx.log("Webhook Duplicate Ignored", { ...fields, same_payment: true, order_deleted: true });
    return { answer: answer({ duplicate: true }), freed: 0 };
  }
  const reason = tombstone.status === "paid" ? "double_charge" : "late_payment";
  createRefund(tx, tombstone, reason, notice);
  tx.log("Order already finalized, ignoring webhook.", {
    ...fields,
    order_status: tombstone.status,
    order_deleted: true,
    refund_required: true,
  });
  return {
    answer: answer({ ignored: true, ...(reason === "double_charge" ? { reason } : {}) }),
    freed: 0,
  };
}

/** The same key again: the first answer, marked as a duplicate, and nothing else changes. */
function duplicate(
  tx: Tx,
  seen: WebhookKeyRow,
  notice: PaymentNotice,
  fields: Record<string, string | number | undefined>,
): Answer<PaymentSettled> {
  if (seen.order_id !== notice.orderId || seen.payment_status !== notice.status) {
    return failure(
      "idempotency_key_reused",
      `Idempotency key ${notice.idempotencyKey} was already used for order ${seen.order_id} with status ${seen.payment_status}.`,
    );
  }
  tx.sql.exec(
    "UPDATE webhook_keys SET duplicates = duplicates + 1 WHERE idempotency_key = ?",
    notice.idempotencyKey,
  );
  adjust(tx, { webhooks_duplicates: 1 });
  tx.log("Webhook Duplicate Ignored", fields);
  // Keys from before whole answers were kept replay from their columns.
  const first: WebhookAnswerView = seen.answer
    ? (JSON.parse(seen.answer) as WebhookAnswerView)
    : { order_id: seen.order_id, order_status: seen.order_status, duplicate: false };
  if (!seen.answer && seen.ignored) first.ignored = true;
  return { ok: true, answer: { ...first, duplicate: true }, freed: 0 };
}

const sameMoney = (order: OrderRow, notice: PaymentNotice): boolean =>
  (notice.amountCents === undefined || notice.amountCents === order.amount_cents) &&
  (notice.currency === undefined || notice.currency.toUpperCase() === order.currency);

/** What a new key does to the order: the table in the README, in code. */
function decide(
  tx: Tx,
  order: OrderRow,
  notice: PaymentNotice,
  policy: PaymentPolicy,
  fields: Record<string, string | number | undefined>,
): { answer: WebhookAnswerView; freed: number } | LateSaleShort {
  const ignored = (reason?: WebhookAnswerView["reason"]): WebhookAnswerView => ({
    order_id: order.order_id,
    order_status: order.status,
    duplicate: false,
    ignored: true,
    ...(reason ? { reason } : {}),
  });
  const refundFor = (reason: "double_charge" | "amount_mismatch" | "late_payment") =>
    createRefund(tx, order, reason, notice);

  if (notice.status === "failure") {
    if (notice.final === false && order.status === "pending") {
      // The customer may retry the same payment: the order keeps its units until its window
      // closes, a final failure (Stripe's canceled) arrives, or a success pays it.
      tx.sql.exec(
        "UPDATE orders SET failed_attempts = failed_attempts + 1 WHERE order_id = ?",
        order.order_id,
      );
      tx.log("Payment attempt failed, order stays pending.", {
        ...fields,
        hold_id: order.hold_id,
        pay_by: new Date(order.pay_by).toISOString(),
      });
      return {
        answer: { order_id: order.order_id, order_status: "pending", duplicate: false },
        freed: 0,
      };
    }
    if (order.status !== "pending") {
      tx.log("Order already finalized, ignoring webhook.", {
        ...fields,
        order_status: order.status,
        refund_required: false,
      });
      return { answer: ignored(), freed: 0 };
    }
    closeOrder(tx, order, "failed", notice.paymentId);
    tx.log("Webhook Payment Failure - Units Released", {
      ...fields,
      hold_id: order.hold_id,
      qty: order.qty,
    });
    return {
      answer: { order_id: order.order_id, order_status: "failed", duplicate: false },
      freed: order.qty,
    };
  }

  // A success. The same payment id under a new key is the same payment, whatever the order is now.
  if (knownPayment(tx, order, notice.paymentId)) {
    tx.log("Webhook Duplicate Ignored", { ...fields, same_payment: true });
    return {
      answer: { order_id: order.order_id, order_status: order.status, duplicate: true },
      freed: 0,
    };
  }
  if (order.status === "paid") {
    refundFor("double_charge");
    tx.log("Order already finalized, ignoring webhook.", {
      ...fields,
      order_status: order.status,
      refund_required: true,
    });
    return { answer: ignored("double_charge"), freed: 0 };
  }
  if (!sameMoney(order, notice)) {
    // The order stays as it is (pending until its window closes); the money goes back.
    refundFor("amount_mismatch");
    return { answer: ignored("amount_mismatch"), freed: 0 };
  }
  if (order.status === "pending") {
    closeOrder(tx, order, "paid", notice.paymentId);
    tx.log("Webhook Payment Success - Stock Deducted", {
      ...fields,
      hold_id: order.hold_id,
      qty: order.qty,
    });
    return {
      answer: { order_id: order.order_id, order_status: "paid", duplicate: false },
      freed: 0,
    };
  }

  // A success for an order already closed (window, shopper cancel or failure).
  const product = productRow(tx.sql);
  if ((product.late_payments ?? policy.latePayments) === "accept_if_available") {
    const limit = limitOf(product, policy.defaultLimit);
    const withinLimit =
      order.shopper_id === null || unitsOf(tx, order.shopper_id) + order.qty <= limit;
    if (withinLimit && sellLate(tx, order, notice.paymentId, policy.admittedUnits)) {
      tx.log("Late payment accepted, stock deducted.", {
        ...fields,
        hold_id: order.hold_id,
        qty: order.qty,
        was: order.status,
      });
      const answer: WebhookAnswerView = {
        order_id: order.order_id,
        order_status: "paid",
        duplicate: false,
        paid_late: true,
      };
      return { answer, freed: 0 };
    }
    if (withinLimit && policy.askForUnits) {
      const free = Math.max(0, available(product) - policy.admittedUnits);
      return {
        ok: false,
        code: "insufficient_stock",
        message: `A late payment needs ${order.qty} unit(s); ${free} free here.`,
        missing: order.qty - free,
      };
    }
  }
  flagLateRefund(tx, order, notice);
  refundFor("late_payment");
  tx.log("Order already finalized, ignoring webhook.", {
    ...fields,
    order_status: order.status,
    refund_required: true,
  });
  return { answer: ignored(), freed: 0 };
}

/** A pending order's first word: its units are sold (paid) or go back on sale (failed). */
function closeOrder(
  tx: Tx,
  order: OrderRow,
  status: "paid" | "failed",
  paymentId: string | undefined,
): void {
  if (status === "paid") {
    adjust(tx, {
      stock: -order.qty,
      reserved: -order.qty,
      sold: order.qty,
      orders_pending: -1,
      orders_paid: 1,
      revenue_cents: order.amount_cents,
    });
  } else {
    adjust(tx, { reserved: -order.qty, orders_pending: -1, orders_failed: 1 });
    moveShopperUnits(tx, order.shopper_id, -order.qty);
  }
  const closed: OrderRow = {
    ...order,
    status,
    updated_at: tx.now,
    // A paid order names the payment that paid it (or none); a failed one, the attempt that failed.
    payment_id: status === "paid" ? (paymentId ?? null) : (paymentId ?? order.payment_id),
  };
  tx.sql.exec(
    "UPDATE orders SET status = ?, updated_at = ?, payment_id = ? WHERE order_id = ?",
    status,
    tx.now,
    closed.payment_id,
    order.order_id,
  );
  tx.record({ event: status === "paid" ? "order_paid" : "order_failed", order: closed });
}

/**
 * Sell a closed order's units after all, if that many are on sale right now: checked and taken
 * in one statement, as a hold does. Returns false (nothing changed) when they are not.
 */
function sellLate(
  tx: Tx,
  order: OrderRow,
  paymentId: string | undefined,
  admittedUnits: number,
): boolean {
  const was = order.status === "failed" ? "orders_failed" : "orders_cancelled";
  // Units admitted queue shoppers are counting on are not on sale to a late payment.
  const sold = firstRow(
    tx.sql.exec(
      `UPDATE product SET stock = stock - ?1, sold = sold + ?1, orders_paid = orders_paid + 1,
         ${was} = ${was} - 1, revenue_cents = revenue_cents + ?3
       WHERE stock - reserved - lent - ?2 >= ?1 RETURNING 1 AS sold`,
      order.qty,
      admittedUnits,
      order.amount_cents,
    ),
  );
  if (!sold) return false;
  moveShopperUnits(tx, order.shopper_id, order.qty);
  const paid: OrderRow = {
    ...order,
    status: "paid",
    updated_at: tx.now,
    // The payment that paid it, not a failed attempt the order remembered.
    payment_id: paymentId ?? null,
    paid_late: 1,
  };
  tx.sql.exec(
    "UPDATE orders SET status = 'paid', paid_late = 1, updated_at = ?, payment_id = ? WHERE order_id = ?",
    tx.now,
    paid.payment_id,
    order.order_id,
  );
  tx.record({
    event: "order_paid",
    order: paid,
    detail: `late payment accepted (was ${order.status})`,
  });
  return true;
}

/** The order history has said `needs_refund` since the first release; keep saying it. */
function flagLateRefund(tx: Tx, order: OrderRow, notice: PaymentNotice): void {
  if (order.needs_refund) return;
  const flagged: OrderRow = { ...order, needs_refund: 1, updated_at: tx.now };
  tx.sql.exec(
    "UPDATE orders SET needs_refund = 1, updated_at = ? WHERE order_id = ?",
    tx.now,
    order.order_id,
  );
  tx.record({
    event: "refund_required",
    order: flagged,
    detail: `payment success arrived for a ${order.status} order (key ${notice.idempotencyKey})`,
  });
}
