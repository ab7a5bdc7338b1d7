import { failure, type Failure } from "../errors";
import type { PaymentStatus, WebhookAnswerView } from "../schemas";
import { moveShopperUnits } from "./shoppers";
import { release, sell } from "./stock";
import { findOrder } from "./orders";
import { firstRow, type Tx } from "./tx";

export interface PaymentNotice {
  idempotencyKey: string;
  orderId: string;
  status: PaymentStatus;
}

export interface PaymentSettled {
  ok: true;
  answer: WebhookAnswerView;
}

interface WebhookKeyRow {
  idempotency_key: string;
  order_id: string;
  payment_status: PaymentStatus;
  order_status: WebhookAnswerView["order_status"];
  ignored: number;
}

/**
 * Apply a payment gateway's webhook exactly once per idempotency key. The key is stored in the
 * same transaction as the change it caused, so a copy that arrives later, or in parallel, finds
 * it and changes nothing.
 */
export function settlePayment(tx: Tx, notice: PaymentNotice): PaymentSettled | Failure {
  const fields = {
    product_id: tx.productId,
    order_id: notice.orderId,
    idempotency_key: notice.idempotencyKey,
    payment_status: notice.status,
  };

  const seen = firstRow<WebhookKeyRow>(
    tx.sql.exec("SELECT * FROM webhook_keys WHERE idempotency_key = ?", notice.idempotencyKey),
  );
  if (seen) {
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
    tx.log("Webhook Duplicate Ignored", fields);
    const answer: WebhookAnswerView = {
      order_id: seen.order_id,
      order_status: seen.order_status,
      duplicate: true,
    };
    if (seen.ignored) answer.ignored = true;
    return { ok: true, answer };
  }

  const order = findOrder(tx, notice.orderId);
  if (!order) return failure("order_not_found", `No order ${notice.orderId}.`);

  let answer: WebhookAnswerView;
  if (order.status !== "pending") {
    // Final already: the first word on an order stands. Money taken for an order that will not
    // ship has to go back, so a late success is flagged for a refund.
    const refund =
      notice.status === "success" && (order.status === "cancelled" || order.status === "failed");
    if (refund && !order.needs_refund) {
      tx.sql.exec(
        "UPDATE orders SET needs_refund = 1, updated_at = ? WHERE order_id = ?",
        tx.now,
        order.order_id,
      );
      tx.record({
        event: "refund_required",
        order: { ...order, needs_refund: 1, updated_at: tx.now },
        detail: `payment success arrived for a ${order.status} order (key ${notice.idempotencyKey})`,
      });
    }
    tx.log("Order already finalized, ignoring webhook.", {
      ...fields,
      order_status: order.status,
      refund_required: refund,
    });
    answer = {
      order_id: order.order_id,
      order_status: order.status,
      duplicate: false,
      ignored: true,
    };
  } else if (notice.status === "success") {
    sell(tx.sql, order.qty);
    tx.sql.exec(
      "UPDATE orders SET status = 'paid', updated_at = ? WHERE order_id = ?",
      tx.now,
      order.order_id,
    );
    tx.record({ event: "order_paid", order: { ...order, status: "paid", updated_at: tx.now } });
    tx.log("Webhook Payment Success - Stock Deducted", {
      ...fields,
      hold_id: order.hold_id,
      qty: order.qty,
    });
    answer = { order_id: order.order_id, order_status: "paid", duplicate: false };
  } else {
    release(tx.sql, order.qty);
    moveShopperUnits(tx, order.shopper_id, -order.qty);
    tx.sql.exec(
      "UPDATE orders SET status = 'failed', updated_at = ? WHERE order_id = ?",
      tx.now,
      order.order_id,
    );
    tx.record({ event: "order_failed", order: { ...order, status: "failed", updated_at: tx.now } });
    tx.log("Webhook Payment Failure - Units Released", {
      ...fields,
      hold_id: order.hold_id,
      qty: order.qty,
    });
    answer = { order_id: order.order_id, order_status: "failed", duplicate: false };
  }

  tx.sql.exec(
    `INSERT INTO webhook_keys (idempotency_key, order_id, payment_status, order_status, ignored, received_at)
     VALUES (?, ?, ?, ?, ?, ?)`,
    notice.idempotencyKey,
    notice.orderId,
    notice.status,
    answer.order_status,
    answer.ignored ? 1 : 0,
    tx.now,
  );
  return { ok: true, answer };
}
