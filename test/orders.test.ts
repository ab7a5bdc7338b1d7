import { describe, expect, it, vi } from "vitest";
import { orderIdPrefixOf, orderNumber } from "../src/contract/ids";
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
      order_number: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{8}$/),
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

describe("order numbers", () => {
  it("are 8 Crockford base32 characters derived from the order id, the same on every read", async () => {
    const id = await newProduct(10);
    const created = (await order((await hold(id, 1)).body.hold_id)).body;
    expect(created.order_number).toBe(orderNumber(created.order_id));
    const read = await call("GET", `/api/orders/${created.order_id}`);
    expect(read.body.order_number).toBe(created.order_number);
  });

  it("encode the first 40 random bits of the id, and read back as Crockford allows", () => {
    const orderId = `ord_7_${"0123456789abcdef".repeat(2)}`;
    // 0x0123456789 is 0 4 17 20 10 25 28 9 in base 32: 04HMASW9 in Crockford's digits.
    expect(orderNumber(orderId)).toBe("04HMASW9");
    expect(orderNumber(`ord_7_${"f".repeat(32)}`)).toBe("ZZZZZZZZ");
    expect(orderNumber(`ord_7_${"0".repeat(32)}`)).toBe("00000000");
    expect(orderIdPrefixOf("04HMASW9")).toBe("0123456789");
    // Lower case, O for 0 and a hyphen in the middle are read as meant; so are I and L for 1.
    expect(orderIdPrefixOf("o4hm-asw9")).toBe("0123456789");
    expect(orderIdPrefixOf("I0000000")).toBe(orderIdPrefixOf("10000000"));
    expect(orderIdPrefixOf("l0000000")).toBe(orderIdPrefixOf("10000000"));
    expect(orderIdPrefixOf("ZZZZZZZZ")).toBe("ffffffffff");
    for (const bad of ["", "04HMASW", "04HMASW90", "04HMASWU", "04HMASW!"]) {
      expect(orderIdPrefixOf(bad), bad).toBeNull();
    }
  });
});
