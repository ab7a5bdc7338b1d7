import { createRoute } from "@hono/zod-openapi";
import { ApiFailure, COMMON_ERRORS, errorResponses, jsonBody, jsonResponse, unwrap } from "../http";
import { productOfHold, productOfOrder } from "../ids";
import { Order, OrderIdParam, OrderRequest } from "../schemas";
import type { App, RouteDeps } from "./types";

const createOrder = createRoute({
  method: "post",
  path: "/api/orders",
  summary: "Turn an active hold into a pending order",
  description:
    "The order keeps the units reserved until it is paid or PAYMENT_TTL_SECONDS pass. Posting the same hold again returns the same order (200).",
  request: { body: jsonBody(OrderRequest, "The hold to order") },
  responses: {
    201: jsonResponse(Order, "The new order"),
    200: jsonResponse(Order, "The order this hold already became"),
    ...errorResponses("hold_not_found", "hold_expired", ...COMMON_ERRORS),
  },
});

const getOrder = createRoute({
  method: "get",
  path: "/api/orders/{id}",
  summary: "An order with its current status",
  request: { params: OrderIdParam },
  responses: {
    200: jsonResponse(Order, "The order"),
    ...errorResponses("order_not_found", ...COMMON_ERRORS),
  },
});

export function orderRoutes(app: App, { ask }: RouteDeps): void {
  app.openapi(createOrder, async (c) => {
    const { hold_id: holdId } = c.req.valid("json");
    const productId = productOfHold(holdId);
    if (productId === null) throw new ApiFailure("hold_not_found", `No hold ${holdId}.`);
    const { order, created } = unwrap(
      await ask(c.env, productId, { hold_id: holdId }, (stub) => stub.order(productId, holdId)),
    );
    return created ? c.json(order, 201) : c.json(order, 200);
  });

  app.openapi(getOrder, async (c) => {
    const { id } = c.req.valid("param");
    const productId = productOfOrder(id);
    if (productId === null) throw new ApiFailure("order_not_found", `No order ${id}.`);
    const { order } = unwrap(
      await ask(c.env, productId, { order_id: id }, (stub) => stub.readOrder(productId, id)),
    );
    return c.json(order, 200);
  });
}
