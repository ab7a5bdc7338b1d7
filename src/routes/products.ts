import { createRoute } from "@hono/zod-openapi";
import { errorResponses, jsonResponse, SECURITY } from "../http/openapi";
import { Product, ProductIdParam } from "../contract/shapes";
import type { App } from "../http/context";
import type { RouteDeps } from "./deps";

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

export function productRoutes(app: App, { products, soldOut }: RouteDeps): void {
  app.openapi(getProduct, async (c) => {
    const { id } = c.req.valid("param");
    const { product } = await products.call(c, { productId: id, method: "readProduct", input: {} });
    soldOut.saw(id, product.available);
    return c.json(product, 200);
  });
}
