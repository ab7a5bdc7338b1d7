import type { Tx } from "./tx";

/**
 * The product row's counters: the stock figures the invariants are written over, and the counts
 * that metrics read instead of scanning tables. Every state change moves the ones it touches in
 * one UPDATE, inside its own transaction, so they can never disagree with the rows (the full
 * check in metrics re-derives them to prove it).
 */
export const COUNTERS = [
  "stock",
  "reserved",
  "sold",
  "restocked",
  "holds_active",
  "holds_ordered",
  "holds_expired",
  "holds_released",
  "orders_pending",
  "orders_paid",
  "orders_failed",
  "orders_cancelled",
  "webhooks_processed",
  "webhooks_ignored",
  "webhooks_duplicates",
  "refunds_due",
  "refunds_resolved",
  "outbox_backlog",
  "dead_letters",
  "pruned_paid_units",
  "revenue_cents",
  "pruned_paid_cents",
] as const;

export type Counter = (typeof COUNTERS)[number];
export type CounterDeltas = Partial<Record<Counter, number>>;

/** Move counters by the given amounts in one statement (CHECKs on the row still apply). */
export function adjust(tx: Pick<Tx, "sql">, deltas: CounterDeltas): void {
  const names = (Object.keys(deltas) as Counter[]).filter((name) => deltas[name] !== 0);
  if (names.length === 0) return;
  tx.sql.exec(
    `UPDATE product SET ${names.map((name) => `${name} = ${name} + ?`).join(", ")}`,
    ...names.map((name) => deltas[name]),
  );
}
