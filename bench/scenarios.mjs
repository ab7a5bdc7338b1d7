// What each row sends. Every row gets fresh products (one Durable Object each on our side, one row
// each in PostgreSQL), created and touched once before the clock starts. Rows marked `shoppers`
// need a Worker with SHOPPER_TOKEN_SECRET set and run on a second server (see run.mjs).
import { call, createProduct, JSON_HEADERS, productMetrics } from "./lib/http.mjs";
import { shopperHeaders } from "./lib/shoppers.mjs";

/** Enough stock that no row can sell out by accident. */
const AMPLE = 100_000_000;

const holdBody = (productId) => JSON.stringify({ product_id: productId, qty: 1 });

/** Virtual shoppers in the tokens row, each with its own `sub`. */
const SHOPPERS = 1_000;
/**
 * The tokens row's per-product limit: the API's largest. A shopper gets a dozen or so units in a
 * row, so the limit is checked on every hold and never refuses one.
 */
const NEVER_REACHED = 1_000_000;

async function freshProduct(target, ids, stock, settings) {
  const id = ids.next();
  await createProduct(target.url, id, stock, settings);
  const { status } = await call(target.url, "GET", `/api/products/${id}`);
  if (status !== 200)
    throw new Error(`product ${id} is not readable after creation (HTTP ${status})`);
  return id;
}

/**
 * `check`, when given, runs after the row (off the clock) and returns what went wrong: a failed
 * check fails the run like a failed boundary check.
 * @typedef {{ requests: import("./lib/load.mjs").LoadRequest[], extra?: (elapsedS: number) => Record<string, number>,
 *   check?: (row: any) => Promise<string[]> }} Prepared
 * @typedef {{ key: string, title: string, ok: number[], expected: number[], shoppers?: boolean,
 *   prepare: (target: { url: string }, ids: { next: () => number }) => Promise<Prepared> }} Scenario
 */

