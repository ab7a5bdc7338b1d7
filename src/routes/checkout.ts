import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { rateLimited } from "../auth/rate-limit";
import { requireShopper, SHOPPER_ERRORS } from "../auth/shopper";
import { configFrom } from "../config";
import { ownerOfOrder } from "../contract/ids";
import { OrderIdParam } from "../contract/shapes";
import type { App, AppEnv } from "../http/context";
import { HttpError, refuseMisconfigured } from "../http/error-answer";
import { errorResponses, jsonResponse, SECURITY } from "../http/openapi";
import { logEvent } from "../log";
import { openCheckoutSession, STRIPE_MIN_SESSION_SECONDS } from "../payments/checkout";
import type { RouteDeps } from "./deps";

/** A session must still have this long past Stripe's minimum when it is asked for. */
const LEEWAY_SECONDS = 60;

const CheckoutAnswer = z
  .object({
    url: z
      .string()
      .openapi({ description: "Stripe's hosted payment page: send the shopper here." }),
    session_id: z.string().openapi({ example: "cs_test_a1B2…" }),
    expires_at: z.string().openapi({
      format: "date-time",
      description: "When Stripe closes the session: at or before the order's pay_by.",
    }),
  })
  .openapi("Checkout");

const checkoutRoute = createRoute({
  method: "post",
  path: "/api/orders/{id}/checkout",
  operationId: "checkoutOrder",
  tags: ["Orders"],
  summary: "Hand the shopper to Stripe Checkout to pay a pending order",
  description:
    "Opens a Stripe Checkout Session for the order's amount and currency (one line item: the product's name and picture), with the order id as `client_reference_id` and in the session's and payment intent's `metadata.order_id`, closing no later than the order's `pay_by`; success and cancel bring the shopper back to `/?order=<id>&checkout=success` (or `cancel`) on this origin. While that session is open, asking again answers the same one. Stripe's `checkout.session.completed` and `payment_intent.succeeded` then pay the order through POST /api/payments/stripe (one payment, whichever comes first). Stripe keeps a session open at least 30 minutes: 409 `checkout_too_late` when the order's window closes sooner; 503 `payments_misconfigured` while PAYMENT_TTL_SECONDS is below 1800.",
  security: SECURITY.shopper,
  middleware: [requireShopper, rateLimited("shopper")] as const,
  request: { params: OrderIdParam },
  responses: {
    200: jsonResponse(CheckoutAnswer, "The Checkout Session to send the shopper to"),
    ...errorResponses(
      "not_your_order",
      "order_not_found",
      "order_not_pending",
      "checkout_too_late",
      ...SHOPPER_ERRORS,
      "rate_limited",
      "invalid_request",
      "payment_provider_error",
      "payments_not_configured",
      "payments_misconfigured",
      "service_unavailable",
    ),
  },
});

/** Stripe needs its key, and a payment window it can keep a session open in. */
function stripeKey(c: Context<AppEnv>): string {
  const key = c.env.STRIPE_SECRET_KEY;
  if (!key) {
    throw new HttpError(
      "payments_not_configured",
      "Payments are not set up: this deployment has no STRIPE_SECRET_KEY.",
    );
  }
  const ttlSeconds = configFrom(c.env).paymentTtlMs / 1000;
  if (ttlSeconds < STRIPE_MIN_SESSION_SECONDS) {
    refuseMisconfigured(
      c,
      "payments_misconfigured",
      "Stripe Checkout refused: PAYMENT_TTL_SECONDS is below Stripe's 30-minute minimum.",
      `PAYMENT_TTL_SECONDS is ${ttlSeconds}, but Stripe Checkout needs at least ${STRIPE_MIN_SESSION_SECONDS}: payments are off until it is raised.`,
      { payment_ttl_seconds: ttlSeconds },
    );
  }
  return key;
}

export function checkoutRoutes(app: App, { products }: RouteDeps): void {
  app.openapi(checkoutRoute, async (c) => {
    const secretKey = stripeKey(c);
    const { id: orderId } = c.req.valid("param");
    const owner = ownerOfOrder(orderId);
    if (owner === null) throw new HttpError("order_not_found", `No order ${orderId}.`);
    const { productId, shard } = owner;
    const fields = { order_id: orderId };
    const start = await products.call(c, {
      productId,
      shard,
      method: "startCheckout",
      input: { shopperId: c.get("shopperId"), orderId },
      unknown: "order_not_found",
      fields,
    });
    const answer = (session: { sessionId: string; url: string; expiresAt: number }) =>
      c.json(
        {
          url: session.url,
          session_id: session.sessionId,
          expires_at: new Date(session.expiresAt).toISOString(),
        },
        200,
      );
    if (start.open) return answer(start.open);

    const { order, product } = start;
    const payBy = Date.parse(order.pay_by);
    const expiresAt = Math.floor(payBy / 1000);
    if (expiresAt - Date.now() / 1000 < STRIPE_MIN_SESSION_SECONDS + LEEWAY_SECONDS) {
      throw new HttpError(
        "checkout_too_late",
        `Order ${orderId} must be paid by ${order.pay_by}: too soon for a Stripe Checkout, which stays open at least 30 minutes.`,
      );
    }
    const origin = new URL(c.req.url).origin;
    const back = (outcome: string) =>
      `${origin}/?order=${encodeURIComponent(orderId)}&checkout=${outcome}`;
    let session;
    try {
      session = await openCheckoutSession(
        { secretKey, apiBase: c.env.STRIPE_API_BASE },
        {
          orderId,
          productName: product.name,
          imageUrl: product.imageUrl === null ? null : new URL(product.imageUrl, origin).href,
          qty: order.qty,
          amountCents: order.amount_cents,
          currency: order.currency,
          expiresAt,
          successUrl: back("success"),
          cancelUrl: back("cancel"),
          idempotencyKey: `checkout:${orderId}:${start.previousSessionId ?? "first"}`,
        },
      );
    } catch (error) {
      logEvent(
        "Stripe Checkout Session could not be created.",
        { request_id: c.get("requestId"), ...fields, error: String(error) },
        "error",
      );
      throw new HttpError(
        "payment_provider_error",
        "Stripe could not open a checkout right now; retry shortly.",
      );
    }
    const saved = await products.call(c, {
      productId,
      shard,
      method: "saveCheckout",
      input: { orderId, session, previousSessionId: start.previousSessionId },
      unknown: "order_not_found",
      fields,
    });
    return answer(saved.session);
  });
}
