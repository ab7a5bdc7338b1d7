import { createRoute, z } from "@hono/zod-openapi";
import { listOrders, readOrderTrail, type OrderTrail } from "../catalogue/order-history";
import { orderIdPrefixOf, ownerOfOrder } from "../contract/ids";
import {
  OrderDetail,
  OrderIdParam,
  OrderList,
  OrderListQuery,
  type OrderView,
  type TimelineEntry,
} from "../contract/shapes";
import type { App } from "../http/context";
import { HttpError } from "../http/error-answer";
import { ADMIN_ERRORS, errorResponses, jsonResponse, SECURITY } from "../http/openapi";
import { logEvent } from "../log";
import type { OrderTrailLive } from "../product/orders";
import type { RouteDeps } from "./deps";

const security = SECURITY.admin;
const PAGE = 100;

type Entry = z.infer<typeof TimelineEntry>;

const listOrdersRoute = createRoute({
  method: "get",
  path: "/api/admin/orders",
  operationId: "listOrders",
  tags: ["Admin"],
  summary: "Search orders, newest first, from the order history in D1",
  description:
    "Filters combine (all must match): `product_id`, `status`, `shopper_id`, `payment_id` (the gateway's, e.g. a Stripe payment intent), `order_number` (may match more than one order) and `since` (created at or after). `limit` 1..100 (default 100); follow `next_cursor` with the same filters. The history is copied from each product's object through its outbox, so an order shows here within moments; GET /api/admin/orders/{id} has its live state.",
  security,
  request: { query: OrderListQuery },
  responses: {
    200: jsonResponse(OrderList, "A page of orders"),
    // 422 also for a cursor this API did not give out, or an order number that cannot be one.
    ...errorResponses(...ADMIN_ERRORS, "invalid_request", "service_unavailable"),
  },
});

const readOrderRoute = createRoute({
  method: "get",
  path: "/api/admin/orders/{id}",
  operationId: "getAdminOrder",
  tags: ["Admin"],
  summary: "One order with its timeline: hold, order, payment attempts, outcome, refunds",
  description:
    "The order as its product's object has it now (else, when the object cannot answer, the copy in D1), and a timeline, oldest first, from the history in D1 and what the object keeps: `hold_created`, `order_created`, `payment_attempt` (each payment notice, and each Stripe Checkout opened), `paid`, `failed`, `cancelled` (by the shopper), `expired` (its payment window closed), `refund_created`, `refund_resolved`.",
  security,
  request: { params: OrderIdParam },
  responses: {
    200: jsonResponse(OrderDetail, "The order and its timeline"),
    ...errorResponses("order_not_found", ...ADMIN_ERRORS, "invalid_request", "service_unavailable"),
  },
});

function encodeCursor(last: OrderView): string {
  return btoa(JSON.stringify([last.created_at, last.order_id]))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replaceAll("=", "");
}

function decodeCursor(cursor: string): { createdAt: string; orderId: string } {
  try {
    const value: unknown = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === "string" &&
      typeof value[1] === "string"
    ) {
      return { createdAt: value[0], orderId: value[1] };
    }
  } catch {
    // falls through to the refusal below
  }
  throw new HttpError("invalid_request", "cursor: not one this API gave out");
}

/** Where each kind comes in an order's story, for entries at the same instant. */
const STEP: Record<Entry["kind"], number> = {
  hold_created: 0,
  order_created: 1,
  payment_attempt: 2,
  paid: 3,
  failed: 3,
  cancelled: 3,
  expired: 3,
  refund_created: 4,
  refund_resolved: 5,
};

const iso = (ms: number) => new Date(ms).toISOString();

/** The history's event names as the timeline says them. */
function eventEntry(event: OrderTrail["events"][number]): Entry | null {
  const detail = event.detail;
  switch (event.event) {
    case "order_created":
      return { at: event.at, kind: "order_created", detail };
    case "order_paid":
      return { at: event.at, kind: "paid", detail };
    case "order_failed":
      return { at: event.at, kind: "failed", detail };
    case "order_cancelled":
      return {
        at: event.at,
        kind: detail === "payment window closed" ? "expired" : "cancelled",
        detail,
      };
    case "refund_required":
    case "checkout_started":
      return { at: event.at, kind: "payment_attempt", detail };
    default:
      return null;
  }
}

