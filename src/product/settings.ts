import { failure, type Failure } from "../contract/errors";
import { windowOrderFailure } from "./sale-window";
import type { LatePayments } from "../contract/shapes";
import { productRow, type ProductRow } from "./product-row";
import type { Tx } from "./tx";

/** What an operator may change on a product on sale (times in epoch ms, null clears). */
export interface ProductChanges {
  name?: string;
  /** Applies to holds made from now on; a hold keeps the price it was made at. */
  price_cents?: number;
  sale_starts_at?: number | null;
  sale_ends_at?: number | null;
  max_units_per_shopper?: number | null;
  late_payments?: LatePayments | null;
  image_url?: string | null;
  description?: string | null;
  /** Turn the queue on or off; the rates not given keep their values. */
  queue?: { enabled: boolean; admit_per_second?: number; admission_ttl_seconds?: number };
}

const COLUMNS = [
  "name",
  "price_cents",
  "sale_starts_at",
  "sale_ends_at",
  "max_units_per_shopper",
  "late_payments",
  "image_url",
  "description",
] as const satisfies readonly (keyof ProductChanges & keyof ProductRow)[];

/** Queue tickets handed out so far, on or off (0 for a product whose queue never ran). */
function issuedTickets(tx: Tx): number {
  return tx.sql.exec("SELECT issued FROM queue_state").one().issued as number;
}

/** Apply an operator's change in one statement; nothing changes when the result is invalid. */
export function updateProduct(tx: Tx, changes: ProductChanges): ProductRow | Failure {
  const current = productRow(tx.sql);
  const next: ProductRow = { ...current };
  for (const column of COLUMNS) {
    if (changes[column] !== undefined) Object.assign(next, { [column]: changes[column] });
  }
  if (changes.queue) {
    next.queue_enabled = changes.queue.enabled ? 1 : 0;
    next.queue_admit_per_second = changes.queue.admit_per_second ?? current.queue_admit_per_second;
    next.queue_admission_ttl_seconds =
      changes.queue.admission_ttl_seconds ?? current.queue_admission_ttl_seconds;
  }
  const invalid = windowOrderFailure(next);
  if (invalid) return invalid;
  const moved = next.sale_starts_at !== current.sale_starts_at && next.sale_starts_at !== null;
  if (moved && issuedTickets(tx) > 0) {
    // Ticket holders' places depend on the start (the pre-queue is shuffled then): moving it
    // would re-rank every ticket. Clearing it opens the line now, shuffled first.
    return failure(
      "queue_has_tickets",
      "The queue has tickets: sale_starts_at can only be cleared (to open now), not moved.",
    );
  }
  tx.sql.exec(
    `UPDATE product SET name = ?, price_cents = ?, sale_starts_at = ?, sale_ends_at = ?,
       max_units_per_shopper = ?, late_payments = ?, image_url = ?, description = ?,
       queue_enabled = ?, queue_admit_per_second = ?, queue_admission_ttl_seconds = ?`,
    next.name,
    next.price_cents,
    next.sale_starts_at,
    next.sale_ends_at,
    next.max_units_per_shopper,
    next.late_payments,
    next.image_url,
    next.description,
    next.queue_enabled,
    next.queue_admit_per_second,
    next.queue_admission_ttl_seconds,
  );
  const changed: string[] = COLUMNS.filter((column) => changes[column] !== undefined);
  if (changes.queue) changed.push("queue");
  tx.log("Product settings changed.", { product_id: tx.productId, changed: changed.join(",") });
  return next;
}
