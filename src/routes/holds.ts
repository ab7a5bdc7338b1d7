import { createRoute } from "@hono/zod-openapi";
import { configFrom } from "../config";
import { HttpError } from "../http/error-answer";
import {
  BODY_ERRORS,
  errorResponses,
  IDEMPOTENT_REPLAYED,
  jsonBody,
  jsonResponse,
  SECURITY,
} from "../http/openapi";
import { ownerOfHold } from "../contract/ids";
import { rateLimited } from "../auth/rate-limit";
import { homeShard } from "../shards/home";
import { saleClosedFailure, windowOf } from "../product/sale-window";
import { Hold, HoldIdParam, HoldRequest, IdempotencyKeyHeader } from "../contract/shapes";
import { requireShopper, SHOPPER_ERRORS } from "../auth/shopper";
import type { Context } from "hono";
import { verifyAdmission, type Admission } from "../queue/tokens";
import type { App, AppEnv } from "../http/context";
import type { RouteDeps } from "./deps";

const createHold = createRoute({
  method: "post",
  path: "/api/holds",
  operationId: "createHold",
  tags: ["Holds"],
  summary: "Hold units of a product for HOLD_TTL_SECONDS",
  description:
    "Send an `Idempotency-Key` to make retries safe: the same key returns the same hold (with `Idempotent-Replayed: true`). A shopper's units in active holds, pending and paid orders never exceed the product's per-shopper limit. While the product's queue is on, send the `admission_token` of an admitted ticket.",
  security: SECURITY.shopper,
  middleware: [requireShopper, rateLimited("shopper")] as const,
  request: { headers: IdempotencyKeyHeader, body: jsonBody(HoldRequest, "What to hold") },
  responses: {
    201: jsonResponse(
      Hold,
      "The hold (or, with `Idempotent-Replayed`, the one this key made)",
      IDEMPOTENT_REPLAYED,
    ),
    ...errorResponses(
      "product_not_found",
      "insufficient_stock",
      "shopper_limit_reached",
      "sale_not_started",
      "sale_ended",
      "idempotency_key_reused",
      "admission_required",
      "invalid_admission",
      "admission_used",
      "left_queue",
      ...SHOPPER_ERRORS,
      "rate_limited",
      ...BODY_ERRORS,
      "service_unavailable",
    ),
  },
});

/**
 * The admission a hold was sent with, checked here without asking the object: issued by this
 * service, for this product and this shopper. Whether it expired or was used already is the
 * object's to say, after it has looked for a hold this request's Idempotency-Key already made
 * (a retry of that hold still gets it back).
 */
async function admitted(c: Context<AppEnv>, productId: number, token: string): Promise<Admission> {
  const secret = c.env.QUEUE_SECRET;
  const admission = secret ? await verifyAdmission(token, secret) : null;
  const reason = !admission
    ? "it was not issued by this service"
    : admission.productId !== productId
      ? `it is for product ${admission.productId}`
      : admission.shopperId !== c.get("shopperId")
        ? "it is another shopper's"
        : null;
  if (reason || !admission) {
    throw new HttpError("invalid_admission", `This admission token is not valid: ${reason}.`);
  }
  return admission;
}

const releaseHold = createRoute({
  method: "delete",
  path: "/api/holds/{id}",
  operationId: "releaseHold",
  tags: ["Holds"],
  summary: "Give an active hold back: its units are on sale again at once",
  description:
    "Releasing again answers the same hold; a hold that already expired answers with `status: expired`.",
  security: SECURITY.shopper,
  middleware: [requireShopper, rateLimited("shopper")] as const,
  request: { params: HoldIdParam },
  responses: {
    200: jsonResponse(Hold, "The hold, now released (or expired)"),
    ...errorResponses(
      "hold_not_found",
      "not_your_hold",
      "hold_already_ordered",
      ...SHOPPER_ERRORS,
      "rate_limited",
      "invalid_request",
      "service_unavailable",
    ),
  },
});

export function holdRoutes(app: App, { products, soldOut, catalogue }: RouteDeps): void {
  app.openapi(createHold, async (c) => {
    const { product_id: productId, qty, admission_token: admissionToken } = c.req.valid("json");
    const max = configFrom(c.env).maxQtyPerHold;
    if (qty > max) throw new HttpError("invalid_request", `qty: at most ${max} units per hold`);
    const clientKey = c.req.valid("header")["idempotency-key"];
    // A request with a key may be the retry of a hold that was made (it took the last unit, or the
    // sale has ended since): only the object can tell, so only keyless requests are answered here.
    if (clientKey === undefined) {
      if (soldOut.isSoldOut(productId)) {
        throw new HttpError("insufficient_stock", `Product ${productId} is sold out.`);
      }
      const entry = await catalogue.lookup(c.env.DB, productId).catch(() => null);
      const closed = entry && saleClosedFailure(windowOf(entry), Date.now());
      if (closed) throw new HttpError(closed.code, closed.message);
    }
    const admission =
      admissionToken === undefined ? undefined : await admitted(c, productId, admissionToken);
    // Without a client key, one is made here so that our own retries can never double a hold;
    // on its first attempt no hold can carry it yet, and the object can skip looking.
    const key = clientKey ?? `auto:${crypto.randomUUID()}`;
    // A sharded product: the hold goes to the shopper's home shard (an anonymous shopper's is the
    // key's), where their limit, their keys and their orders live (docs/sharding.md).
    const shards = (await products.entry(c, productId)).shards ?? 1;
    const shard = shards > 1 ? homeShard(c.get("shopperId") ?? key, shards) : null;
    const { hold, replayed } = await products.call(c, {
      productId,
      shard,
      method: "createHold",
      input: (attempt) => ({
        shopperId: c.get("shopperId"),
        qty,
        idempotencyKey: key,
        freshKey: clientKey === undefined && attempt === 1,
        admission: admission && { seq: admission.seq, expiresAt: admission.expiresAt },
      }),
      fields: { idempotency_key: key },
      // What is left after this hold, or after a refusal: the sold-out memory learns from both.
      // A shard's refusal says "none here now", not sold out, unless its coordinator has just
      // said that no unit is free anywhere (`productAvailable`).
      observe: (answer) => {
        if (shard !== null) {
          if ("productAvailable" in answer && answer.productAvailable !== undefined) {
            soldOut.saw(productId, answer.productAvailable);
          }
        } else if ("available" in answer && answer.available !== undefined) {
          soldOut.saw(productId, answer.available);
        }
      },
    });
    // Only the client's own key is replayed to them; a replay of our key is our own retry.
    if (replayed && clientKey !== undefined) c.header("Idempotent-Replayed", "true");
    return c.json(hold, 201);
  });

  app.openapi(releaseHold, async (c) => {
    const { id: holdId } = c.req.valid("param");
    const owner = ownerOfHold(holdId);
    if (owner === null) throw new HttpError("hold_not_found", `No hold ${holdId}.`);
    const { productId, shard } = owner;
    const { hold, freed } = await products.call(c, {
      productId,
      shard,
      method: "releaseHold",
      input: { shopperId: c.get("shopperId"), holdId },
      unknown: "hold_not_found",
      fields: { hold_id: holdId },
    });
    // Units came back: this isolate must not keep calling the product sold out.
    if (freed > 0) soldOut.forget(productId);
    return c.json(hold, 200);
  });
}
