import { createRoute, z } from "@hono/zod-openapi";
import { rateLimited } from "../auth/rate-limit";
import { errorResponses, jsonResponse, SECURITY, ETAG, REQUEST_ID_ONLY } from "../http/openapi";
import { Product, ProductIdParam } from "../contract/shapes";
import type { App } from "../http/context";
import type { RouteDeps } from "./deps";

const IfNoneMatch = z.object({
  "if-none-match": z
    .string()
    .max(1_000)
    .optional()
    .openapi({
      param: { name: "if-none-match", in: "header" },
      description:
        "The `ETag` of an earlier answer: 304 with no body while the product is still exactly that.",
    }),
});

const getProduct = createRoute({
  method: "get",
  path: "/api/products/{id}",
  operationId: "getProduct",
  tags: ["Products"],
  summary:
    "A product with its stock, reserved and available units, exact at the moment of the read",
  description:
    "Reads that arrive while another read of the same product is under way share the next call to the product's object (never one that started before the read arrived, so a shopper always sees at least their own last change). Send the `ETag` back as `If-None-Match` to get 304 while nothing changed.",
  security: SECURITY.public,
  middleware: [rateLimited("ip")] as const,
  request: { params: ProductIdParam, headers: IfNoneMatch },
  responses: {
    200: jsonResponse(Product, "The product", ETAG),
    304: {
      description: "Not modified: the product is exactly the `If-None-Match` tag's.",
      headers: { ...REQUEST_ID_ONLY, ...ETAG },
    },
    ...errorResponses(
      "product_not_found",
      "invalid_request",
      "rate_limited",
      "service_unavailable",
    ),
  },
});

/** Whether an If-None-Match header names this tag (a list, weak tags, or `*`; RFC 9110 13.1.2). */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(",").some((tag) => {
    const trimmed = tag.trim();
    return trimmed === "*" || trimmed.replace(/^W\//, "") === etag;
  });
}

export function productRoutes(app: App, { products, soldOut }: RouteDeps): void {
  app.openapi(getProduct, async (c) => {
    const { id } = c.req.valid("param");
    const { product, body, etag } = await products.readProduct(c, id);
    soldOut.saw(id, product.available);
    c.header("ETag", etag);
    // Every read asks again (exact stock), but may be answered with no body.
    c.header("Cache-Control", "no-cache");
    if (noneMatch(c.req.valid("header")["if-none-match"], etag)) return c.body(null, 304);
    c.header("Content-Type", "application/json");
    return c.body(body, 200);
  });
}
