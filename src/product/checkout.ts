import { failure, type Answer } from "../contract/errors";
import type { OrderView } from "../contract/shapes";
import { findOrder, orderOwnerFailure, orderView } from "./orders";
import { productRow } from "./product-row";
import type { Tx } from "./tx";

/**
 * A Stripe Checkout Session opened for an order, kept on the order so a retry or a second click
 * gets the same session while it is open instead of a second one (two open sessions could both
 * be paid).
 */
export interface CheckoutSession {
  sessionId: string;
  url: string;
  /** Epoch ms. */
  expiresAt: number;
}

/** A session this close to its end is not handed out again: the shopper could not finish. */
const REUSE_MARGIN_MS = 60_000;

export interface CheckoutStart {
  order: OrderView;
  product: { name: string; imageUrl: string | null };
  /** The session already open for this order, if one is. */
  open: CheckoutSession | null;
  /** The last session opened for the order (open or not), to key the next one by. */
  previousSessionId: string | null;
}

interface CheckoutColumns {
  checkout_session_id: string | null;
  checkout_url: string | null;
  checkout_expires_at: number | null;
}

/** What the Worker needs to open a session for the shopper's pending order, or the session open. */
export function startCheckout(
  tx: Tx,
  orderId: string,
  shopperId: string | null,
): Answer<CheckoutStart> {
  const order = findOrder(tx, orderId);
  if (!order) return failure("order_not_found", `No order ${orderId}.`);
  const notYours = orderOwnerFailure(order, shopperId);
  if (notYours) return notYours;
  if (order.status !== "pending") {
    return failure("order_not_pending", `Order ${orderId} is ${order.status}; it cannot be paid.`);
  }
  const saved = order as typeof order & CheckoutColumns;
  const open =
    saved.checkout_session_id !== null &&
    saved.checkout_url !== null &&
    saved.checkout_expires_at !== null &&
    saved.checkout_expires_at > tx.now + REUSE_MARGIN_MS
      ? {
          sessionId: saved.checkout_session_id,
          url: saved.checkout_url,
          expiresAt: saved.checkout_expires_at,
        }
      : null;
  const product = productRow(tx.sql);
  return {
    ok: true,
    order: orderView(tx.productId, order),
    product: { name: product.name, imageUrl: product.image_url },
    open,
    previousSessionId: saved.checkout_session_id,
  };
}

/**
 * Keep the session just opened on the order. When another request kept one first (two clicks
 * at once), the first stays and is the answer to both.
 */
export function saveCheckout(
  tx: Tx,
  orderId: string,
  session: CheckoutSession,
  previousSessionId: string | null,
): Answer<{ session: CheckoutSession }> {
  const order = findOrder(tx, orderId);
  if (!order) return failure("order_not_found", `No order ${orderId}.`);
  const saved = order as typeof order & CheckoutColumns;
  if (
    saved.checkout_session_id !== previousSessionId &&
    saved.checkout_session_id !== null &&
    saved.checkout_url !== null &&
    saved.checkout_expires_at !== null
  ) {
    return {
      ok: true,
      session: {
        sessionId: saved.checkout_session_id,
        url: saved.checkout_url,
        expiresAt: saved.checkout_expires_at,
      },
    };
  }
  tx.sql.exec(
    `UPDATE orders SET checkout_session_id = ?, checkout_url = ?, checkout_expires_at = ?,
       updated_at = ? WHERE order_id = ?`,
    session.sessionId,
    session.url,
    session.expiresAt,
    tx.now,
    orderId,
  );
  tx.record({
    event: "checkout_started",
    order: { ...order, updated_at: tx.now },
    detail: `Stripe Checkout ${session.sessionId} opened, open until ${new Date(session.expiresAt).toISOString()}`,
  });
  tx.log("Checkout session opened.", {
    product_id: tx.productId,
    order_id: orderId,
    session_id: session.sessionId,
  });
  return { ok: true, session };
}
