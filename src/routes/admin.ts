import { createRoute } from "@hono/zod-openapi";
import { insertCatalogue, listCatalogue, writeCatalogue } from "../catalogue/catalogue";
import type { CatalogueEntry } from "../contract/catalogue-entry";
import { logEvent } from "../log";
import { windowOrderFailure } from "../product/sale-window";
import { HttpError } from "../http/error-answer";
import {
  ADMIN_ERRORS,
  BODY_ERRORS,
  errorResponses,
  IDEMPOTENT_REPLAYED,
  jsonBody,
  jsonResponse,
  SECURITY,
} from "../http/openapi";
import {
  Product,
  ProductCreateRequest,
  ProductIdParam,
  ProductMetrics,
  ProductId,
  ProductUpdateRequest,
  RestockRequest,
  IdempotencyKeyHeader,
} from "../contract/shapes";
import { z } from "@hono/zod-openapi";

/** Products per page of the catalogue list. */
const PAGE = 100;

const CatalogueItem = z
  .object({
    id: ProductId,
    name: z.string(),
    price_cents: z.number().int(),
    currency: z.string(),
    initial_stock: z.number().int(),
    sale_starts_at: z.string().nullable(),
    sale_ends_at: z.string().nullable(),
    max_units_per_shopper: z.number().int().nullable(),
    late_payments: z.enum(["refund", "accept_if_available"]).nullable(),
    queue_enabled: z.boolean(),
    image_url: z.string().nullable(),
    description: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("CatalogueItem");

const CatalogueList = z
  .object({ products: z.array(CatalogueItem), next_cursor: z.string().nullable() })
  .openapi("CatalogueList");

const MetricsQuery = z.object({
  check: z
    .enum(["full"])
    .optional()
    .openapi({
      param: { name: "check", in: "query" },
      description: "`full`: re-derive from the rows.",
    }),
});
import type { App } from "../http/context";
import type { RouteDeps } from "./deps";

const security = SECURITY.admin;

const createProduct = createRoute({
  method: "post",
  path: "/api/admin/products",
  operationId: "createProduct",
  tags: ["Admin"],
  summary: "Put a product on sale with its initial stock",
  description:
    "A sale window whose end is not after its start is 422; a queue needs QUEUE_SECRET (503 `queue_not_configured`).",
  security,
  request: { body: jsonBody(ProductCreateRequest, "The product") },
  responses: {
    201: jsonResponse(Product, "The product, ready to sell"),
    ...errorResponses(
      "product_exists",
      ...ADMIN_ERRORS,
      ...BODY_ERRORS,
      "queue_not_configured",
      "service_unavailable",
    ),
  },
});

const ListQuery = z.object({
  cursor: z
    .string()
    .regex(/^[0-9]{1,10}$/, "cursor: from next_cursor")
    .optional()
    .openapi({ param: { name: "cursor", in: "query" } }),
});

const listProducts = createRoute({
  method: "get",
  path: "/api/admin/products",
  operationId: "listProducts",
  tags: ["Admin"],
  summary: "Every product in the catalogue, by id, 100 a page",
  description:
    "The catalogue in D1 (what products exist and the settings they started from). Live stock and counters are in each product's metrics.",
  security,
  request: { query: ListQuery },
  responses: {
    200: jsonResponse(CatalogueList, "A page of products"),
    ...errorResponses(...ADMIN_ERRORS, "invalid_request"),
  },
});

const updateProduct = createRoute({
  method: "patch",
  path: "/api/admin/products/{id}",
  operationId: "updateProduct",
  tags: ["Admin"],
  summary: "Change a product's name, picture, description, price, sale window or limits",
  description:
    "Only the fields given change; `null` clears a sale time or the product's own limit. A new price applies to holds made from now on. A sale window whose end is not after its start is 422; turning a queue on needs QUEUE_SECRET (503 `queue_not_configured`). Once the queue has handed out tickets, `sale_starts_at` can only be cleared (the line opens now, its pre-queue shuffled first); moving it is 409 `queue_has_tickets`. `shards` (1 to 256, docs/sharding.md) changes only while nothing is held or pending on any shard (409 `shards_busy`); with the queue on, holds still go to each shopper's home shard, which redeems their admission at the coordinator. After a 503 `service_unavailable`, send the same change again.",
  security,
  request: { params: ProductIdParam, body: jsonBody(ProductUpdateRequest, "What to change") },
  responses: {
    200: jsonResponse(Product, "The product after the change"),
    ...errorResponses(
      "product_not_found",
      ...ADMIN_ERRORS,
      ...BODY_ERRORS,
      "queue_not_configured",
      "queue_has_tickets",
      "shards_busy",
      "service_unavailable",
    ),
  },
});

const restockProduct = createRoute({
  method: "post",
  path: "/api/admin/products/{id}/restock",
  operationId: "restockProduct",
  tags: ["Admin"],
  summary: "Add units to a product's stock",
  security,
  description:
    "Send an `Idempotency-Key` to make retries safe: the same key answers the same product (with `Idempotent-Replayed: true`) and adds the units once.",
  request: {
    params: ProductIdParam,
    headers: IdempotencyKeyHeader,
    body: jsonBody(RestockRequest, "How many units arrived"),
  },
  responses: {
    200: jsonResponse(
      Product,
      "The product after the restock (or, with `Idempotent-Replayed`, after the one this key made)",
      IDEMPOTENT_REPLAYED,
    ),
    ...errorResponses(
      "product_not_found",
      "idempotency_key_reused",
      ...ADMIN_ERRORS,
      ...BODY_ERRORS,
      "service_unavailable",
    ),
  },
});

const productMetrics = createRoute({
  method: "get",
  path: "/api/admin/products/{id}/metrics",
  operationId: "getProductMetrics",
  tags: ["Admin"],
  summary: "Counters, refunds due, history backlog and an invariant check for one product",
  description:
    "Reads counters kept in the same transactions as the rows they count; `?check=full` also re-derives every one of them from the rows (a scan: for checks, not for dashboards polling every second).",
  security,
  request: { params: ProductIdParam, query: MetricsQuery },
  responses: {
    200: jsonResponse(ProductMetrics, "The product's metrics"),
    ...errorResponses(
      "product_not_found",
      ...ADMIN_ERRORS,
      "invalid_request",
      "service_unavailable",
    ),
  },
});

/** Tickets and admissions are signed with QUEUE_SECRET: without it the queue cannot run. */
function queueNotConfigured(): HttpError {
  return new HttpError(
    "queue_not_configured",
    "The queue cannot be turned on until QUEUE_SECRET is set (wrangler secret put QUEUE_SECRET).",
  );
}

/** An ISO time as epoch ms, keeping `undefined` (not given) and `null` (cleared) apart. */
function epochMs(value: string | null | undefined): number | null | undefined {
  return typeof value === "string" ? Date.parse(value) : value;
}

/** An ISO time in the one form the catalogue keeps (UTC, milliseconds). */
function canonicalTime(value: string | null | undefined): string | null {
  return typeof value === "string" ? new Date(value).toISOString() : null;
}

export function adminRoutes(app: App, { products, soldOut, catalogue }: RouteDeps): void {
  app.openapi(listProducts, async (c) => {
    const { cursor } = c.req.valid("query");
    const results = await listCatalogue(c.env.DB, {
      afterId: cursor === undefined ? 0 : Number(cursor),
      limit: PAGE + 1,
    });
    const page = results.slice(0, PAGE);
    const last = page.at(-1);
    return c.json(
      { products: page, next_cursor: results.length > PAGE && last ? String(last.id) : null },
      200,
    );
  });

  app.openapi(createProduct, async (c) => {
    const input = c.req.valid("json");
    const entry: CatalogueEntry = {
      id: input.id,
      name: input.name,
      price_cents: input.price_cents,
      currency: input.currency,
      initial_stock: input.stock,
      sale_starts_at: canonicalTime(input.sale_starts_at),
      sale_ends_at: canonicalTime(input.sale_ends_at),
      max_units_per_shopper: input.max_units_per_shopper ?? null,
      late_payments: input.late_payments ?? null,
      queue_enabled: input.queue?.enabled ? 1 : 0,
      queue_admit_per_second: input.queue?.admit_per_second ?? 50,
      queue_admission_ttl_seconds: input.queue?.admission_ttl_seconds ?? 60,
      image_url: input.image_url ?? null,
      description: input.description ?? null,
      shards: 1,
    };
    if (input.queue?.enabled && !c.env.QUEUE_SECRET) throw queueNotConfigured();
    const invalid = windowOrderFailure({
      sale_starts_at: epochMs(entry.sale_starts_at) ?? null,
      sale_ends_at: epochMs(entry.sale_ends_at) ?? null,
    });
    if (invalid) throw new HttpError(invalid.code, invalid.message);
    if (!(await insertCatalogue(c.env.DB, entry))) {
      throw new HttpError("product_exists", `Product ${input.id} already exists.`);
    }
    // On sale at once through this isolate, even if it had just been told the id was unknown.
    catalogue.remember(entry.id, entry);
    const { product } = await products.call(c, {
      productId: input.id,
      method: "readProduct",
      input: {},
    });
    soldOut.saw(input.id, product.available);
    return c.json(product, 201);
  });

  app.openapi(updateProduct, async (c) => {
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    const changes = {
      name: input.name,
      price_cents: input.price_cents,
      sale_starts_at: epochMs(input.sale_starts_at),
      sale_ends_at: epochMs(input.sale_ends_at),
      max_units_per_shopper: input.max_units_per_shopper,
      late_payments: input.late_payments,
      image_url: input.image_url,
      description: input.description,
      queue: input.queue,
    };
    if (input.queue?.enabled && !c.env.QUEUE_SECRET) throw queueNotConfigured();
    // The number of shards first: it needs every shard to give its free units back and to hold
    // nothing (409 shards_busy otherwise), which no single transaction can see.
    if (input.shards !== undefined) {
      await products.call(c, {
        productId: id,
        method: "changeShards",
        input: { shards: input.shards },
        once: true,
      });
    }
    // The object owns the product and checks the change against what it has; the catalogue in
    // D1 then gets the result. PATCH is idempotent, so after a 503 here a retry completes it.
    const answer = await products.call(c, {
      productId: id,
      method: "updateProduct",
      input: { changes },
    });
    // Shards sell under the product's settings: each gets a copy (the coordinator sends them).
    if ((answer.product.shards ?? 1) > 1 || input.shards !== undefined) {
      await products.call(c, { productId: id, method: "pushShardSettings", input: {} });
    }
    try {
      await writeCatalogue(c.env.DB, answer.catalogue);
    } catch (error) {
      logEvent(
        "Catalogue update failed after a product change.",
        { request_id: c.get("requestId"), product_id: id, error: String(error) },
        "error",
      );
      throw new HttpError(
        "service_unavailable",
        "The product changed, but the catalogue could not be updated; send the same change again.",
      );
    }
    catalogue.remember(id, answer.catalogue);
    return c.json(answer.product, 200);
  });

  app.openapi(restockProduct, async (c) => {
    const { id } = c.req.valid("param");
    const { qty } = c.req.valid("json");
    const idempotencyKey = c.req.valid("header")["idempotency-key"];
    // Retried only with a key: a restock that committed but lost its answer is then recognised;
    // without one, a retry could add the units twice.
    const { product, replayed } = await products.call(c, {
      productId: id,
      method: "restock",
      input: { qty, idempotencyKey },
      fields: { restock_qty: qty, idempotency_key: idempotencyKey },
      once: !idempotencyKey,
    });
    if (replayed) c.header("Idempotent-Replayed", "true");
    soldOut.forget(id);
    return c.json(product, 200);
  });

  app.openapi(productMetrics, async (c) => {
    const { id } = c.req.valid("param");
    const full = c.req.valid("query").check === "full";
    const { metrics } = await products.call(c, {
      productId: id,
      method: "readMetrics",
      input: { full },
    });
    soldOut.saw(id, metrics.available);
    return c.json(metrics, 200);
  });
}
