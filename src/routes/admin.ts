import { createRoute } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { ApiFailure, COMMON_ERRORS, errorResponses, jsonBody, jsonResponse, unwrap } from "../http";
import {
  Product,
  ProductCreateRequest,
  ProductIdParam,
  ProductMetrics,
  RestockRequest,
} from "../schemas";
import type { App, AppEnv, RouteDeps } from "./types";

const encoder = new TextEncoder();

async function sameSecret(given: string, expected: string): Promise<boolean> {
  // Hash both sides so the constant-time compare sees equal lengths.
  const [a, b] = await Promise.all(
    [given, expected].map((s) => crypto.subtle.digest("SHA-256", encoder.encode(s))),
  );
  return crypto.subtle.timingSafeEqual(a!, b!);
}

/** Operator routes need `Authorization: Bearer $ADMIN_TOKEN`, and are off while it is unset. */
const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.env.ADMIN_TOKEN;
  if (!expected)
    throw new ApiFailure(
      "admin_disabled",
      "Admin routes are disabled: set ADMIN_TOKEN to enable them.",
    );
  const given = /^Bearer (.+)$/.exec(c.req.header("authorization") ?? "")?.[1];
  if (!given || !(await sameSecret(given, expected)))
    throw new ApiFailure("unauthorized", "A valid admin bearer token is required.");
  await next();
});

const security = [{ AdminToken: [] }];
const adminErrors = ["unauthorized", "admin_disabled", ...COMMON_ERRORS] as const;

const createProduct = createRoute({
  method: "post",
  path: "/api/admin/products",
  summary: "Put a product on sale with its initial stock",
  security,
  request: { body: jsonBody(ProductCreateRequest, "The product") },
  responses: {
    201: jsonResponse(Product, "The product, ready to sell"),
    ...errorResponses("product_exists", ...adminErrors),
  },
});

const restockProduct = createRoute({
  method: "post",
  path: "/api/admin/products/{id}/restock",
  summary: "Add units to a product's stock",
  security,
  request: { params: ProductIdParam, body: jsonBody(RestockRequest, "How many units arrived") },
  responses: {
    200: jsonResponse(Product, "The product after the restock"),
    ...errorResponses("product_not_found", ...adminErrors),
  },
});

const productMetrics = createRoute({
  method: "get",
  path: "/api/admin/products/{id}/metrics",
  summary: "Counters, refunds due, history backlog and a full invariant check for one product",
  security,
  request: { params: ProductIdParam },
  responses: {
    200: jsonResponse(ProductMetrics, "The product's metrics"),
    ...errorResponses("product_not_found", ...adminErrors),
  },
});

export function adminRoutes(app: App, { ask, soldOut }: RouteDeps): void {
  app.use("/api/admin/*", requireAdmin);
  app.openAPIRegistry.registerComponent("securitySchemes", "AdminToken", {
    type: "http",
    scheme: "bearer",
  });

  app.openapi(createProduct, async (c) => {
    const input = c.req.valid("json");
    const inserted = await c.env.DB.prepare(
      `INSERT INTO products (id, name, price_cents, currency, initial_stock) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO NOTHING`,
    )
      .bind(input.id, input.name, input.price_cents, input.currency, input.stock)
      .run();
    if (inserted.meta.changes === 0)
      throw new ApiFailure("product_exists", `Product ${input.id} already exists.`);
    const { product } = unwrap(await ask(c.env, input.id, {}, (stub) => stub.product(input.id)));
    soldOut.saw(input.id, product.available);
    return c.json(product, 201);
  });

  app.openapi(restockProduct, async (c) => {
    const { id } = c.req.valid("param");
    const { qty } = c.req.valid("json");
    // Not retried: a restock that committed but lost its answer must not be applied twice.
    const { product } = unwrap(
      await ask(c.env, id, { restock_qty: qty }, (stub) => stub.restock(id, qty), true),
    );
    soldOut.forget(id);
    return c.json(product, 200);
  });

  app.openapi(productMetrics, async (c) => {
    const { id } = c.req.valid("param");
    const { metrics } = unwrap(await ask(c.env, id, {}, (stub) => stub.metrics(id)));
    soldOut.saw(id, metrics.available);
    return c.json(metrics, 200);
  });
}
