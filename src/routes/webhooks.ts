import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { ApiFailure, unwrap } from "../http/error-answer";
import { BODY_ERRORS, errorResponses, jsonBody, jsonResponse, SECURITY } from "../http/openapi";
import { productOfOrder } from "../contract/ids";
import type { PaymentNotice } from "../product/payments";
import { WebhookAnswer, WebhookRequest, type WebhookAnswerView } from "../contract/shapes";
import { authenticateWebhook } from "../auth/webhook-signature";
import { callFor, type AppEnv, type App, type RouteDeps } from "../http/context";

/** Authenticity comes first: an unsigned or forged webhook learns nothing about its body. */
const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const verdict = authenticateWebhook(
    c.env,
    c.req.raw.headers,
    await c.req.text(),
    c.get("requestId"),
  );
  if (!verdict.ok) throw new ApiFailure(verdict.code, verdict.message);
  c.set("webhookMessageId", verdict.messageId);
  await next();
});

const paymentWebhook = createRoute({
  method: "post",
  path: "/api/payments/webhook",
  operationId: "receivePaymentWebhook",
  tags: ["Payments"],
  summary: "Payment gateway notification, applied exactly once per idempotency key",
  description:
    "Signed with Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`) when WEBHOOK_SECRET is set; the signature is checked before the body is read. `webhook-id` stands in for `idempotency_key` when the body has none (422 when there is neither).",
  security: SECURITY.webhook,
  middleware: [authenticate] as const,
  request: { body: jsonBody(WebhookRequest, "The payment outcome") },
  responses: {
    200: jsonResponse(
      WebhookAnswer,
      "Applied, a duplicate (`duplicate: true`) or for an order already final (`ignored: true`)",
    ),
    ...errorResponses(
      "invalid_signature",
      "order_not_found",
      "idempotency_key_reused",
      "webhook_secret_not_configured",
      "webhook_secret_invalid",
      ...BODY_ERRORS,
      "service_unavailable",
    ),
  },
});

/**
 * Apply a payment notice, from whichever gateway, through the one exactly-once path: the order's
 * product object settles it against the notice's idempotency key.
 */
export async function settle(
  c: Context<AppEnv>,
  { ask, soldOut }: RouteDeps,
  notice: PaymentNotice,
): Promise<WebhookAnswerView> {
  const productId = productOfOrder(notice.orderId);
  if (productId === null) throw new ApiFailure("order_not_found", `No order ${notice.orderId}.`);
  const { answer, freed } = unwrap(
    await ask(
      c,
      productId,
      {
        unknown: "order_not_found",
        fields: { order_id: notice.orderId, idempotency_key: notice.idempotencyKey },
      },
      (stub) => stub.settlePayment({ ...callFor(c, productId), notice }),
    ),
  );
  // A failed payment frees its units: this isolate must not keep calling the product sold out.
  if (freed > 0) soldOut.forget(productId);
  return answer;
}

export function webhookRoutes(app: App, deps: RouteDeps): void {
  app.openapi(paymentWebhook, async (c) => {
    const body = c.req.valid("json");
    const idempotencyKey = body.idempotency_key ?? c.get("webhookMessageId");
    if (!idempotencyKey)
      throw new ApiFailure(
        "invalid_request",
        "idempotency_key: required (or send a webhook-id header)",
      );
    const answer = await settle(c, deps, {
      idempotencyKey,
      orderId: body.order_id,
      status: body.status,
      amountCents: body.amount_cents,
      currency: body.currency,
      paymentId: body.payment_id,
    });
    return c.json(answer, 200);
  });
}
