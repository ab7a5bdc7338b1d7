import { createRoute } from "@hono/zod-openapi";
import { configFrom } from "../config";
import { ApiFailure, COMMON_ERRORS, errorResponses, jsonBody, jsonResponse, unwrap } from "../http";
import { Hold, HoldRequest, IdempotencyKeyHeader } from "../schemas";
import type { App, RouteDeps } from "./types";

const createHold = createRoute({
  method: "post",
  path: "/api/holds",
  summary: "Hold units of a product for HOLD_TTL_SECONDS",
  description:
    "Send an `Idempotency-Key` to make retries safe: the same key returns the same hold (with `Idempotent-Replayed: true`).",
  request: { headers: IdempotencyKeyHeader, body: jsonBody(HoldRequest, "What to hold") },
  responses: {
    201: jsonResponse(Hold, "The hold"),
    ...errorResponses(
      "product_not_found",
      "insufficient_stock",
      "idempotency_key_reused",
      ...COMMON_ERRORS,
    ),
  },
});

export function holdRoutes(app: App, { ask, soldOut }: RouteDeps): void {
  app.openapi(createHold, async (c) => {
    const { product_id: productId, qty } = c.req.valid("json");
    const max = configFrom(c.env).maxQtyPerHold;
    if (qty > max) throw new ApiFailure("invalid_request", `qty: at most ${max} units per hold`);
    const clientKey = c.req.valid("header")["idempotency-key"];
    // A request with a key may be the retry of a hold that took the last unit: only the object
    // can tell, so only keyless requests are refused here once the product is known sold out.
    if (clientKey === undefined && soldOut.isSoldOut(productId)) {
      throw new ApiFailure("insufficient_stock", `Product ${productId} is sold out.`);
    }
    // Without a client key, one is made here so that our own retries can never double a hold;
    // on its first attempt no hold can carry it yet, and the object can skip looking.
    const key = clientKey ?? `auto:${crypto.randomUUID()}`;
    const answer = await ask(c.env, productId, { idempotency_key: key }, (stub, attempt) =>
      stub.hold(productId, qty, key, clientKey === undefined && attempt === 1),
    );
    if ("available" in answer && answer.available !== undefined)
      soldOut.saw(productId, answer.available);
    const { hold, replayed } = unwrap(answer);
    if (replayed) c.header("Idempotent-Replayed", "true");
    return c.json(hold, 201);
  });
}
