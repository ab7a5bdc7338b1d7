import type { RefundView } from "../contract/shapes";

/** A refund as the history copy in D1 keeps it (the object's copy is the one that changes). */
export interface RefundHistoryRow extends Omit<RefundView, "note"> {
  note: string | null;
}

export interface RefundQuery {
  status: RefundView["status"] | null;
  productId: number | null;
  /** Where the previous page ended (newest first). */
  after: { createdAt: string; refundId: string } | null;
  limit: number;
}

/** Refunds from the order history in D1, newest first; throws when D1 cannot answer. */
export async function listRefunds(db: D1Database, query: RefundQuery): Promise<RefundHistoryRow[]> {
  const { results } = await db
    .prepare(
      `SELECT refund_id, order_id, product_id, amount_cents, currency, payment_id, reason, status,
              created_at, resolved_at, note
       FROM refunds
       WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR product_id = ?2)
         AND (?3 IS NULL OR created_at < ?3 OR (created_at = ?3 AND refund_id < ?4))
       ORDER BY created_at DESC, refund_id DESC
       LIMIT ?5`,
    )
    .bind(
      query.status,
      query.productId,
      query.after?.createdAt ?? null,
      query.after?.refundId ?? null,
      query.limit,
    )
    .all<RefundHistoryRow>();
  return results;
}