/** The timeline, oldest first: D1's history and what the object keeps beside the order. */
function timeline(trail: OrderTrail, live: OrderTrailLive | null): Entry[] {
  const entries: Entry[] = [];
  if (live?.holdCreatedAt != null) {
    entries.push({ at: iso(live.holdCreatedAt), kind: "hold_created", detail: null });
  }
  for (const event of trail.events) {
    const entry = eventEntry(event);
    if (entry) entries.push(entry);
  }
  // The order may be newer than its copy in D1: its creation is known from the object then.
  if (live && !entries.some((e) => e.kind === "order_created")) {
    entries.push({ at: live.order.created_at, kind: "order_created", detail: null });
  }
  for (const payment of live?.payments ?? []) {
    const outcome = payment.ignored ? ", changed nothing" : "";
    entries.push({
      at: iso(payment.at),
      kind: "payment_attempt",
      detail: `${payment.status} notice ${payment.key}${outcome}`,
    });
  }
  for (const refund of trail.refunds) {
    const money = `${refund.amount_cents} ${refund.currency}`;
    entries.push({
      at: refund.created_at,
      kind: "refund_created",
      detail: `${refund.refund_id}: ${money} due (${refund.reason})`,
    });
    if (refund.resolved_at !== null) {
      entries.push({
        at: refund.resolved_at,
        kind: "refund_resolved",
        detail: `${refund.refund_id}: ${refund.note ?? ""}`,
      });
    }
  }
  // A payment and what it caused share one instant (one transaction): cause first.
  return entries.sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || STEP[a.kind] - STEP[b.kind]);
}

export function adminOrderRoutes(app: App, { products }: RouteDeps): void {
  app.openapi(listOrdersRoute, async (c) => {
    const query = c.req.valid("query");
    let idPrefix: string | null = null;
    if (query.order_number !== undefined) {
      idPrefix = orderIdPrefixOf(query.order_number);
      if (idPrefix === null) {
        throw new HttpError(
          "invalid_request",
          "order_number: 8 characters of 0-9 and A-Z without U, e.g. 7ZK3M0QD",
        );
      }
    }
    const limit = query.limit ?? PAGE;
    let results;
    try {
      results = await listOrders(c.env.DB, {
        productId: query.product_id ?? null,
        status: query.status ?? null,
        shopperId: query.shopper_id ?? null,
        paymentId: query.payment_id ?? null,
        idPrefix,
        since: query.since === undefined ? null : new Date(query.since).toISOString(),
        after: query.cursor === undefined ? null : decodeCursor(query.cursor),
        limit: limit + 1,
      });
    } catch (error) {
      if (error instanceof HttpError) throw error;
      logEvent(
        "Order history unavailable.",
        { request_id: c.get("requestId"), error: String(error) },
        "error",
      );
      throw new HttpError("service_unavailable", "The order history cannot be read right now.");
    }
    const page = results.slice(0, limit);
    const last = page.at(-1);
    return c.json(
      { orders: page, next_cursor: results.length > limit && last ? encodeCursor(last) : null },
      200,
    );
  });

  app.openapi(readOrderRoute, async (c) => {
    const { id: orderId } = c.req.valid("param");
    const owner = ownerOfOrder(orderId);
    if (owner === null) throw new HttpError("order_not_found", `No order ${orderId}.`);
    const { productId, shard } = owner;
    // Both sources at once; either may be missing the order or be down.
    const [liveAnswer, trailAnswer] = await Promise.allSettled([
      products.call(c, {
        productId,
        shard,
        method: "readOrderTrail",
        input: { orderId },
        unknown: "order_not_found",
        fields: { order_id: orderId },
      }),
      readOrderTrail(c.env.DB, orderId),
    ]);
    const live = liveAnswer.status === "fulfilled" ? liveAnswer.value : null;
    const trail = trailAnswer.status === "fulfilled" ? trailAnswer.value : null;
    const order = live?.order ?? trail?.order ?? null;
    if (order === null) {
      const liveMissing =
        liveAnswer.status === "rejected" &&
        liveAnswer.reason instanceof HttpError &&
        liveAnswer.reason.code === "order_not_found";
      if (liveMissing && trail !== null) {
        throw new HttpError("order_not_found", `No order ${orderId}.`);
      }
      logEvent(
        "Order unavailable from its object and from D1.",
        {
          request_id: c.get("requestId"),
          order_id: orderId,
          object_error: liveAnswer.status === "rejected" ? String(liveAnswer.reason) : null,
          d1_error: trailAnswer.status === "rejected" ? String(trailAnswer.reason) : null,
        },
        "error",
      );
      throw new HttpError("service_unavailable", "The order cannot be read right now; retry.");
    }
    const empty: OrderTrail = { order: null, events: [], refunds: [] };
    return c.json({ order, timeline: timeline(trail ?? empty, live) }, 200);
  });
}
