import type { HistoryEvent } from "./tx";

/**
 * Order history goes to D1 through an outbox: the event is written to the object's own SQLite in
 * the same transaction as the change, and copied to D1 afterwards. A D1 outage delays history;
 * it never loses it, and never blocks a sale.
 */
const BATCH = 50;

export function appendToOutbox(sql: SqlStorage, event: HistoryEvent): void {
  sql.exec("INSERT INTO outbox (payload) VALUES (?)", JSON.stringify(event));
}

export function outboxBacklog(sql: SqlStorage): number {
  return sql.exec("SELECT COUNT(*) AS n FROM outbox").one().n as number;
}

function statementsFor(
  db: D1Database,
  productId: number,
  seq: number,
  { event, order, detail }: HistoryEvent,
): D1PreparedStatement[] {
  const iso = (ms: number) => new Date(ms).toISOString();
  return [
    db
      .prepare(
        `INSERT INTO orders (order_id, product_id, hold_id, qty, amount_cents, currency, status, created_at, pay_by, updated_at, needs_refund, shopper_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (order_id) DO UPDATE SET
           status = excluded.status, updated_at = excluded.updated_at, needs_refund = excluded.needs_refund
         WHERE excluded.updated_at >= orders.updated_at`,
      )
      .bind(
        order.order_id,
        productId,
        order.hold_id,
        order.qty,
        order.amount_cents,
        order.currency,
        order.status,
        iso(order.created_at),
        iso(order.pay_by),
        iso(order.updated_at),
        order.needs_refund,
        // Events queued before orders had shoppers carry none.
        order.shopper_id ?? null,
      ),
    db
      .prepare(
        `INSERT OR IGNORE INTO order_events (product_id, seq, order_id, event, status, at, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`,
      )
      .bind(
        productId,
        seq,
        order.order_id,
        event,
        order.status,
        iso(order.updated_at),
        detail ?? null,
      ),
  ];
}

/**
 * Copy the outbox to D1 in order, a batch at a time, deleting each batch once D1 has it. D1
 * applies a batch atomically and the event key is the outbox seq, so a retried batch is harmless.
 * Returns how many events were written; throws when D1 fails (what is left stays queued).
 */
export async function flushOutbox(
  sql: SqlStorage,
  db: D1Database,
  productId: number,
): Promise<number> {
  let written = 0;
  for (;;) {
    const batch = sql
      .exec("SELECT seq, payload FROM outbox ORDER BY seq LIMIT ?", BATCH)
      .toArray() as { seq: number; payload: string }[];
    if (batch.length === 0) return written;
    await db.batch(
      batch.flatMap((row) =>
        statementsFor(db, productId, row.seq, JSON.parse(row.payload) as HistoryEvent),
      ),
    );
    sql.exec("DELETE FROM outbox WHERE seq <= ?", batch[batch.length - 1]!.seq);
    written += batch.length;
  }
}
