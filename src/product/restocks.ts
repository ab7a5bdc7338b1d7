import { failure, type Answer } from "../contract/errors";
import type { ProductView } from "../contract/shapes";
import { adjust } from "./counters";
import { firstRow, type Tx } from "./tx";

export interface Restocked {
  product: ProductView;
  /** True when an earlier restock with the same idempotency key already added these units. */
  replayed: boolean;
}

/**
 * Add units to stock. With an idempotency key the restock is applied once, whatever the number of
 * retries: the key and the answer are stored with it, and the same key answers the same again.
 */
export function restock(
  tx: Tx,
  qty: number,
  idempotencyKey: string | undefined,
  view: () => ProductView,
): Answer<Restocked> {
  if (idempotencyKey !== undefined) {
    const earlier = firstRow<{ qty: number; answer: string }>(
      tx.sql.exec("SELECT qty, answer FROM restock_keys WHERE idempotency_key = ?", idempotencyKey),
    );
    if (earlier) {
      if (earlier.qty !== qty) {
        return failure(
          "idempotency_key_reused",
          "This Idempotency-Key was used for a restock of a different quantity.",
        );
      }
      return { ok: true, product: JSON.parse(earlier.answer) as ProductView, replayed: true };
    }
  }
  adjust(tx, { stock: qty, restocked: qty });
  const product = view();
  if (idempotencyKey !== undefined) {
    tx.sql.exec(
      "INSERT INTO restock_keys (idempotency_key, qty, answer, received_at) VALUES (?, ?, ?, ?)",
      idempotencyKey,
      qty,
      JSON.stringify(product),
      tx.now,
    );
  }
  tx.log("Product restocked.", { product_id: tx.productId, qty, idempotency_key: idempotencyKey });
  return { ok: true, product, replayed: false };
}
