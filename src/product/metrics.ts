import type { ProductMetricsView } from "../contract/shapes";
import { available, type ProductCounters } from "./product-row";

const count = (sql: SqlStorage, query: string): number => sql.exec(query).one().n as number;

/** The stock invariants, which hold on the counters alone (the row's CHECKs enforce them too). */
function counterViolations(product: ProductCounters): string[] {
  const violations: string[] = [];
  if (product.reserved < 0 || product.reserved > product.stock) {
    violations.push(`reserved ${product.reserved} outside 0..stock ${product.stock}`);
  }
  if (product.sold + product.stock !== product.initial_stock + product.restocked) {
    violations.push(
      `sold ${product.sold} + stock ${product.stock} != initial ${product.initial_stock} + restocked ${product.restocked}`,
    );
  }
  return violations;
}

/** Each shopper's counted units must be their units in active holds, pending and paid orders. */
function shopperViolations(sql: SqlStorage): string[] {
  const rows = sql.exec(
    `SELECT shopper_id, SUM(counted) AS counted, SUM(derived) AS derived FROM (
       SELECT shopper_id, units AS counted, pruned_units AS derived FROM shopper_units
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
 * Re-derive what the counters say from the rows themselves (a scan of every table, so only on
 * request): reserved must be the units in active holds and pending orders, sold the units in paid
 * orders (plus those retention deleted), and each counter of live rows their number.
 */
function rowViolations(sql: SqlStorage, product: ProductCounters): string[] {
  const violations: string[] = [];
  const held = count(sql, "SELECT COALESCE(SUM(qty), 0) AS n FROM holds WHERE status = 'active'");
  const pending = count(
    sql,
    "SELECT COALESCE(SUM(qty), 0) AS n FROM orders WHERE status = 'pending'",
  );
  const paid = count(sql, "SELECT COALESCE(SUM(qty), 0) AS n FROM orders WHERE status = 'paid'");
  if (product.reserved !== held + pending) {
    violations.push(
      `reserved ${product.reserved} != active holds ${held} + pending orders ${pending}`,
    );
  }
  const paidCents = count(
    sql,
    "SELECT COALESCE(SUM(amount_cents), 0) AS n FROM orders WHERE status = 'paid'",
  );
  if (product.revenue_cents !== paidCents + product.pruned_paid_cents) {
    violations.push(
      `revenue_cents ${product.revenue_cents} != paid orders ${paidCents} + deleted by retention ${product.pruned_paid_cents}`,
    );
  }
  if (product.sold !== paid + product.pruned_paid_units) {
    violations.push(
      `sold ${product.sold} != paid orders ${paid} + deleted by retention ${product.pruned_paid_units}`,
    );
  }
  const live: [keyof ProductCounters, string][] = [
    ["holds_active", "SELECT COUNT(*) AS n FROM holds WHERE status = 'active'"],
    ["orders_pending", "SELECT COUNT(*) AS n FROM orders WHERE status = 'pending'"],
    ["refunds_due", "SELECT COUNT(*) AS n FROM refunds WHERE status = 'due'"],
    ["outbox_backlog", "SELECT COUNT(*) AS n FROM outbox"],
    ["dead_letters", "SELECT COUNT(*) AS n FROM dead_letters"],
  ];
  for (const [counter, query] of live) {
    const rows = count(sql, query);
    if (product[counter] !== rows)
      violations.push(`${counter} ${product[counter]} != ${rows} rows`);
  }
  violations.push(...shopperViolations(sql));
  return violations;
}

export interface MetricsContext {
  rejectedSinceStart: number;
  historyFailures: number;
  storageBytes: number;
  queue: ProductMetricsView["queue"];
  load: ProductMetricsView["load_since_start"];
  /** Re-derive every counter from the rows (`?check=full`). */
  full: boolean;
}

export function productMetrics(
  sql: SqlStorage,
  product: ProductCounters,
  context: MetricsContext,
): ProductMetricsView {
  const violations = [
    ...counterViolations(product),
    ...(context.full ? rowViolations(sql, product) : []),
  ];
  return {
    product_id: product.id,
    stock: product.stock,
    reserved: product.reserved,
    available: available(product),
    sold: product.sold,
    units_sold: product.sold,
    revenue_cents: product.revenue_cents,
    initial_stock: product.initial_stock,
    restocked: product.restocked,
    holds: {
      active: product.holds_active,
      ordered: product.holds_ordered,
      expired: product.holds_expired,
      released: product.holds_released,
    },
    orders: {
      pending: product.orders_pending,
      paid: product.orders_paid,
      failed: product.orders_failed,
      cancelled: product.orders_cancelled,
    },
    webhooks: {
      processed: product.webhooks_processed,
      ignored: product.webhooks_ignored,
      duplicates: product.webhooks_duplicates,
    },
    refunds_required: product.refunds_due,
    refunds: { due: product.refunds_due, resolved: product.refunds_resolved },
    holds_rejected_since_start: context.rejectedSinceStart,
    history_outbox_backlog: product.outbox_backlog,
    history_dead_letters: product.dead_letters,
    history_failing_attempts: context.historyFailures,
    storage_bytes: context.storageBytes,
    queue: context.queue,
    load_since_start: context.load,
    invariants: {
      ok: violations.length === 0,
      checked: context.full ? "full" : "counters",
      violations,
    },
  };
}
