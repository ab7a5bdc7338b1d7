import { createRoute } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { ApiFailure, COMMON_ERRORS, errorResponses, jsonBody, jsonResponse, unwrap } from "../http";
import { productOfOrder } from "../ids";
import { WebhookAnswer, WebhookRequest } from "../schemas";
import { authenticateWebhook } from "../webhook-auth";
import { callFor, type AppEnv, type App, type RouteDeps } from "./types";

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
  summary: "Payment gateway notification, applied exactly once per idempotency key",
  description:
    "Signed with Standard Webhooks headers when WEBHOOK_SECRET is set. `webhook-id` stands in for `idempotency_key` when the body has none.",
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
      ...COMMON_ERRORS,
    ),
  },
});

export function webhookRoutes(app: App, { ask, soldOut }: RouteDeps): void {
  app.openapi(paymentWebhook, async (c) => {
    const body = c.req.valid("json");
    const idempotencyKey = body.idempotency_key ?? c.get("webhookMessageId");
    if (!idempotencyKey)
      throw new ApiFailure(
        "invalid_request",
        "idempotency_key: required (or send a webhook-id header)",
      );
    const productId = productOfOrder(body.order_id);
    if (productId === null) throw new ApiFailure("order_not_found", `No order ${body.order_id}.`);
    const notice = {
      idempotencyKey,
      orderId: body.order_id,
      status: body.status,
      amountCents: body.amount_cents,
      currency: body.currency,
      paymentId: body.payment_id,
    };
    const { answer, freed } = unwrap(
      await ask(
        c,
        productId,
        {
          unknown: "order_not_found",
          fields: { order_id: body.order_id, idempotency_key: idempotencyKey },
        },
        (stub) => stub.settlePayment({ ...callFor(c, productId), notice }),
      ),
    );
    // A failed payment frees its units: this isolate must not keep calling the product sold out.
    if (freed > 0) soldOut.forget(productId);
    return c.json(answer, 200);
  });
}
