import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN, call, getProduct, hold, metrics, newProduct, productObject } from "./helpers";

describe("GET /api/products/:id", () => {
  it("serves the seeded product 1 with 10 units", async () => {
    // Only reads product 1, so the seed is what it sees.
    const res = await getProduct(1);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: 1,
      name: "Flash Sale Sneaker",
      image_url: "/images/sneaker.svg",
      description: expect.stringContaining("sneaker"),
      price_cents: 4999,
      currency: "USD",
      stock: 10,
      reserved: 0,
      available: 10,
      sold_out: false,
      sale_starts_at: null,
      sale_ends_at: null,
      max_units_per_shopper: 2,
      late_payments: "refund",
      queue: { enabled: false, admit_per_second: 50, admission_ttl_seconds: 60 },
    });
  });

  it("counts held units as reserved, not as sold", async () => {
    const id = await newProduct(7);
    await hold(id, 3);
    const res = await getProduct(id);
    expect(res.body).toMatchObject({ stock: 7, reserved: 3, available: 4 });
  });

  it("answers 404 product_not_found for a product that does not exist", async () => {
    const res = await getProduct(987_654_321);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      error: {
        code: "product_not_found",
        message: expect.any(String),
        request_id: expect.any(String),
      },
    });
  });

  it.each(["abc", "0", "-1", "1.5", "99999999999"])(
    "answers 422 for the malformed id %s",
    async (id) => {
      const res = await call("GET", `/api/products/${id}`);
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe("invalid_request");
    },
  );
});

describe("the catalogue in D1", () => {
  it("an object that cannot read it yet answers 503 with Retry-After, then opens once it can", async () => {
    // In the catalogue, but its object has never read it.
    const id = 2_000_000_000 + Math.floor(Math.random() * 100_000_000);
    await env.DB.prepare(
      "INSERT INTO products (id, name, price_cents, currency, initial_stock) VALUES (?, 'Late', 100, 'USD', 4)",
    )
      .bind(id)
      .run();
    await runInDurableObject(productObject(id), (instance) => {
      const broken = {
        prepare: () => ({
          bind: () => ({ first: () => Promise.reject(new Error("D1_ERROR: simulated outage")) }),
        }),
      };
      (instance as unknown as { env: object }).env = { ...env, DB: broken };
    });
    const refused = await hold(id, 1);
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe("service_unavailable");
    expect(refused.headers.get("retry-after")).toBe("1");
    const order = await call("GET", `/api/orders/ord_${id}_0123456789abcdef0123456789abcdef`);
    expect(order.status).toBe(503);

    await runInDurableObject(productObject(id), (instance) => {
      (instance as unknown as { env: object }).env = env;
    });
    expect((await hold(id, 1)).status).toBe(201);
    expect((await getProduct(id)).body).toMatchObject({ stock: 4, reserved: 1 });
  });
});

describe("admin: products", () => {
  it("creates a product that is immediately on sale, recorded in the D1 catalogue", async () => {
    const id = await newProduct(42, 1_234);
    expect((await getProduct(id)).body).toMatchObject({
      id,
      stock: 42,
      reserved: 0,
      available: 42,
      price_cents: 1_234,
      currency: "EUR",
    });
    const row = await env.DB.prepare("SELECT initial_stock FROM products WHERE id = ?")
      .bind(id)
      .first();
    expect(row).toEqual({ initial_stock: 42 });
  });

  it("refuses to create the same product twice, leaving the first untouched", async () => {
    const id = await newProduct(5);
    const again = await call("POST", "/api/admin/products", {
      headers: ADMIN,
      json: { id, name: "Other", price_cents: 1, currency: "USD", stock: 999 },
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("product_exists");
    expect((await getProduct(id)).body.stock).toBe(5);
  });

  it("restocks, keeping sold + stock = initial + restocked", async () => {
    const id = await newProduct(1);
    expect((await hold(id, 1)).status).toBe(201);
    expect((await hold(id, 1)).status).toBe(409);
    const res = await call("POST", `/api/admin/products/${id}/restock`, {
      headers: ADMIN,
      json: { qty: 4 },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ stock: 5, reserved: 1, available: 4 });
    // The Worker forgets "sold out" at once after a restock it forwarded.
    expect((await hold(id, 1)).status).toBe(201);
    const m = (await metrics(id)).body;
    expect(m).toMatchObject({
      initial_stock: 1,
      restocked: 4,
      sold: 0,
      stock: 5,
      invariants: { ok: true, checked: "full", violations: [] },
    });
  });

  it("requires the admin token, and is off without one", async () => {
    const json = { id: 5_555_555, name: "x", price_cents: 1, currency: "USD", stock: 1 };
    const missing = await call("POST", "/api/admin/products", { json });
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe("unauthorized");
    const wrong = await call("POST", "/api/admin/products", {
      json,
      headers: { authorization: "Bearer nope" },
    });
    expect(wrong.status).toBe(401);
    expect((await call("GET", "/api/admin/products/1/metrics")).status).toBe(401);
    expect(
      await env.DB.prepare("SELECT id FROM products WHERE id = ?").bind(5_555_555).first(),
    ).toBeNull();
  });

  it("is off (403 admin_disabled) while ADMIN_TOKEN is unset, even with a token", async () => {
    const res = await call("GET", "/api/admin/products/1/metrics", {
      headers: ADMIN,
      vars: { ADMIN_TOKEN: undefined },
    });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("admin_disabled");
  });

  it("validates new products", async () => {
    for (const json of [
      { id: 1, name: "x", price_cents: 1, currency: "usd", stock: 1 },
      { id: 2, name: "", price_cents: 1, currency: "USD", stock: 1 },
      { id: 3, name: "x", price_cents: -1, currency: "USD", stock: 1 },
      { id: 4, name: "x", price_cents: 1, currency: "USD", stock: 1.5 },
      { name: "x", price_cents: 1, currency: "USD", stock: 1 },
    ]) {
      const res = await call("POST", "/api/admin/products", { headers: ADMIN, json });
      expect(res.status, JSON.stringify(json)).toBe(422);
    }
  });
});
