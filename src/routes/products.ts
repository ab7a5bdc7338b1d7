import { createRoute } from "@hono/zod-openapi";
import { unwrap } from "../http/error-answer";
import { errorResponses, jsonResponse, SECURITY } from "../http/openapi";
import { Product, ProductIdParam } from "../contract/shapes";
import { callFor, type App, type RouteDeps } from "../http/context";

const getProduct = createRoute({
  method: "get",
  path: "/api/products/{id}",
  operationId: "getProduct",
  tags: ["Products"],
  summary:
    "A product with its stock, reserved and available units, exact at the moment of the read",
  security: SECURITY.public,
  request: { params: ProductIdParam },
  responses: {
    200: jsonResponse(Product, "The product"),
    ...errorResponses("product_not_found", "invalid_request", "service_unavailable"),
  },
});

export function productRoutes(app: App, { ask, soldOut }: RouteDeps): void {
  app.openapi(getProduct, async (c) => {
    const { id } = c.req.valid("param");
    const { product } = unwrap(await ask(c, id, {}, (stub) => stub.readProduct(callFor(c, id))));
    soldOut.saw(id, product.available);
    return c.json(product, 200);
  });
}
