import { failure, type Failure } from "../errors";
import { newHoldId } from "../ids";
import type { HoldView } from "../schemas";
import { available, readProduct, tryReserve } from "./stock";
import { firstRow, type HoldRow, type Tx } from "./tx";

export interface HoldCreated {
  ok: true;
  hold: HoldView;
  /** True when an earlier request with the same idempotency key already made this hold. */
  replayed: boolean;
  /** Units still available after this hold (absent on a replay). */
  available?: number;
}

/** Not enough units: `available` tells the Worker whether the product is sold out outright. */
export interface HoldRejected extends Failure {
  code: "insufficient_stock";
  available: number;
}

function holdView(productId: number, hold: HoldRow): HoldView {
  return {
    hold_id: hold.hold_id,
    product_id: productId,
    qty: hold.qty,
    expires_at: new Date(hold.expires_at).toISOString(),
  };
}

/**
 * Check and reserve in one synchronous step: nothing can run between reading `available` and
 * taking the units, so two requests can never both take the last unit.
 *
 * `freshKey` says the key was made for this very request and this is its first attempt, so no
 * earlier hold can carry it and the lookup is skipped (the key's UNIQUE index still guards).
 */
export function createHold(
  tx: Tx,
  qty: number,
  idempotencyKey: string,
  freshKey: boolean,
  ttlMs: number,
): HoldCreated | HoldRejected | Failure {
  if (!freshKey) {
    const earlier = firstRow<HoldRow>(
      tx.sql.exec("SELECT * FROM holds WHERE idempotency_key = ?", idempotencyKey),
    );
    if (earlier) {
      if (earlier.qty !== qty) {
        return failure(
          "idempotency_key_reused",
          "This Idempotency-Key was used for a hold of a different quantity.",
        );
      }
      return { ok: true, hold: holdView(tx.productId, earlier), replayed: true };
    }
  }

  const left = tryReserve(tx.sql, qty);
  if (left === null) {
    const free = available(readProduct(tx.sql)!);
    return {
      ok: false,
      code: "insufficient_stock",
      message: `Only ${free} unit(s) available, ${qty} requested.`,
      available: free,
    };
  }

  const hold: HoldRow = {
    hold_id: newHoldId(tx.productId),
    qty,
    status: "active",
    created_at: tx.now,
    expires_at: tx.now + ttlMs,
    idempotency_key: idempotencyKey,
    order_id: null,
  };
  tx.sql.exec(
    `INSERT INTO holds (hold_id, qty, status, created_at, expires_at, idempotency_key)
     VALUES (?, ?, 'active', ?, ?, ?)`,
    hold.hold_id,
    hold.qty,
    hold.created_at,
    hold.expires_at,
    hold.idempotency_key,
  );
  tx.deadline(hold.expires_at);
  return { ok: true, hold: holdView(tx.productId, hold), replayed: false, available: left };
}
