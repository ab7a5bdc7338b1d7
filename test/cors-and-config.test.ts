import { describe, expect, it } from "vitest";
import { ADMIN, call, newProduct } from "./helpers";

const SHOP = "https://shop.example.com";
const vars = { CORS_ORIGINS: `${SHOP}, https://www.example.com` };

describe("CORS for storefront origins (CORS_ORIGINS)", () => {
  it("answers a preflight from a listed origin, allowing the headers a storefront sends", async () => {
    const res = await call("OPTIONS", "/api/holds", {
      vars,
      headers: {
        origin: SHOP,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, authorization, idempotency-key",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(res.headers.get("access-control-allow-headers")).toBe(
      "content-type,authorization,idempotency-key",
    );
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
  });

  it("gives a listed origin CORS headers on answers, and exposes Request-Id", async () => {
    const res = await call("GET", "/api/products/1", { vars, headers: { origin: SHOP } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(res.headers.get("access-control-expose-headers")).toContain("Request-Id");
  });

  it("gives any other origin no CORS headers, preflight or not", async () => {
    const preflight = await call("OPTIONS", "/api/holds", {
      vars,
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    expect(preflight.headers.get("access-control-allow-headers")).toBeNull();
    const res = await call("GET", "/api/products/1", {
      vars,
      headers: { origin: "https://evil.example" },
    });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const unset = await call("GET", "/api/products/1", { headers: { origin: SHOP } });
    expect(unset.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("GET /api/config", () => {
  it("tells a storefront how shoppers identify themselves and what the local demo may do", async () => {
    expect((await call("GET", "/api/config")).body).toEqual({
      shopper_identity: "header",
      anonymous_shoppers: true,
      simulated_payments: false, // the test pool signs webhooks
      payments: "none",
      queue_available: true,
      max_qty_per_hold: 5,
    });
    const local = await call("GET", "/api/config", {
      vars: {
        WEBHOOK_SECRET: undefined,
        ALLOW_UNSIGNED_WEBHOOKS: "true",
        SHOPPER_TOKEN_SECRET: "s",
      },
    });
    expect(local.body).toMatchObject({
      shopper_identity: "token",
      anonymous_shoppers: false,
      simulated_payments: true,
      payments: "simulated",
    });
    // Neither a token secret nor a trusted header: a page must not name its shopper (that would
    // be refused 503 shopper_auth_not_configured); it shops anonymously where that is allowed.
    const untrusted = await call("GET", "/api/config", { vars: { TRUST_SHOPPER_HEADER: "false" } });
    expect(untrusted.body).toMatchObject({ shopper_identity: "none", anonymous_shoppers: true });
    const named = await call("POST", "/api/holds", {
      vars: { TRUST_SHOPPER_HEADER: "false" },
      headers: { "x-shopper-id": "someone" },
      json: { product_id: 1, qty: 1 },
    });
    expect(named.status).toBe(503);
    const stripe = await call("GET", "/api/config", {
      vars: {
        WEBHOOK_SECRET: undefined,
        ALLOW_UNSIGNED_WEBHOOKS: "true",
        STRIPE_SECRET_KEY: "sk_x",
      },
    });
    expect(stripe.body).toMatchObject({ payments: "stripe" });
  });
});

describe("admin routes", () => {
  it("answer 401 with a WWW-Authenticate challenge (Hono's bearer-auth)", async () => {
    const res = await call("GET", "/api/admin/products");
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("unauthorized");
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="flash-sale-admin"/);
    const malformed = await call("GET", "/api/admin/products", {
      headers: { authorization: "Basic abc" },
    });
    expect(malformed.status).toBe(401);
  });

  it("list the catalogue by id, a page at a time", async () => {
    const a = await newProduct(3);
    const b = await newProduct(4);
    const page = await call("GET", `/api/admin/products?cursor=${a - 1}`, { headers: ADMIN });
    expect(page.status).toBe(200);
    expect(page.body.products.slice(0, 2)).toEqual([
      expect.objectContaining({ id: a, initial_stock: 3, queue_enabled: false }),
      expect.objectContaining({ id: b, initial_stock: 4 }),
    ]);
    expect((await call("GET", "/api/admin/products?cursor=x", { headers: ADMIN })).status).toBe(
      422,
    );
  });
});
