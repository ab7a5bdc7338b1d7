import { createRoute, z } from "@hono/zod-openapi";
import { HttpError } from "../http/error-answer";
import { ADMIN_ERRORS, errorResponses, jsonResponse, SECURITY } from "../http/openapi";
import { DeadLetter, DeadLetterList, DeadLetterParams, ProductIdParam } from "../contract/shapes";
import { MAX_SHARDS } from "../contract/ids";
import type { App } from "../http/context";
import type { RouteDeps } from "./deps";

const PAGE = 100;
const security = SECURITY.admin;

/**
 * Which object's dead letters: absent, the product's own (its coordinator, the only one of an
 * unsharded product); k, shard k's, which copies its own orders to D1 (docs/sharding.md).
 */
const shard = z
  .string()
  // 0 to 255 (MAX_SHARDS - 1) spelt out, so the document's pattern states the range too.
  .regex(/^(0|[1-9][0-9]?|1[0-9]{2}|2[0-4][0-9]|25[0-5])$/, `shard must be 0 to ${MAX_SHARDS - 1}`)
  .transform(Number)
  .optional()
  .openapi({
    param: { name: "shard", in: "query" },
    example: "0",
    description: `0..${MAX_SHARDS - 1}: shard k's object instead of the product's own.`,
  });

const ListQuery = z.object({
  cursor: z
    .string()
    .regex(/^[0-9]{1,16}$/, "cursor: from next_cursor")
    .optional()
    .openapi({ param: { name: "cursor", in: "query" } }),
  shard,
});

const RetryQuery = z.object({ shard });

const SHARD_NOTE = `Each shard of a sharded product copies its own orders to D1 and keeps its own dead letters: name it with \`?shard=k\` (0..${MAX_SHARDS - 1}; metrics' \`shards.per_shard[].dead_letters\` says which have some). Without \`shard\`, the product's own object.`;

const listDeadLetters = createRoute({
  method: "get",
  path: "/api/admin/products/{id}/dead-letters",
  operationId: "listDeadLetters",
  tags: ["Admin"],
  summary: "Order-history events D1 refused, oldest first",
  description:
    "An event D1 rejects for good (or that failed 5 times while others got through) is parked here so the rest of the history flows on. Fix the cause, then retry it. " +
    SHARD_NOTE,
  security,
  request: { params: ProductIdParam, query: ListQuery },
  responses: {
    200: jsonResponse(DeadLetterList, "A page of dead letters"),
    ...errorResponses(
      "product_not_found",
      ...ADMIN_ERRORS,
      "invalid_request",
      "service_unavailable",
    ),
  },
});

const retryDeadLetter = createRoute({
  method: "post",
  path: "/api/admin/products/{id}/dead-letters/{seq}/retry",
  operationId: "retryDeadLetter",
  tags: ["Admin"],
  summary: "Put a dead letter back in the order-history outbox",
  description: `The event is queued again under its own seq in the outbox of the object that keeps it. ${SHARD_NOTE}`,
  security,
  request: { params: DeadLetterParams, query: RetryQuery },
  responses: {
    200: jsonResponse(DeadLetter, "The event, queued again under its own seq"),
    ...errorResponses(
      "product_not_found",
      "dead_letter_not_found",
      ...ADMIN_ERRORS,
      "invalid_request",
      "service_unavailable",
    ),
  },
});

export function deadLetterRoutes(app: App, { products }: RouteDeps): void {
  app.openapi(listDeadLetters, async (c) => {
    const { id } = c.req.valid("param");
    const { cursor, shard } = c.req.valid("query");
    const after = cursor === undefined ? 0 : Number(cursor);
    const { deadLetters, nextAfter } = await products.call(c, {
      productId: id,
      shard,
      method: "listDeadLetters",
      input: { after, limit: PAGE },
    });
    return c.json(
      { dead_letters: deadLetters, next_cursor: nextAfter === null ? null : String(nextAfter) },
      200,
    );
  });

  app.openapi(retryDeadLetter, async (c) => {
    const { id, seq } = c.req.valid("param");
    const { shard } = c.req.valid("query");
    if (!Number.isSafeInteger(seq))
      throw new HttpError("dead_letter_not_found", `No dead letter ${seq}.`);
    const { deadLetter } = await products.call(c, {
      productId: id,
      shard,
      method: "retryDeadLetter",
      input: { seq },
      fields: { seq },
    });
    return c.json(deadLetter, 200);
  });
}
