import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { productStub } from "../src/reach/product";
import {
  ADMIN,
  call,
  expectError,
  getProduct,
  hold,
  newProduct,
  order,
  patchProduct,
  pendingOrder,
  uniqueKey,
  webhook,
} from "./helpers";

function travelTo(at: number) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
}

const iso = (ms: number) => new Date(ms).toISOString();

describe("sale windows", () => {
  it("holds are refused before the start and from the end, allowed at the start and just before the end", async () => {
    const id = await newProduct(10);
    const start = Date.now() + 60_000;
    const end = start + 60_000;
    const patched = await patchProduct(id, { sale_starts_at: iso(start), sale_ends_at: iso(end) });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ sale_starts_at: iso(start), sale_ends_at: iso(end) });
    expect((await getProduct(id)).body).toMatchObject({
      sale_starts_at: iso(start),
      sale_ends_at: iso(end),
    });

    travelTo(start - 1);
    const early = await hold(id, 1);
    expectError(early, 409, "sale_not_started");
    expect(early.body.error.message).toContain(iso(start));
    travelTo(start);
    expect((await hold(id, 1)).status).toBe(201);
    travelTo(end - 1);
    const last = await hold(id, 1);
    expect(last.status).toBe(201);
    travelTo(end);
    const late = await hold(id, 1);
    expectError(late, 409, "sale_ended");
    expect(late.body.error.message).toContain(iso(end));
    expect((await getProduct(id)).body.reserved).toBe(2);

    // What was held in the window can still be ordered and paid after it.
    const o = await order(last.body.hold_id);
    expect(o.status).toBe(201);
    const paid = await webhook({
      idempotency_key: uniqueKey(),
      order_id: o.body.order_id,
      status: "success",
    });
    expect(paid.body.order_status).toBe("paid");
  });

  it("the object refuses too, for keyed requests the Worker passes through", async () => {
    const id = await newProduct(10);
    await patchProduct(id, { sale_starts_at: iso(Date.now() + 3_600_000) });
    expectError(await hold(id, 1, { "idempotency-key": uniqueKey() }), 409, "sale_not_started");
  });

  it("once the Worker knows the window it answers early holds itself", async () => {
    const id = await newProduct(10);
    await patchProduct(id, { sale_starts_at: iso(Date.now() + 3_600_000) });
    let objectCalls = 0;
    const app = createApp({
      stubFor: (e, productId) => {
        objectCalls++;
        return productStub(e, productId);
      },
    });
    const answers = await Promise.all(Array.from({ length: 20 }, () => hold(id, 1, {}, app)));
    expect(answers.every((a) => a.status === 409 && a.body.error.code === "sale_not_started")).toBe(
      true,
    );
    expect(objectCalls).toBe(0);
  });

  it("null clears the window; an end before the start is 422 and changes nothing", async () => {
    const id = await newProduct(10);
    const start = Date.now() + 3_600_000;
    await patchProduct(id, { sale_starts_at: iso(start) });
    expectError(await patchProduct(id, { sale_ends_at: iso(start - 1) }), 422, "invalid_request");
    expect((await getProduct(id)).body).toMatchObject({
      sale_starts_at: iso(start),
      sale_ends_at: null,
    });
    const cleared = await patchProduct(id, { sale_starts_at: null });
    expect(cleared.body.sale_starts_at).toBeNull();
    expect((await hold(id, 1, { "idempotency-key": uniqueKey() })).status).toBe(201);
  });

  it("a product can be created with its window and limit, kept in the D1 catalogue", async () => {
    const id = 3_000_000 + Math.floor(Math.random() * 1_000_000_000);
    const start = "2030-01-01T10:00:00+02:00";
    const res = await call("POST", "/api/admin/products", {
      headers: ADMIN,
      json: {
        id,
        name: "Window",
        price_cents: 100,
        currency: "USD",
        stock: 3,
        sale_starts_at: start,
        max_units_per_shopper: 1,
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      sale_starts_at: "2030-01-01T08:00:00.000Z",
      sale_ends_at: null,
      max_units_per_shopper: 1,
    });
    const row = await env.DB.prepare(
      "SELECT sale_starts_at, sale_ends_at, max_units_per_shopper FROM products WHERE id = ?",
    )
      .bind(id)
      .first();
    expect(row).toEqual({
      sale_starts_at: "2030-01-01T08:00:00.000Z",
      sale_ends_at: null,
      max_units_per_shopper: 1,
    });
    expectError(await hold(id, 1), 409, "sale_not_started");
  });
});

describe("PATCH /api/admin/products/:id", () => {
  it("a new price applies to holds made from now on; earlier holds keep theirs", async () => {
    const id = await newProduct(10, 1_000);
    const before = (await hold(id, 2)).body;
    const patched = await patchProduct(id, { price_cents: 1_500, name: "Renamed" });
    expect(patched.body).toMatchObject({ name: "Renamed", price_cents: 1_500 });
    const after = (await hold(id, 2)).body;
    expect((await order(before.hold_id)).body.amount_cents).toBe(2_000);
    expect((await order(after.hold_id)).body.amount_cents).toBe(3_000);
    const row = await env.DB.prepare("SELECT name, price_cents FROM products WHERE id = ?")
      .bind(id)
      .first();
    expect(row).toEqual({ name: "Renamed", price_cents: 1_500 });
  });

  it.each([
    ["an unknown field", { stock: 5 }],
    ["a malformed time", { sale_starts_at: "tomorrow" }],
    ["a time without a zone", { sale_starts_at: "2030-01-01T10:00:00" }],
    ["a limit of 0", { max_units_per_shopper: 0 }],
    ["a negative price", { price_cents: -1 }],
    ["an empty name", { name: "" }],
  ])("refuses %s with 422, changing nothing", async (_, json) => {
    const id = await newProduct(10, 1_000);
    const before = (await getProduct(id)).body;
    expectError(await patchProduct(id, json), 422, "invalid_request");
    expect((await getProduct(id)).body).toEqual(before);
  });

  it("needs the admin token; an unknown product is 404", async () => {
    const id = await newProduct(10);
    expectError(
      await call("PATCH", `/api/admin/products/${id}`, { json: { name: "x" } }),
      401,
      "unauthorized",
    );
    expectError(await patchProduct(1_999_999_998, { name: "x" }), 404, "product_not_found");
  });

  it("orders and payments of existing holds are unaffected by a sale that has since ended", async () => {
    const id = await newProduct(10);
    const o = await pendingOrder(id, 1);
    await patchProduct(id, { sale_ends_at: iso(Date.now() + 1_000) });
    travelTo(Date.now() + 2_000);
    const res = await webhook({
      idempotency_key: uniqueKey(),
      order_id: o.order_id,
      status: "success",
    });
    expect(res.body.order_status).toBe("paid");
  });
});
