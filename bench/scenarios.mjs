// What each row sends. Every row gets fresh products (one Durable Object each on our side, one row
// each in PostgreSQL), created and touched once before the clock starts.
import { call, createProduct, JSON_HEADERS } from "./lib/http.mjs";

/** Enough stock that no row can sell out by accident. */
const AMPLE = 100_000_000;

const holdBody = (productId) => JSON.stringify({ product_id: productId, qty: 1 });

async function freshProduct(target, ids, stock) {
  const id = ids.next();
  await createProduct(target.url, id, stock);
  const { status } = await call(target.url, "GET", `/api/products/${id}`);
  if (status !== 200)
    throw new Error(`product ${id} is not readable after creation (HTTP ${status})`);
  return id;
}

/**
 * @typedef {{ requests: import("./lib/load.mjs").LoadRequest[], extra?: (elapsedS: number) => Record<string, number> }} Prepared
 * @typedef {{ key: string, title: string, ok: number[], expected: number[],
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
];

/** Boundary correctness: this much stock, this many hold requests at this concurrency. */
export const BOUNDARY = { stock: 1_000, requests: 20_000, connections: 256 };
