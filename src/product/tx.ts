import type { LogFields, LogLevel } from "../log";
import type { HoldStatus, OrderStatus } from "../contract/shapes";

/** What the product object hands every operation for the length of one synchronous transaction. */
export interface Tx {
  readonly sql: SqlStorage;
  /** One clock reading for the whole transaction, in epoch milliseconds. */
  readonly now: number;
  readonly productId: number;
  /** Queue a log line; it is written only if the transaction commits. */
  log(message: string, fields?: LogFields, level?: LogLevel): void;
  /** Append an order-history event to the outbox, inside this transaction. */
  record(event: HistoryEvent): void;
  /** A hold or an order now has a deadline at this time; the expiry alarm must cover it. */
  deadline(at: number): void;
}

/** An order-history event, written to D1 through the outbox. */
export type HistoryEvent = OrderEvent | RefundEvent;

export interface OrderEvent {
  event: "order_created" | "order_paid" | "order_failed" | "order_cancelled" | "refund_required";
  order: OrderRow;
  detail?: string;
}

export interface RefundEvent {
  event: "refund_due" | "refund_resolved";
  refund: RefundRow;
}

export type RefundReason = "late_payment" | "double_charge" | "amount_mismatch";

export interface RefundRow {
  refund_id: string;
  order_id: string;
  amount_cents: number;
  currency: string;
  payment_id: string | null;
  reason: RefundReason;
  status: "due" | "resolved";
  created_at: number;
  resolved_at: number | null;
  note: string | null;
}

export interface OrderRow {
  order_id: string;
  hold_id: string;
  qty: number;
  amount_cents: number;
  currency: string;
  status: OrderStatus;
  created_at: number;
  pay_by: number;
  updated_at: number;
  needs_refund: number;
  shopper_id: string | null;
  /** The gateway's charge or payment-intent id, once a payment named one. */
  payment_id: string | null;
  /** 1 when a success arrived after the order closed and its units were still there. */
  paid_late: number;
}

export interface HoldRow {
  hold_id: string;
  qty: number;
  status: HoldStatus;
  created_at: number;
  expires_at: number;
  idempotency_key: string | null;
  order_id: string | null;
  shopper_id: string | null;
  /** The unit price when the hold was made; null for holds made before prices were kept. */
  price_cents: number | null;
}

/** Rows come back from SqlStorage loosely typed; this names the shape we selected. */
export function rows<T>(cursor: SqlStorageCursor<Record<string, SqlStorageValue>>): T[] {
  return cursor.toArray() as unknown as T[];
}

export function firstRow<T>(
  cursor: SqlStorageCursor<Record<string, SqlStorageValue>>,
): T | undefined {
  return rows<T>(cursor)[0];
}
