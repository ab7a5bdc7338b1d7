import { failure, type Answer } from "../contract/errors";
import { newRefundId } from "../contract/ids";
import type { RefundView } from "../contract/shapes";
import { adjust } from "./counters";
import { firstRow, type Tx } from "./tx";
import { type OrderRow, type RefundRow } from "./rows";
import type { RefundReason } from "../contract/shapes";

/**
 * Money to give back is a record of its own: an order may need several (a late payment, then a
 * second charge). Each is created in the transaction that saw the payment, copied to D1 with the
 * order history for operators to work through, and logged at warn so alerting on warn catches
 * every one.
 */
const WARNINGS: Record<RefundReason, string> = {
  late_payment: "Late payment for a closed order, refund required.",
  double_charge: "Second payment for a paid order, refund required.",
  amount_mismatch: "Payment amount mismatch, refund required.",
};

function refundView(productId: number, refund: RefundRow): RefundView {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    refund_id: refund.refund_id,
    order_id: refund.order_id,
    product_id: productId,
    amount_cents: refund.amount_cents,
    currency: refund.currency,
    payment_id: refund.payment_id,
    reason: refund.reason,
    status: refund.status,
    created_at: new Date(refund.created_at).toISOString(),
    resolved_at: iso(refund.resolved_at),
    note: refund.note,
  };
}

/** A payment we will not keep: record what to return, to whom (by payment id), and why. */
export function createRefund(
  tx: Tx,
  order: Pick<OrderRow, "order_id" | "amount_cents" | "currency">,
  reason: RefundReason,
  paid: { amountCents?: number; currency?: string; paymentId?: string; idempotencyKey: string },
): RefundRow {
  const refund: RefundRow = {
    refund_id: newRefundId(tx.productId, tx.shard),
    order_id: order.order_id,
    amount_cents: paid.amountCents ?? order.amount_cents,
    currency: paid.currency ?? order.currency,
    payment_id: paid.paymentId ?? null,
    reason,
    status: "due",
    created_at: tx.now,
    resolved_at: null,
    note: null,
  };
  tx.sql.exec(
    `INSERT INTO refunds (refund_id, order_id, amount_cents, currency, payment_id, reason, status, created_at)
     VALUES (?, ?, ?, ?, ?, ?, 'due', ?)`,
    refund.refund_id,
    refund.order_id,
    refund.amount_cents,
    refund.currency,
    refund.payment_id,
    refund.reason,
    refund.created_at,
  );
  adjust(tx, { refunds_due: 1 });
  tx.record({ event: "refund_due", refund });
  tx.log(
    WARNINGS[reason],
    {
      product_id: tx.productId,
      order_id: order.order_id,
      refund_id: refund.refund_id,
      reason,
      amount_cents: refund.amount_cents,
      currency: refund.currency,
      payment_id: refund.payment_id,
      idempotency_key: paid.idempotencyKey,
    },
    "warn",
  );
  return refund;
}

/**
 * Whether this payment id's money is already accounted for: it paid the order, or a refund is
 * recorded for it. Then a success naming it is the same payment again. (A payment id that only
 * failed, say a payment intent whose first card was declined, may still succeed: that success is
 * new money.)
 */
export function knownPayment(
  tx: Tx,
  order: Pick<OrderRow, "order_id" | "status" | "payment_id">,
  paymentId: string | undefined,
): boolean {
  if (paymentId === undefined) return false;
  if (order.status === "paid" && order.payment_id === paymentId) return true;
  return (
    firstRow(
      tx.sql.exec(
        "SELECT 1 AS found FROM refunds WHERE order_id = ? AND payment_id = ? LIMIT 1",
        order.order_id,
        paymentId,
      ),
    ) !== undefined
  );
}

/** An operator has returned the money. Resolving again answers the same record. */
export function resolveRefund(
  tx: Tx,
  refundId: string,
  note: string | null,
): Answer<{ refund: RefundView }> {
  const refund = firstRow<RefundRow>(
    tx.sql.exec("SELECT * FROM refunds WHERE refund_id = ?", refundId),
  );
  if (!refund) return failure("refund_not_found", `No refund ${refundId}.`);
  if (refund.status === "resolved") return { ok: true, refund: refundView(tx.productId, refund) };
  const resolved: RefundRow = { ...refund, status: "resolved", resolved_at: tx.now, note };
  tx.sql.exec(
    "UPDATE refunds SET status = 'resolved', resolved_at = ?, note = ? WHERE refund_id = ?",
    tx.now,
    note,
    refundId,
  );
  adjust(tx, { refunds_due: -1, refunds_resolved: 1 });
  tx.record({ event: "refund_resolved", refund: resolved });
  tx.log("Refund resolved.", {
    product_id: tx.productId,
    refund_id: refundId,
    order_id: refund.order_id,
    amount_cents: refund.amount_cents,
  });
  return { ok: true, refund: refundView(tx.productId, resolved) };
}
