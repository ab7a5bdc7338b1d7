import { createRoute } from "@hono/zod-openapi";
import { HttpError } from "../http/error-answer";
import {
  ADMIN_ERRORS,
  BODY_ERRORS,
  errorResponses,
  jsonBody,
  jsonResponse,
  SECURITY,
} from "../http/openapi";
import { ownerOfRefund } from "../contract/ids";
import { listRefunds } from "../catalogue/refund-history";
import {
  Refund,
  RefundIdParam,
  RefundList,
  RefundListQuery,
  RefundResolveRequest,
  type RefundView,
} from "../contract/shapes";
import type { App } from "../http/context";
import type { RouteDeps } from "./deps";

/** At most this many refunds per page. */
const PAGE = 100;
const security = SECURITY.admin;

const listRefundsRoute = createRoute({
  method: "get",
  path: "/api/admin/refunds",
  operationId: "listRefunds",
  tags: ["Admin"],
  summary: "Refunds to act on, newest first, from the order history in D1",
  description:
    "Each refund due is a payment to return: a late payment, a second charge, or a charge for the wrong amount. At most 100 per page; follow `next_cursor`. Copied from the products' objects with the order history, so a refund appears (and shows resolved) within moments of the change.",
  security,
  request: { query: RefundListQuery },
  responses: {
    200: jsonResponse(RefundList, "A page of refunds"),
    // 422 also for a cursor this API did not give out. D1 failing is a 500 here.
    ...errorResponses(...ADMIN_ERRORS, "invalid_request"),
  },
});

const resolveRefund = createRoute({
  method: "post",
  path: "/api/admin/refunds/{id}/resolve",
  operationId: "resolveRefund",
  tags: ["Admin"],
  summary: "Mark a refund as done, with a note saying how",
  description:
    "The note is required (422 without one, and nothing changes). Resolving again answers the same refund, with the first resolution and its note kept.",
  security,
  request: {
    params: RefundIdParam,
    body: jsonBody(RefundResolveRequest, "How the money went back, e.g. the gateway's refund id"),
  },
  responses: {
    200: jsonResponse(Refund, "The refund, resolved"),
    ...errorResponses("refund_not_found", ...ADMIN_ERRORS, ...BODY_ERRORS, "service_unavailable"),
  },
});

/** The cursor is where the last page ended: its (created_at, refund_id), opaque to clients. */
function encodeCursor(last: RefundView): string {
  return btoa(JSON.stringify([last.created_at, last.refund_id]))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replaceAll("=", "");
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const json = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    const value: unknown = JSON.parse(json);
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === "string" &&
      typeof value[1] === "string"
    ) {
      return [value[0], value[1]];
    }
  } catch {
    // falls through to the refusal below
  }
  throw new HttpError("invalid_request", "cursor: not one this API gave out");
}

export function refundRoutes(app: App, { products }: RouteDeps): void {
  app.openapi(listRefundsRoute, async (c) => {
    const { status, product_id: productId, cursor } = c.req.valid("query");
    const [afterAt, afterId] = cursor === undefined ? [null, null] : decodeCursor(cursor);
    const results = await listRefunds(c.env.DB, {
      status: status ?? null,
      productId: productId ?? null,
      after:
        afterAt === null || afterId === null ? null : { createdAt: afterAt, refundId: afterId },
      limit: PAGE + 1,
    });
    const page = results.slice(0, PAGE);
    const last = page.at(-1);
    return c.json(
      { refunds: page, next_cursor: results.length > PAGE && last ? encodeCursor(last) : null },
      200,
    );
  });

  app.openapi(resolveRefund, async (c) => {
    const { id: refundId } = c.req.valid("param");
    const { note } = c.req.valid("json");
    const owner = ownerOfRefund(refundId);
    if (owner === null) throw new HttpError("refund_not_found", `No refund ${refundId}.`);
    const { productId, shard } = owner;
    const { refund } = await products.call(c, {
      productId,
      shard,
      method: "resolveRefund",
      input: { refundId, note },
      unknown: "refund_not_found",
      fields: { refund_id: refundId },
    });
    return c.json(refund, 200);
  });
}
