import { createRoute, z } from "@hono/zod-openapi";
import { HttpError } from "../http/error-answer";
import { ADMIN_ERRORS, errorResponses, jsonResponse, SECURITY } from "../http/openapi";
import { DeadLetter, DeadLetterList, DeadLetterParams, ProductIdParam } from "../contract/shapes";
import type { App } from "../http/context";
import type { RouteDeps } from "./deps";

const PAGE = 100;
const security = SECURITY.admin;

const ListQuery = z.object({
  cursor: z
    .string()
    .regex(/^[0-9]{1,16}$/, "cursor: from next_cursor")
    .optional()
    .openapi({ param: { name: "cursor", in: "query" } }),
});

const listDeadLetters = createRoute({
  method: "get",
  path: "/api/admin/products/{id}/dead-letters",
  operationId: "listDeadLetters",
  tags: ["Admin"],
  summary: "Order-history events D1 refused, oldest first",
  description:
    "An event D1 rejects for good (or that failed 5 times while others got through) is parked here so the rest of the history flows on. Fix the cause, then retry it.",
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
  security,
  request: { params: DeadLetterParams },
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
    const { cursor } = c.req.valid("query");
    const after = cursor === undefined ? 0 : Number(cursor);
    const { deadLetters, nextAfter } = await products.call(c, {
      productId: id,
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
    if (!Number.isSafeInteger(seq))
      throw new HttpError("dead_letter_not_found", `No dead letter ${seq}.`);
    const { deadLetter } = await products.call(c, {
      productId: id,
      method: "retryDeadLetter",
      input: { seq },
      fields: { seq },
    });
    return c.json(deadLetter, 200);
  });
}
