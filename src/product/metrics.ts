import type { ProductMetricsView } from "../schemas";
import { outboxBacklog } from "./history";
import { available, type ProductRow } from "./stock";

function countBy(sql: SqlStorage, query: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const row of sql.exec(query)) counts[row.k as string] = row.n as number;
  return counts;
}

/** Each shopper's counted units must be their units in active holds, pending and paid orders. */
function shopperViolations(sql: SqlStorage): string[] {
  const rows = sql.exec(
    `SELECT shopper_id, SUM(counted) AS counted, SUM(derived) AS derived FROM (
       SELECT shopper_id, units AS counted, 0 AS derived FROM shopper_units
       UNION ALL
       SELECT shopper_id, 0, qty FROM holds WHERE status = 'active' AND shopper_id IS NOT NULL
       UNION ALL
       SELECT shopper_id, 0, qty FROM orders
         WHERE status IN ('pending', 'paid') AND shopper_id IS NOT NULL)
     GROUP BY shopper_id HAVING SUM(counted) != SUM(derived) LIMIT 10`,
  );
  return [...rows].map(
    (row) =>
      `shopper ${row.shopper_id as string} counted ${Number(row.counted)} unit(s) but holds ${Number(row.derived)}`,
  );
}

/**
 * Check every invariant against the rows themselves, not only against the counters: reserved must
 * equal the units in active holds plus pending orders, and sold the units in paid orders.
 */
function invariantViolations(sql: SqlStorage, product: ProductRow): string[] {
  const held = sql
    .exec("SELECT COALESCE(SUM(qty), 0) AS n FROM holds WHERE status = 'active'")
    .one().n as number;
  const pending = sql
    .exec("SELECT COALESCE(SUM(qty), 0) AS n FROM orders WHERE status = 'pending'")
    .one().n as number;
  const paid = sql.exec("SELECT COALESCE(SUM(qty), 0) AS n FROM orders WHERE status = 'paid'").one()
    .n as number;
  const violations: string[] = [];
  if (product.reserved < 0 || product.reserved > product.stock) {
    violations.push(`reserved ${product.reserved} outside 0..stock ${product.stock}`);
  }
  if (product.sold + product.stock !== product.initial_stock + product.restocked) {
    violations.push(
      `sold ${product.sold} + stock ${product.stock} != initial ${product.initial_stock} + restocked ${product.restocked}`,
    );
  }
  if (product.reserved !== held + pending) {
    violations.push(
      `reserved ${product.reserved} != active holds ${held} + pending orders ${pending}`,
    );
  }
  if (product.sold !== paid) violations.push(`sold ${product.sold} != paid orders ${paid}`);
  violations.push(...shopperViolations(sql));
  return violations;
}

export function productMetrics(
  sql: SqlStorage,
  product: ProductRow,
  rejectedSinceStart: number,
): ProductMetricsView {
  const holds = countBy(sql, "SELECT status AS k, COUNT(*) AS n FROM holds GROUP BY status");
  const orders = countBy(sql, "SELECT status AS k, COUNT(*) AS n FROM orders GROUP BY status");
  const webhooks = sql
    .exec(
      "SELECT COUNT(*) AS processed, COALESCE(SUM(ignored), 0) AS ignored, COALESCE(SUM(duplicates), 0) AS duplicates FROM webhook_keys",
    )
    .one();
  const refunds = sql.exec("SELECT COUNT(*) AS n FROM orders WHERE needs_refund = 1").one()
    .n as number;
  const violations = invariantViolations(sql, product);
  return {
    product_id: product.id,
    stock: product.stock,
    reserved: product.reserved,
    available: available(product),
    sold: product.sold,
    initial_stock: product.initial_stock,
    restocked: product.restocked,
    holds: {
      active: holds.active ?? 0,
      ordered: holds.ordered ?? 0,
      expired: holds.expired ?? 0,
      released: holds.released ?? 0,
    },
    orders: {
      pending: orders.pending ?? 0,
      paid: orders.paid ?? 0,
      failed: orders.failed ?? 0,
      cancelled: orders.cancelled ?? 0,
    },
    webhooks: {
      processed: webhooks.processed as number,
      ignored: webhooks.ignored as number,
      duplicates: webhooks.duplicates as number,
    },
    refunds_required: refunds,
    holds_rejected_since_start: rejectedSinceStart,
    history_outbox_backlog: outboxBacklog(sql),
    invariants: { ok: violations.length === 0, violations },
  };
}
