import type { DeadLetterView } from "../contract/shapes";
import { adjust } from "./counters";
import { rows } from "./tx";
import { type OrderRow, type RefundRow } from "./rows";

/**
 * Order history goes to D1 through an outbox: the event is written to the object's own SQLite in
 * the same transaction as the change, and copied to D1 afterwards (history-flusher.ts). A D1
 * outage delays history; it never loses it, and never blocks a sale. An event D1 will never take
 * waits in `dead_letters` for an operator instead of blocking the rest.
 */

/** An order-history event, written to D1 through the outbox. */
export type HistoryEvent = OrderEvent | RefundEvent;

export interface OrderEvent {
  event:
    | "order_created"
    | "order_paid"
    | "order_failed"
    | "order_cancelled"
    | "refund_required"
    // A Stripe Checkout Session opened for the order (it stays pending).
    | "checkout_started";
  order: OrderRow;
  detail?: string;
}

export interface RefundEvent {
  event: "refund_due" | "refund_resolved";
  refund: RefundRow;
}

export interface OutboxRow {
  seq: number;
  payload: string;
  appended_at: number;
  attempts: number;
}

export interface DeadLetterRow extends OutboxRow {
  error: string;
  failed_at: number;
}

/** Queue an event; the caller is inside the transaction that made the change. */
export function appendToOutbox(sql: SqlStorage, event: HistoryEvent, now: number): void {
  sql.exec("INSERT INTO outbox (payload, appended_at) VALUES (?, ?)", JSON.stringify(event), now);
  adjust({ sql }, { outbox_backlog: 1 });
}

export function nextOutboxRows(sql: SqlStorage, limit: number): OutboxRow[] {
  return rows<OutboxRow>(
    sql.exec("SELECT seq, payload, appended_at, attempts FROM outbox ORDER BY seq LIMIT ?", limit),
  );
}

/** D1 has these events now: one statement per batch (at most 90 bound parameters each). */
export function dropCopied(sql: SqlStorage, seqs: number[]): void {
  for (let i = 0; i < seqs.length; i += 90) {
    const part = seqs.slice(i, i + 90);
    sql.exec(`DELETE FROM outbox WHERE seq IN (${part.map(() => "?").join(", ")})`, ...part);
  }
  adjust({ sql }, { outbox_backlog: -seqs.length });
}

/** One more failed copy of an event that failed while others got through. */
export function countFailure(sql: SqlStorage, seq: number): number {
  return sql
    .exec("UPDATE outbox SET attempts = attempts + 1 WHERE seq = ? RETURNING attempts", seq)
    .one().attempts as number;
}

/** Park an event D1 will not take, so the rest of the history flows on. */
export function moveToDeadLetters(
  sql: SqlStorage,
  row: OutboxRow,
  error: string,
  now: number,
): void {
  sql.exec(
    `INSERT INTO dead_letters (seq, payload, appended_at, attempts, error, failed_at)
     VALUES (?, ?, ?, ?, ?, ?)`,
    row.seq,
    row.payload,
    row.appended_at,
    row.attempts,
    error,
    now,
  );
  sql.exec("DELETE FROM outbox WHERE seq = ?", row.seq);
  adjust({ sql }, { outbox_backlog: -1, dead_letters: 1 });
}

export function listDeadLetters(sql: SqlStorage, afterSeq: number, limit: number): DeadLetterRow[] {
  return rows<DeadLetterRow>(
    sql.exec("SELECT * FROM dead_letters WHERE seq > ? ORDER BY seq LIMIT ?", afterSeq, limit),
  );
}

/** Put a dead letter back in the outbox under its own seq, so D1 still records it once. */
export function requeueDeadLetter(sql: SqlStorage, seq: number): DeadLetterRow | null {
  const [row] = rows<DeadLetterRow>(sql.exec("SELECT * FROM dead_letters WHERE seq = ?", seq));
  if (!row) return null;
  sql.exec(
    "INSERT INTO outbox (seq, payload, appended_at, attempts) VALUES (?, ?, ?, 0)",
    row.seq,
    row.payload,
    row.appended_at,
  );
  sql.exec("DELETE FROM dead_letters WHERE seq = ?", seq);
  adjust({ sql }, { outbox_backlog: 1, dead_letters: -1 });
  return row;
}

