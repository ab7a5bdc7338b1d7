import type { HoldStatus, OrderStatus, RefundReason } from "../contract/shapes";

/** The rows of the product object's own tables, as SQLite stores them (times in epoch ms). */

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
