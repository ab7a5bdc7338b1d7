import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import {
  ADMIN,
  as,
  cancel,
  expectError,
  getProduct,
  hold,
  metrics,
  newProduct,
  newShopper,
  order,
  patchProduct,
  pendingOrder,
  productObject,
  readOrder,
  release,
  uniqueKey,
  webhook,
} from "./helpers";

describe("MAX_UNITS_PER_SHOPPER (2 by default)", () => {
  it("50 parallel holds by one shopper take at most the limit, and available agrees", async () => {
    const id = await newProduct(100);
    const shopper = as(newShopper());
    const answers = await Promise.all(Array.from({ length: 50 }, () => hold(id, 1, shopper)));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(2);
    const refused = answers.filter((a) => a.status === 409);
    expect(refused).toHaveLength(48);
    for (const a of refused) expect(a.body.error.code).toBe("shopper_limit_reached");
    expect((await getProduct(id)).body).toMatchObject({ reserved: 2, available: 98 });
    expect((await metrics(id)).body.invariants).toEqual({
      ok: true,
      checked: "full",
      violations: [],
    });
  });

  it("counts active holds, pending and paid orders, and says how many units the shopper has", async () => {
    const id = await newProduct(20);
    await patchProduct(id, { max_units_per_shopper: 4 });
    const shopper = as(newShopper());
    const paid = await pendingOrder(id, 1, shopper);
    await webhook({ idempotency_key: uniqueKey(), order_id: paid.order_id, status: "success" });
    await pendingOrder(id, 1, shopper);
    expect((await hold(id, 1, shopper)).status).toBe(201);
    const res = await hold(id, 2, shopper);
    expectError(res, 409, "shopper_limit_reached");
    expect(res.body.error.message).toContain("already have 3 unit(s)");
    expect((await getProduct(id)).body).toMatchObject({ stock: 19, reserved: 2 });
    // What still fits is allowed.
    expect((await hold(id, 1, shopper)).status).toBe(201);
  });

  it("released, expired, failed and cancelled units no longer count", async () => {
    const id = await newProduct(20);
    const shopper = as(newShopper());
    const released = (await hold(id, 2, shopper)).body;
    expectError(await hold(id, 1, shopper), 409, "shopper_limit_reached");
    expect((await release(released.hold_id, shopper)).status).toBe(200);

    const failed = await pendingOrder(id, 2, shopper);
    await webhook({ idempotency_key: uniqueKey(), order_id: failed.order_id, status: "failure" });
    const cancelled = await pendingOrder(id, 2, shopper);
    expect((await cancel(cancelled.order_id, shopper)).status).toBe(200);

    const expiring = (await hold(id, 2, shopper)).body;
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse(expiring.expires_at) + 1);
    await runDurableObjectAlarm(productObject(id));
    expect((await hold(id, 2, shopper)).status).toBe(201);
    expect((await metrics(id)).body.invariants).toEqual({
      ok: true,
      checked: "full",
      violations: [],
    });
  });

  it("shoppers are limited each on their own; anonymous shoppers (local only) are not limited", async () => {
    const id = await newProduct(20);
    const [a, b] = [as(newShopper("a")), as(newShopper("b"))];
    expect((await hold(id, 2, a)).status).toBe(201);
    expect((await hold(id, 2, b)).status).toBe(201);
    expect((await hold(id, 5)).status).toBe(201);
    expect((await hold(id, 5)).status).toBe(201);
    expect((await getProduct(id)).body.reserved).toBe(14);
  });

  it("a product's own limit overrides the default, and null brings the default back", async () => {
    const id = await newProduct(20);
    const shopper = as(newShopper());
    const patched = await patchProduct(id, { max_units_per_shopper: 5 });
    expect(patched.body.max_units_per_shopper).toBe(5);
    expect((await hold(id, 5, shopper)).status).toBe(201);
    const back = await patchProduct(id, { max_units_per_shopper: null });
    expect(back.body.max_units_per_shopper).toBe(2);
    expectError(await hold(id, 1, shopper), 409, "shopper_limit_reached");
    expect((await hold(id, 2, as(newShopper()))).status).toBe(201);
  });
});

describe("a hold belongs to its shopper", () => {
  it("another shopper cannot order or release it: 403 not_your_hold, nothing changes", async () => {
    const id = await newProduct(5);
    const [owner, other] = [as(newShopper()), as(newShopper())];
    const h = (await hold(id, 2, owner)).body;
    expect(h.shopper_id).toBe(owner["x-shopper-id"]);
    expectError(await order(h.hold_id, other), 403, "not_your_hold");
    expectError(await release(h.hold_id, other), 403, "not_your_hold");
    expectError(await order(h.hold_id), 403, "not_your_hold"); // anonymous is not the owner either
    expect((await getProduct(id)).body.reserved).toBe(2);
    const mine = await order(h.hold_id, owner);
    expect(mine.status).toBe(201);
    expect(mine.body.shopper_id).toBe(owner["x-shopper-id"]);
  });

  it("another shopper cannot cancel its order (403 not_your_order) nor see it (404); the admin token can", async () => {
    const id = await newProduct(5);
    const [owner, other] = [as(newShopper()), as(newShopper())];
    const o = await pendingOrder(id, 1, owner);
    expectError(await cancel(o.order_id, other), 403, "not_your_order");
    expectError(await readOrder(o.order_id, other), 404, "order_not_found");
    expectError(await readOrder(o.order_id), 404, "order_not_found");
    expect((await readOrder(o.order_id, owner)).body).toEqual(o);
    expect((await readOrder(o.order_id, ADMIN)).body).toEqual(o);
    expect((await readOrder(o.order_id, owner)).body.status).toBe("pending");
  });

  it("an idempotency key replayed by another shopper does not hand over the hold", async () => {
    const id = await newProduct(5);
    const key = uniqueKey();
    const first = await hold(id, 1, { ...as(newShopper()), "idempotency-key": key });
    expect(first.status).toBe(201);
    expectError(
      await hold(id, 1, { ...as(newShopper()), "idempotency-key": key }),
      409,
      "idempotency_key_reused",
    );
    expect((await getProduct(id)).body.reserved).toBe(1);
  });
});