/** @type {Scenario[]} */
export const SCENARIOS = [
  {
    key: "noop",
    title: "No-op ceiling: GET /healthz through the same stack",
    ok: [200],
    expected: [],
    async prepare() {
      return { requests: [{ method: "GET", path: "/healthz" }] };
    },
  },
  {
    key: "hot",
    title: "Hot product: holds of qty 1 on one product with ample stock",
    ok: [201],
    expected: [],
    async prepare(target, ids) {
      const id = await freshProduct(target, ids, AMPLE);
      return {
        requests: [
          { method: "POST", path: "/api/holds", headers: JSON_HEADERS, body: holdBody(id) },
        ],
      };
    },
  },
  {
    key: "read",
    title: "Product reads: GET /api/products/:id on one product (shared object calls)",
    ok: [200],
    expected: [],
    async prepare(target, ids) {
      const id = await freshProduct(target, ids, AMPLE);
      return { requests: [{ method: "GET", path: `/api/products/${id}` }] };
    },
  },
  {
    key: "soldout",
    title: "Sold out: the same storm on a sold-out product (409 expected)",
    ok: [],
    expected: [409],
    async prepare(target, ids) {
      const id = await freshProduct(target, ids, 1);
      const first = await call(target.url, "POST", "/api/holds", { product_id: id, qty: 1 });
      if (first.status !== 201)
        throw new Error(`sold-out setup: first hold got HTTP ${first.status}`);
      const refused = await call(target.url, "POST", "/api/holds", { product_id: id, qty: 1 });
      if (refused.status !== 409 || refused.json?.error?.code !== "insufficient_stock") {
        throw new Error(
          `sold-out setup: expected 409 insufficient_stock, got ${refused.status} ${JSON.stringify(refused.json)}`,
        );
      }
      return {
        requests: [
          { method: "POST", path: "/api/holds", headers: JSON_HEADERS, body: holdBody(id) },
        ],
      };
    },
  },
  {
    key: "checkout",
    title: "Full checkout: hold, order, success webhook per shopper (3 requests)",
    ok: [200, 201],
    expected: [],
    async prepare(target, ids) {
      const id = await freshProduct(target, ids, AMPLE);
      let paid = 0;
      return {
        requests: [
          {
            method: "POST",
            path: "/api/holds",
            headers: JSON_HEADERS,
            body: holdBody(id),
            onResponse: (status, body, context) => {
              if (status === 201) context.holdId = JSON.parse(body).hold_id;
            },
          },
          {
            method: "POST",
            path: "/api/orders",
            headers: JSON_HEADERS,
            setupRequest: (request, context) => ({
              ...request,
              body: JSON.stringify({ hold_id: context.holdId ?? "missing" }),
            }),
            onResponse: (status, body, context) => {
              if (status === 201) context.orderId = JSON.parse(body).order_id;
            },
          },
          {
            method: "POST",
            path: "/api/payments/webhook",
            headers: JSON_HEADERS,
            setupRequest: (request, context) => ({
              ...request,
              body: JSON.stringify({
                idempotency_key: `pay-${context.orderId ?? "missing"}`,
                order_id: context.orderId ?? "missing",
                status: "success",
              }),
            }),
            onResponse: (status, body) => {
              if (status === 200 && body.includes('"paid"')) paid++;
            },
          },
        ],
        extra: (elapsedS) => ({ checkoutsPerS: paid / elapsedS, checkouts: paid }),
      };
    },
  },
  {
    key: "spread",
    title: "Many products: the hold storm spread round-robin over 8 products",
    ok: [201],
    expected: [],
    async prepare(target, ids) {
      const bodies = [];
      for (let i = 0; i < 8; i++) bodies.push(holdBody(await freshProduct(target, ids, AMPLE)));
      let n = 0;
      return {
        requests: [
          {
            method: "POST",
            path: "/api/holds",
            headers: JSON_HEADERS,
            setupRequest: (request) => ({ ...request, body: bodies[n++ % 8] }),
          },
        ],
      };
    },
  },
  {
    key: "tokens",
    title:
      "Hot product, 1,000 shoppers with tokens: the hot storm, each hold signed and limit-checked",
    shoppers: true,
    ok: [201],
    expected: [],
    async prepare(target, ids) {
      const id = await freshProduct(target, ids, AMPLE, { max_units_per_shopper: NEVER_REACHED });
      const headers = await shopperHeaders(SHOPPERS, "bench-shopper");
      let n = 0;
      return {
        requests: [
          {
            method: "POST",
            path: "/api/holds",
            body: holdBody(id),
            setupRequest: (request) => ({ ...request, headers: headers[n++ % SHOPPERS] }),
          },
        ],
      };
    },
  },
  {
    key: "bot",
    title:
      "Bot: one shopper hammering holds; past the limit every answer is 409 shopper_limit_reached",
    shoppers: true,
    ok: [201],
    expected: [409],
    async prepare(target, ids) {
      const id = await freshProduct(target, ids, AMPLE);
      // The product has no limit of its own: this is MAX_UNITS_PER_SHOPPER as the Worker applies it.
      const limit = (await call(target.url, "GET", `/api/products/${id}`)).json
        .max_units_per_shopper;
      if (!Number.isInteger(limit)) throw new Error(`bot setup: product ${id} shows no limit`);
      const [headers] = await shopperHeaders(1, "bench-bot");
      let refusals = 0;
      let otherRefusals = 0;
      return {
        requests: [
          {
            method: "POST",
            path: "/api/holds",
            headers,
            body: holdBody(id),
            onResponse: (status, body) => {
              if (status !== 409) return;
              if (body.includes('"shopper_limit_reached"')) refusals++;
              else otherRefusals++;
            },
          },
        ],
        extra: (elapsedS) => ({ limit, refusals, refusalsPerS: refusals / elapsedS }),
        async check(row) {
          const failures = [];
          if (row.ok !== limit)
            failures.push(`${row.ok} holds succeeded (201), expected exactly the limit, ${limit}`);
          if (otherRefusals)
            failures.push(`${otherRefusals} × 409 with another code than shopper_limit_reached`);
          if (row.errors) failures.push(`${row.errors} errors: ${JSON.stringify(row.errorDetail)}`);
          const metrics = await productMetrics(target.url, id);
          if (metrics.reserved !== limit)
            failures.push(`reserved ${metrics.reserved} afterwards, expected ${limit}`);
          if (!metrics.invariants?.ok)
            failures.push(`invariants violated: ${JSON.stringify(metrics.invariants)}`);
          return failures;
        },
      };
    },
  },
];

/** Boundary correctness: this much stock, this many hold requests at this concurrency. */
export const BOUNDARY = { stock: 1_000, requests: 20_000, connections: 256 };
