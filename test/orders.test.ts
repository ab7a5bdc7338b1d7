import { describe, expect, it, vi } from "vitest";
import { call, getProduct, hold, newProduct, order } from "./helpers";

describe("POST /api/orders", () => {
  it("turns a hold into a pending order that keeps its units reserved", async () => {
    const id = await newProduct(10, 1_999);
    const h = (await hold(id, 3)).body;
    const before = Date.now();
    const res = await order(h.hold_id);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      order_id: expect.stringMatching(new RegExp(`^ord_${id}_`)),
      hold_id: h.hold_id,
      product_id: id,
      qty: 3,
      status: "pending",
      amount_cents: 5_997,
      currency: "EUR",
      created_at: expect.any(String),
      pay_by: expect.any(String),
      updated_at: expect.any(String),
      payment_id: null,
      paid_late: false,
    });
    const window = Date.parse(res.body.pay_by) - before;
    expect(window).toBeGreaterThanOrEqual(899_000);
    expect(window).toBeLessThanOrEqual(901_000);
    expect((await getProduct(id)).body).toMatchObject({ stock: 10, reserved: 3, available: 7 });
  });

  it("posting the same hold again returns the same order with 200, never a second one", async () => {
    const id = await newProduct(10);
    const h = (await hold(id, 1)).body;
    const first = await order(h.hold_id);
    const again = await order(h.hold_id);
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
  });

  it("the same hold ordered in parallel makes exactly one order", async () => {
    const id = await newProduct(10);
    const h = (await hold(id, 2)).body;
    const answers = await Promise.all(Array.from({ length: 10 }, () => order(h.hold_id)));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(9);
    expect(new Set(answers.map((a) => a.body.order_id)).size).toBe(1);
    expect((await getProduct(id)).body.reserved).toBe(2);
  });

  it("an order from an expired hold is 410 hold_expired, and the units are free again", async () => {
    const id = await newProduct(2);
    const h = (await hold(id, 2)).body;
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse(h.expires_at) + 1);
    const res = await order(h.hold_id);
    expect(res.status).toBe(410);
    expect(res.body.error.code).toBe("hold_expired");
    expect((await getProduct(id)).body).toMatchObject({ reserved: 0, available: 2 });
    // Still 410 later: an expired hold never comes back.
    expect((await order(h.hold_id)).status).toBe(410);
  });

  it.each([
    "hld_1_00000000000000000000000000000000",
    "not-a-hold",
    "ord_1_00000000000000000000000000000000",
  ])("answers 404 hold_not_found for %s", async (holdId) => {
    const res = await order(holdId);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("hold_not_found");
  });

  it("answers 422 for a body without a hold id", async () => {
    for (const json of [{}, { hold_id: 5 }, { hold_id: "" }]) {
      const res = await call("POST", "/api/orders", { json });
      expect(res.status, JSON.stringify(json)).toBe(422);
    }
  });
});

describe("GET /api/orders/:id", () => {
  it("returns the order with its current status", async () => {
    const id = await newProduct(5);
    const created = (await order((await hold(id, 1)).body.hold_id)).body;
    const res = await call("GET", `/api/orders/${created.order_id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(created);
  });

  it.each([
    "ord_1_00000000000000000000000000000000",
    "nope",
    "ord_999999999_00000000000000000000000000000000",
  ])("answers 404 order_not_found for %s", async (orderId) => {
    const res = await call("GET", `/api/orders/${orderId}`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("order_not_found");
  });
});
