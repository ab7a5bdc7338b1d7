import { createRoute } from "@hono/zod-openapi";
import { HttpError } from "../http/error-answer";
import { BODY_ERRORS, errorResponses, jsonBody, jsonResponse, SECURITY } from "../http/openapi";
import { ownerOfHold, ownerOfOrder } from "../contract/ids";
import { limitRate, rateLimited } from "../auth/rate-limit";
import { Order, OrderIdParam, OrderRequest } from "../contract/shapes";
import { identifyReader, requireShopper, SHOPPER_ERRORS } from "../auth/shopper";
import type { App } from "../http/context";
import type { RouteDeps } from "./deps";

const createOrder = createRoute({
  method: "post",
  path: "/api/orders",
  operationId: "createOrder",
  tags: ["Orders"],
  summary: "Turn an active hold into a pending order",
  description:
    "The order keeps the units reserved until it is paid or PAYMENT_TTL_SECONDS pass. Posting the same hold again returns the same order (200).",
  security: SECURITY.shopper,
  middleware: [requireShopper, rateLimited("shopper")] as const,
  request: { body: jsonBody(OrderRequest, "The hold to order") },
  responses: {
    201: jsonResponse(Order, "The new order"),
    200: jsonResponse(Order, "The order this hold already became"),
    ...errorResponses(
      "hold_not_found",
      "not_your_hold",
      "hold_expired",
      "hold_released",
      ...SHOPPER_ERRORS,
      "rate_limited",
      ...BODY_ERRORS,
      "service_unavailable",
    ),
  },
});

const getOrder = createRoute({
  method: "get",
  path: "/api/orders/{id}",
  operationId: "getOrder",
  tags: ["Orders"],
  summary: "An order with its current status",
  description:
    "Shown to its shopper (the same token or X-Shopper-Id as for the hold) and to the admin token; to anyone else it does not exist. An order made anonymously (local use) is shown to anyone.",
  security: SECURITY.reader,
  request: { params: OrderIdParam },
  responses: {
    200: jsonResponse(Order, "The order"),
    ...errorResponses(
      "order_not_found",
      "invalid_shopper_token",
      "shopper_auth_not_configured",
      "invalid_request",
      "rate_limited",
      "service_unavailable",
    ),
  },
});

const cancelOrder = createRoute({
  method: "post",
  path: "/api/orders/{id}/cancel",
  operationId: "cancelOrder",
  tags: ["Orders"],
  summary: "Cancel a pending order: its units are on sale again at once",
  description:
    "Cancelling again answers the cancelled order. A payment that arrives afterwards is handled as for any cancelled order.",
  security: SECURITY.shopper,
  middleware: [requireShopper, rateLimited("shopper")] as const,
  request: { params: OrderIdParam },
  responses: {
    200: jsonResponse(Order, "The order, now cancelled"),
    ...errorResponses(
      "order_not_found",
      "not_your_order",
      "order_not_pending",
      ...SHOPPER_ERRORS,
      "rate_limited",
      "invalid_request",
      "service_unavailable",
    ),
  },
});

export function orderRoutes(app: App, { products, soldOut }: RouteDeps): void {
  app.openapi(createOrder, async (c) => {
    const { hold_id: holdId } = c.req.valid("json");
    const owner = ownerOfHold(holdId);
    if (owner === null) throw new HttpError("hold_not_found", `No hold ${holdId}.`);
    const { productId, shard } = owner;
    const { order, created } = await products.call(c, {
      productId,
      shard,
      method: "createOrder",
      input: { shopperId: c.get("shopperId"), holdId },
      unknown: "hold_not_found",
      fields: { hold_id: holdId },
    });
    return created ? c.json(order, 201) : c.json(order, 200);
  });

  app.openapi(getOrder, async (c) => {
    const { id: orderId } = c.req.valid("param");
    const viewer = await identifyReader(c);
    // Its shopper's reads count against the shopper's budget; anyone else's against the address's.
    c.set("shopperId", viewer.shopperId);
    await limitRate(c, viewer.shopperId !== null ? "shopper" : "ip");
    const owner = ownerOfOrder(orderId);
    if (owner === null) throw new HttpError("order_not_found", `No order ${orderId}.`);
    const { productId, shard } = owner;
    const { order } = await products.call(c, {
      productId,
      shard,
      method: "readOrder",
      input: { orderId, viewer },
      unknown: "order_not_found",
      fields: { order_id: orderId },
    });
    return c.json(order, 200);
  });

  app.openapi(cancelOrder, async (c) => {
    const { id: orderId } = c.req.valid("param");
    const owner = ownerOfOrder(orderId);
    if (owner === null) throw new HttpError("order_not_found", `No order ${orderId}.`);
    const { productId, shard } = owner;
    const { order, freed } = await products.call(c, {
      productId,
      shard,
      method: "cancelOrder",
      input: { shopperId: c.get("shopperId"), orderId },
      unknown: "order_not_found",
      fields: { order_id: orderId },
    });
    if (freed > 0) soldOut.forget(productId);
    return c.json(order, 200);
  });
}
