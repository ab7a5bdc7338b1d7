import { failure, type Answer } from "../contract/errors";
import type { DeadLetterView, ProductMetricsView, ProductView } from "../contract/shapes";
import { deadLetterPage, deadLetterView, requeueDeadLetter } from "./history";
import type { LiveCounts } from "./live";
import { productMetrics } from "./metrics";
import { catalogueEntry, productRow, type ProductCounters, type ProductRow } from "./product-row";
import type { ProductQueue } from "./queue";
import { updateProduct, type ProductChanges } from "./settings";
import type { Tx } from "./tx";

// The operators' RPCs (the admin API) that do more than call one rule: dead letters, product
// changes and metrics, each run by the product's object as one transaction. Restocks and refunds
// resolved are one call each (restocks.ts, refunds.ts).

/** A page of the product's dead letters, after `after` (a seq). */
export function listDeadLetters(
  tx: Tx,
  after: number,
  limit: number,
): Answer<{ deadLetters: DeadLetterView[]; nextAfter: number | null }> {
  return { ok: true, ...deadLetterPage(tx.sql, after, limit) };
}

/** Put a dead letter back in the order history outbox; the object then nudges the copier. */
export function retryDeadLetter(tx: Tx, seq: number): Answer<{ deadLetter: DeadLetterView }> {
  const row = requeueDeadLetter(tx.sql, seq);
  if (!row) return failure("dead_letter_not_found", `No dead letter ${seq}.`);
  tx.log("Dead letter put back in the order history outbox.", {
    product_id: tx.productId,
    shard: tx.shard ?? undefined, // absent on the product's own object
    seq,
  });
  return { ok: true, deadLetter: deadLetterView(row) };
}

/** What a product change needs of the object: its queue, its view, and to learn the queue's state. */
export interface ChangeContext {
  queue: ProductQueue | null;
  view(product: ProductRow): ProductView;
  queueSwitched(enabled: boolean): void;
}

/** A product after an operator's change, with what the D1 catalogue should now say of it. */
export function changeProduct(
  tx: Tx,
  changes: ProductChanges,
  object: ChangeContext,
): Answer<{ product: ProductView; catalogue: ReturnType<typeof catalogueEntry> }> {
  const before = productRow(tx.sql);
  const product = updateProduct(tx, changes);
  if ("ok" in product) return product;
  object.queueSwitched(product.queue_enabled === 1);
  // Cleared to open early: the pre-queue is shuffled now, before anyone is admitted.
  if (before.sale_starts_at !== null && product.sale_starts_at === null) {
    object.queue?.openEarly(tx);
  }
  return { ok: true, product: object.view(product), catalogue: catalogueEntry(product) };
}

/** What the object knows in memory, for the metrics. */
export interface ObjectCounts {
  queue: ProductQueue | null;
  queueEnabled: boolean;
  rejectedSinceStart: number;
  productReads: number;
  historyFailures: number;
  live: LiveCounts;
}

/** The product's metrics and invariant check (`full`: re-derived from every row). */
export function readMetrics(
  tx: Tx,
  full: boolean,
  counts: ObjectCounts,
): Answer<{ metrics: ProductMetricsView }> {
  const product = productRow(tx.sql) as ProductCounters;
  const { live } = counts;
  const metrics = productMetrics(tx.sql, product, {
    rejectedSinceStart: counts.rejectedSinceStart,
    historyFailures: counts.historyFailures,
    storageBytes: tx.sql.databaseSize,
    queue: counts.queue?.metricsView(product, counts.queueEnabled, tx.now) ?? {
      enabled: false,
      issued: 0,
      waiting: 0,
      admitted_unused: 0,
      frontier: 0,
    },
    load: {
      product_reads: counts.productReads,
      live_relays: live.relays,
      live_flushes: live.flushes,
      live_relay_messages: live.relayMessages,
    },
    full,
  });
  return { ok: true, metrics };
}
