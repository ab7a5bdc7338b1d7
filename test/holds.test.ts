import { describe, expect, it } from "vitest";
import { call, getProduct, hold, metrics, newProduct, uniqueKey } from "./helpers";

describe("POST /api/holds", () => {
  it("holds units until now + HOLD_TTL_SECONDS", async () => {
    const id = await newProduct(10);
    const before = Date.now();
    const res = await hold(id, 2);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      hold_id: expect.stringMatching(new RegExp(`^hld_${id}_`)),
      product_id: id,
      qty: 2,
      status: "active",
      expires_at: expect.any(String),
    });
    const ttl = Date.parse(res.body.expires_at) - before;
    expect(ttl).toBeGreaterThanOrEqual(119_000);
    expect(ttl).toBeLessThanOrEqual(121_000);
    expect((await getProduct(id)).body).toMatchObject({ stock: 10, reserved: 2, available: 8 });
  });

  it("answers 409 insufficient_stock when fewer than qty are available, taking nothing", async () => {
    const id = await newProduct(3);
    expect((await hold(id, 2)).status).toBe(201);
    const res = await hold(id, 2);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("insufficient_stock");
    expect((await getProduct(id)).body).toMatchObject({ reserved: 2, available: 1 });
    // A smaller hold still fits: one too-large request does not mark the product sold out.
    expect((await hold(id, 1)).status).toBe(201);
  });

  it("answers 404 for an unknown product", async () => {
    const res = await hold(876_543_210, 1);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("product_not_found");
  });

  it.each([
    ["qty 0", (id: number) => ({ product_id: id, qty: 0 })],
    ["a negative qty", (id: number) => ({ product_id: id, qty: -1 })],
    ["a fractional qty", (id: number) => ({ product_id: id, qty: 1.5 })],
    ["qty as a string", (id: number) => ({ product_id: id, qty: "1" })],
    ["qty over MAX_QTY_PER_HOLD", (id: number) => ({ product_id: id, qty: 6 })],
    ["no qty", (id: number) => ({ product_id: id })],
    ["no product_id", () => ({ qty: 1 })],
    ["product_id as a string", (id: number) => ({ product_id: String(id), qty: 1 })],
    ["an unknown field", (id: number) => ({ product_id: id, qty: 1, extra: true })],
    ["an array body", (id: number) => [id, 1]],
  ])("answers 422 for %s and changes nothing", async (_, body) => {
    const id = await newProduct(10);
    const res = await call("POST", "/api/holds", { json: body(id) });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("invalid_request");
    expect(res.body.error.message).toBeTruthy();
    expect((await getProduct(id)).body).toMatchObject({ reserved: 0, available: 10 });
  });

  it("stock 10 and 100 holds fired in parallel: exactly 10 succeed", async () => {
    const id = await newProduct(10);
    const answers = await Promise.all(Array.from({ length: 100 }, () => hold(id, 1)));
    const created = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status === 409);
    expect(created).toHaveLength(10);
    expect(refused).toHaveLength(90);
    expect(new Set(created.map((a) => a.body.hold_id)).size).toBe(10);
    expect((await getProduct(id)).body).toMatchObject({ stock: 10, reserved: 10, available: 0 });
    expect((await metrics(id)).body.invariants).toEqual({
      ok: true,
      checked: "full",
      violations: [],
    });
  });

  it("mixed quantities in parallel never take more than the stock", async () => {
    const id = await newProduct(17);
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => hold(id, (i % 5) + 1)));
    const held = answers.filter((a) => a.status === 201).reduce((sum, a) => sum + a.body.qty, 0);
    expect(held).toBeLessThanOrEqual(17);
    const product = (await getProduct(id)).body;
    expect(product.reserved).toBe(held);
    expect(product.available).toBe(17 - held);
    // Availability only fell during the storm, so every refused request asked for more than is left.
    answers.forEach((a, i) => {
      if (a.status === 409) expect((i % 5) + 1).toBeGreaterThan(product.available);
    });
    expect((await metrics(id)).body.invariants.ok).toBe(true);
  });
});

describe("Idempotency-Key", () => {
  it("a hold retried with the same key is one hold", async () => {
    const id = await newProduct(10);
    const key = uniqueKey();
    const first = await hold(id, 2, { "idempotency-key": key });
    const again = await hold(id, 2, { "idempotency-key": key });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    expect((await getProduct(id)).body.reserved).toBe(2);
  });

  it("the same key sent in parallel still makes one hold", async () => {
    const id = await newProduct(10);
    const key = uniqueKey();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => hold(id, 1, { "idempotency-key": key })),
    );
    expect(new Set(answers.map((a) => a.body.hold_id)).size).toBe(1);
    expect((await getProduct(id)).body.reserved).toBe(1);
  });

  it("a retry of the hold that took the last unit still gets that hold, not a sold-out answer", async () => {
    const id = await newProduct(1);
    const key = uniqueKey();
    const first = await hold(id, 1, { "idempotency-key": key });
    expect((await hold(id, 1)).status).toBe(409); // the Worker now knows the product is sold out
    const retry = await hold(id, 1, { "idempotency-key": key });
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
  });

  it("the same key for a different quantity is 409 idempotency_key_reused", async () => {
    const id = await newProduct(10);
    const key = uniqueKey();
    await hold(id, 1, { "idempotency-key": key });
    const res = await hold(id, 3, { "idempotency-key": key });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("idempotency_key_reused");
    expect((await getProduct(id)).body.reserved).toBe(1);
  });

  it("rejects a malformed key", async () => {
    const id = await newProduct(10);
    const res = await hold(id, 1, { "idempotency-key": "has spaces" });
    expect(res.status).toBe(422);
    expect((await getProduct(id)).body.reserved).toBe(0);
  });
});