/**
 * The D1 statements for one event: at most 14 bound parameters each (D1 allows 100 per
 * statement) and at most two statements per event. Keyed by (product_id, shard, seq), where
 * `shard` is the object that recorded it (each object of a sharded product numbers its own), and
 * guarded by updated_at, so a retried or reordered event is harmless.
 */
export function statementsFor(
  db: D1Database,
  productId: number,
  shard: number | null,
  seq: number,
  event: HistoryEvent,
): D1PreparedStatement[] {
  // Refunds have their own table; the order's event log stays the order's own.
  if ("refund" in event) return [refundStatement(db, productId, event.refund)];
  const { order } = event;
  return [
    orderStatement(db, productId, order),
    eventStatement(
      db,
      productId,
      shard,
      seq,
      order.order_id,
      event.event,
      order.status,
      order.updated_at,
      event.detail ?? null,
    ),
  ];
}

const iso = (ms: number) => new Date(ms).toISOString();

function orderStatement(db: D1Database, productId: number, order: OrderRow): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO orders (order_id, product_id, hold_id, qty, amount_cents, currency, status, created_at, pay_by, updated_at, needs_refund, shopper_id, payment_id, paid_late)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
       ON CONFLICT (order_id) DO UPDATE SET
         status = excluded.status, updated_at = excluded.updated_at, needs_refund = excluded.needs_refund,
         payment_id = excluded.payment_id, paid_late = excluded.paid_late
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
      // Events queued by older releases lack the newer fields.
      order.shopper_id ?? null,
      order.payment_id ?? null,
      order.paid_late ?? 0,
    );
}

function refundStatement(
  db: D1Database,
  productId: number,
  refund: RefundRow,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO refunds (refund_id, order_id, product_id, amount_cents, currency, payment_id, reason, status, created_at, resolved_at, note)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
       ON CONFLICT (refund_id) DO UPDATE SET
         status = excluded.status, resolved_at = excluded.resolved_at, note = excluded.note
       WHERE excluded.status = 'resolved'`,
    )
    .bind(
      refund.refund_id,
      refund.order_id,
      productId,
      refund.amount_cents,
      refund.currency,
      refund.payment_id,
      refund.reason,
      refund.status,
      iso(refund.created_at),
      refund.resolved_at === null ? null : iso(refund.resolved_at),
      refund.note,
    );
}

function eventStatement(
  db: D1Database,
  productId: number,
  shard: number | null,
  seq: number,
  orderId: string,
  event: string,
  status: string,
  at: number,
  detail: string | null,
): D1PreparedStatement {
  return (
    db
      .prepare(
        `INSERT OR IGNORE INTO order_events (product_id, shard, seq, order_id, event, status, at, detail)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)`,
      )
      // -1: the product's own object (migrations/0009_order_events_per_object.sql).
      .bind(productId, shard ?? -1, seq, orderId, event, status, iso(at), detail)
  );
}

/** A page of dead letters after `afterSeq`, and where the next page starts (null at the end). */
export function deadLetterPage(
  sql: SqlStorage,
  afterSeq: number,
  limit: number,
): { deadLetters: DeadLetterView[]; nextAfter: number | null } {
  const rows = listDeadLetters(sql, afterSeq, limit + 1);
  const page = rows.slice(0, limit);
  return {
    deadLetters: page.map(deadLetterView),
    nextAfter: rows.length > limit ? (page.at(-1)?.seq ?? null) : null,
  };
}

export function deadLetterView(row: DeadLetterRow): DeadLetterView {
  const payload = JSON.parse(row.payload) as HistoryEvent;
  return {
    seq: row.seq,
    event: payload.event,
    order_id: "refund" in payload ? payload.refund.order_id : payload.order.order_id,
    attempts: row.attempts,
    error: row.error,
    queued_at: new Date(row.appended_at).toISOString(),
    failed_at: new Date(row.failed_at).toISOString(),
    payload: payload as unknown as Record<string, unknown>,
  };
}
