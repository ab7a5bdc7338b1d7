import { failure, type Answer, type Failure } from "../contract/errors";
import { newHoldId } from "../contract/ids";
import type { HoldView } from "../contract/shapes";
import { saleClosedFailure } from "./sale-window";
import { checkShopperLimit, limitOf, moveShopperUnits } from "./shoppers";
import { adjust } from "./counters";
import { available, productRow } from "./product-row";
import { firstRow, type Tx } from "./tx";
import { type HoldRow } from "./rows";

export interface HoldMade {
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
  /**
   * On a shard, whose `available` is its own: what the whole product has free, when the
   * coordinator has just said that is nothing (the Worker may then answer refusals itself).
   */
  productAvailable?: number;
}

export interface HoldRequest {
  qty: number;
  idempotencyKey: string;
  /**
   * The key was made for this very request and this is its first attempt, so no earlier hold
   * can carry it and the lookup is skipped (the key's UNIQUE index still guards).
   */
  freshKey: boolean;
  shopperId: string | null;
  ttlMs: number;
  /** MAX_UNITS_PER_SHOPPER, for products without a limit of their own. */
  defaultLimit: number;
  /** While the product's queue is on: the admission this hold needs, and uses up if made. */
  admission: Admitted | null;
  /** The id the hold gets, when it was chosen before (a shard redeems its admission under it). */
  holdId?: string;
}

export interface Admitted {
  /** A failure when the hold has no usable admission. */
  check(): Failure | null;
  /** Units to leave for the other admitted shoppers, who were each let in for one. */
  heldBack(): number;
  use(holdId: string): void;
}

export function holdView(productId: number, hold: HoldRow): HoldView {
  const view: HoldView = {
    hold_id: hold.hold_id,
    product_id: productId,
    qty: hold.qty,
    status: hold.status,
    expires_at: new Date(hold.expires_at).toISOString(),
  };
  if (hold.shopper_id !== null) view.shopper_id = hold.shopper_id;
  return view;
}

export function findHold(tx: Tx, holdId: string): HoldRow | undefined {
  return firstRow<HoldRow>(tx.sql.exec("SELECT * FROM holds WHERE hold_id = ?", holdId));
}

/** A hold of another shopper is not yours to order or release. Anonymous holds are anyone's. */
export function holdOwnerFailure(hold: HoldRow, shopperId: string | null): Failure | null {
  if (hold.shopper_id === null || hold.shopper_id === shopperId) return null;
  return failure("not_your_hold", `Hold ${hold.hold_id} belongs to another shopper.`);
}

/**
 * Check the sale window, the shopper's limit and the stock, and reserve, in one statement: nothing
 * can run between the checks and taking the units, so two requests can never both take the last
 * unit, nor one shopper pass the limit. Returns what is left and the price, or null when a check
 * failed (the caller then finds out which).
 */
function tryReserve(
  tx: Tx,
  request: HoldRequest,
  heldBack: number,
): { available: number; price_cents: number } | null {
  return (
    firstRow<{ available: number; price_cents: number }>(
      tx.sql.exec(
        `UPDATE product SET reserved = reserved + ?1, holds_active = holds_active + 1
         WHERE stock - reserved - lent >= ?1 + ?5
           AND (sale_starts_at IS NULL OR sale_starts_at <= ?2)
           AND (sale_ends_at IS NULL OR sale_ends_at > ?2)
           AND (?3 IS NULL OR COALESCE((SELECT units + carried FROM shopper_units WHERE shopper_id = ?3), 0) + ?1
                              <= COALESCE(max_units_per_shopper, ?4))
         RETURNING stock - reserved - lent AS available, price_cents`,
        request.qty,
        tx.now,
        request.shopperId,
        request.defaultLimit,
        heldBack,
      ),
    ) ?? null
  );
}

