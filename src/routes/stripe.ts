import { createRoute, z } from "@hono/zod-openapi";
import { HttpError, refuseMisconfigured } from "../http/error-answer";
import { errorResponses, jsonResponse, SECURITY } from "../http/openapi";
import { logEvent } from "../log";
import { WebhookAnswer } from "../contract/shapes";
import { readStripeEvent } from "../payments/stripe-events";
import type { App } from "../http/context";
import type { RouteDeps } from "./deps";
import { settle } from "../payments/settle";

const StripeAnswer = z
  .object({
    received: z.literal(true),
    event_id: z.string(),
    type: z.string(),
    ignored: z.boolean().openapi({
      description:
        "True for event types this service does not act on, or intents without metadata.order_id.",
    }),
    payment: WebhookAnswer.optional(),
  })
  .openapi("StripeWebhookAnswer");

const stripeWebhook = createRoute({
  method: "post",
  path: "/api/payments/stripe",
  operationId: "receiveStripeWebhook",
  tags: ["Payments"],
  summary: "Stripe's own webhook: payment intents settled exactly once",
  description:
    "Verified with the `stripe` package against `Stripe-Signature` and STRIPE_WEBHOOK_SECRET, before anything reads the body (which is why a body that is not a Stripe event is a 400 `invalid_stripe_signature` too). `payment_intent.succeeded`, `payment_intent.payment_failed` and `payment_intent.canceled` with the order in `metadata.order_id` go through the same exactly-once path as the generic webhook, keyed by the event id, with the intent's amount, currency and id reconciled. A failed attempt keeps the order pending (the customer may retry the intent); a canceled intent fails the order and frees its units. Other events are acknowledged and ignored. A missing, wrong or stale signature is 400, as Stripe expects. Bodies up to 512 KiB.",
  // The Stripe-Signature header is the security scheme: the route reads it itself.
  security: SECURITY.stripe,
  request: {
    body: {
      required: true,
      description: "A Stripe event, as Stripe sends it",
      // A plain schema, not a zod one: nothing parses the body before its signature is checked.
      content: { "application/json": { schema: { type: "object" as const } } },
    },
  },
  responses: {
    200: jsonResponse(StripeAnswer, "Acknowledged: applied, a duplicate, or ignored"),
    // No 415/422 and no invalid_json: nothing parses the body before its signature is checked.
    ...errorResponses(
      "invalid_stripe_signature",
      "order_not_found",
      "idempotency_key_reused",
      "stripe_not_configured",
      "service_unavailable",
    ),
  },
});

export function stripeRoutes(app: App, deps: RouteDeps): void {
  app.openapi(stripeWebhook, async (c) => {
    const secret = c.env.STRIPE_WEBHOOK_SECRET;
    if (!secret) {
      refuseMisconfigured(
        c,
        "stripe_not_configured",
        "Stripe webhook refused: STRIPE_WEBHOOK_SECRET is not set.",
        "Stripe webhooks are not accepted until STRIPE_WEBHOOK_SECRET is configured.",
      );
    }
    let event;
    try {
      event = await readStripeEvent(
        await c.req.text(),
        c.req.header("stripe-signature") ?? "",
        secret,
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      logEvent("Stripe signature rejected.", { reason, request_id: c.get("requestId") }, "warn");
      throw new HttpError("invalid_stripe_signature", `Stripe signature rejected: ${reason}`);
    }
    const received = { received: true as const, event_id: event.eventId, type: event.type };
    if (!event.notice) return c.json({ ...received, ignored: true }, 200);
    const payment = await settle(c, deps, { idempotencyKey: event.eventId, ...event.notice });
    return c.json({ ...received, ignored: false, payment }, 200);
  });
}
