import { createRoute, z } from "@hono/zod-openapi";
import { configFrom } from "../config";
import { errorResponses, jsonResponse, SECURITY } from "../http/openapi";
import type { App } from "../http/context";

const StorefrontConfig = z
  .object({
    shopper_identity: z.enum(["token", "header", "none"]).openapi({
      description:
        "`token`: send the shopper's JWT as Authorization: Bearer; `header`: a trusted backend names the shopper in X-Shopper-Id (TRUST_SHOPPER_HEADER is true); `none`: neither is set up, so a request naming a shopper is refused and shoppers shop anonymously if `anonymous_shoppers` allows it.",
    }),
    anonymous_shoppers: z
      .boolean()
      .openapi({ description: "Shopping without a name is allowed (local use)." }),
    simulated_payments: z.boolean().openapi({
      description:
        "Unsigned payment webhooks are accepted (local use): a demo may simulate payments.",
    }),
    payments: z.enum(["stripe", "simulated", "none"]).openapi({
      description:
        "How shoppers pay: `stripe` (STRIPE_SECRET_KEY is set: POST /api/orders/{id}/checkout), `simulated` (no key, unsigned webhooks allowed locally: a demo simulates payments), `none` (payment is not set up).",
    }),
    queue_available: z
      .boolean()
      .openapi({ description: "QUEUE_SECRET is set: products may have a queue." }),
    max_qty_per_hold: z
      .number()
      .int()
      .openapi({ description: "MAX_QTY_PER_HOLD: the largest qty one hold may ask for." }),
  })
  .openapi("StorefrontConfig");

const readConfig = createRoute({
  method: "get",
  path: "/api/config",
  operationId: "getConfig",
  tags: ["Service"],
  summary: "What a storefront page needs to know about this deployment",
  description:
    "Public, and touches no product: how shoppers identify themselves, and what the local demo may do.",
  security: SECURITY.public,
  responses: {
    200: jsonResponse(StorefrontConfig, "This deployment's settings for storefronts"),
    ...errorResponses(),
  },
});

export function configRoutes(app: App): void {
  app.openapi(readConfig, (c) => {
    const simulated = !c.env.WEBHOOK_SECRET && c.env.ALLOW_UNSIGNED_WEBHOOKS === "true";
    const payments = c.env.STRIPE_SECRET_KEY
      ? ("stripe" as const)
      : simulated
        ? ("simulated" as const)
        : ("none" as const);
    return c.json(
      {
        shopper_identity: c.env.SHOPPER_TOKEN_SECRET
          ? ("token" as const)
          : c.env.TRUST_SHOPPER_HEADER === "true"
            ? ("header" as const)
            : ("none" as const),
        anonymous_shoppers:
          !c.env.SHOPPER_TOKEN_SECRET && c.env.ALLOW_ANONYMOUS_SHOPPERS === "true",
        simulated_payments: simulated,
        payments,
        queue_available: Boolean(c.env.QUEUE_SECRET),
        max_qty_per_hold: configFrom(c.env).maxQtyPerHold,
      },
      200,
    );
  });
}