/** Why a reservation was refused: the window, then the shopper's limit, then the stock. */
function refusal(tx: Tx, request: HoldRequest, heldBack: number): HoldRejected | Failure {
  const product = productRow(tx.sql);
  const closed = saleClosedFailure(product, tx.now);
  if (closed) return closed;
  const limited = checkShopperLimit(
    tx,
    request.shopperId,
    request.qty,
    limitOf(product, request.defaultLimit),
  );
  if (limited) return limited;
  const free = Math.max(0, available(product) - heldBack);
  return {
    ok: false,
    code: "insufficient_stock",
    message: `Only ${free} unit(s) available, ${request.qty} requested.`,
    available: free,
  };
}

/** Make a hold, or replay the one an earlier request with the same key made. */
export function createHold(tx: Tx, request: HoldRequest): Answer<HoldMade, HoldRejected> {
  if (!request.freshKey) {
    const earlier = firstRow<HoldRow>(
      tx.sql.exec("SELECT * FROM holds WHERE idempotency_key = ?", request.idempotencyKey),
    );
    if (earlier) {
      if (earlier.qty !== request.qty || earlier.shopper_id !== request.shopperId) {
        return failure(
          "idempotency_key_reused",
          "This Idempotency-Key was used for another hold (a different quantity or shopper).",
        );
      }
      return { ok: true, hold: holdView(tx.productId, earlier), replayed: true };
    }
  }

  const refused = request.admission?.check();
  if (refused) return refused;
  const heldBack = request.admission?.heldBack() ?? 0;
  const reserved = tryReserve(tx, request, heldBack);
  if (reserved === null) return refusal(tx, request, heldBack);

  const hold: HoldRow = {
    hold_id: request.holdId ?? newHoldId(tx.productId, tx.shard),
    qty: request.qty,
    status: "active",
    created_at: tx.now,
    expires_at: tx.now + request.ttlMs,
    idempotency_key: request.idempotencyKey,
    order_id: null,
    shopper_id: request.shopperId,
    price_cents: reserved.price_cents,
  };
  tx.sql.exec(
    `INSERT INTO holds (hold_id, qty, status, created_at, expires_at, idempotency_key, shopper_id, price_cents)
     VALUES (?, ?, 'active', ?, ?, ?, ?, ?)`,
    hold.hold_id,
    hold.qty,
    hold.created_at,
    hold.expires_at,
    hold.idempotency_key,
    hold.shopper_id,
    hold.price_cents,
  );
  moveShopperUnits(tx, hold.shopper_id, hold.qty);
  request.admission?.use(hold.hold_id);
  tx.deadline(hold.expires_at);
  return {
    ok: true,
    hold: holdView(tx.productId, hold),
    replayed: false,
    available: reserved.available,
  };
}

export interface HoldReleased {
  hold: HoldView;
  /** Units that went back on sale now (0 when the hold was already released or expired). */
  freed: number;
}

/**
 * A shopper gives an active hold back: its units are on sale again at once. Releasing again, or
 * releasing a hold that expired meanwhile, answers the hold as it is; a hold that became an order
 * is the order's now.
 */
export function releaseHold(
  tx: Tx,
  holdId: string,
  shopperId: string | null,
): Answer<HoldReleased> {
  const hold = findHold(tx, holdId);
  if (!hold) return failure("hold_not_found", `No hold ${holdId}.`);
  const notYours = holdOwnerFailure(hold, shopperId);
  if (notYours) return notYours;
  if (hold.status === "ordered") {
    return failure(
      "hold_already_ordered",
      `Hold ${holdId} became order ${hold.order_id}; cancel the order instead.`,
    );
  }
  if (hold.status !== "active") return { ok: true, hold: holdView(tx.productId, hold), freed: 0 };

  tx.sql.exec("UPDATE holds SET status = 'released' WHERE hold_id = ?", holdId);
  adjust(tx, { reserved: -hold.qty, holds_active: -1, holds_released: 1 });
  moveShopperUnits(tx, hold.shopper_id, -hold.qty);
  tx.log("Hold released by shopper.", {
    product_id: tx.productId,
    hold_id: holdId,
    qty: hold.qty,
    shopper_id: hold.shopper_id,
  });
  return {
    ok: true,
    hold: holdView(tx.productId, { ...hold, status: "released" }),
    freed: hold.qty,
  };
}
