import { createRoute } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { HttpError } from "../http/error-answer";
import { BODY_ERRORS, errorResponses, jsonBody, jsonResponse, SECURITY } from "../http/openapi";
import { WebhookAnswer, WebhookRequest } from "../contract/shapes";
import { authenticateWebhook } from "../auth/webhook-signature";
import type { AppEnv, App } from "../http/context";
import { settle } from "../payments/settle";
import type { RouteDeps } from "./deps";

/** Authenticity comes first: an unsigned or forged webhook learns nothing about its body. */
const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const verdict = authenticateWebhook(
    c.env,
    c.req.raw.headers,
    await c.req.text(),
    c.get("requestId"),
  );
  if (!verdict.ok) throw new HttpError(verdict.code, verdict.message);
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

export function webhookRoutes(app: App, deps: RouteDeps): void {
  app.openapi(paymentWebhook, async (c) => {
    const body = c.req.valid("json");
    const idempotencyKey = body.idempotency_key ?? c.get("webhookMessageId");
    if (!idempotencyKey)
      throw new HttpError(
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
