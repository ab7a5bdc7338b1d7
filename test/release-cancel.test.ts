import { describe, expect, it, vi } from "vitest";
import {
  as,
  cancel,
  expectError,
  getProduct,
  hold,
  logLines,
  metrics,
  newProduct,
  newShopper,
  order,
  pendingOrder,
  readOrder,
  release,
  uniqueKey,
  webhook,
} from "./helpers";

describe("DELETE /api/holds/:id", () => {
  it("releases an active hold at once; its units are on sale again", async () => {
    const id = await newProduct(2);
    const shopper = as(newShopper());
    const h = (await hold(id, 2, shopper)).body;
    expectError(await hold(id, 1), 409, "insufficient_stock"); // the Worker now knows it sold out
    const logs = vi.spyOn(console, "log");
    const res = await release(h.hold_id, shopper);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...h, status: "released" });
    expect(logLines(logs, "Hold released by shopper.")[0]).toMatchObject({
      hold_id: h.hold_id,
      qty: 2,
    });
    expect((await getProduct(id)).body).toMatchObject({ reserved: 0, available: 2 });
    expect((await hold(id, 2)).status).toBe(201); // the sold-out memory was dropped
  });

  it("releasing again answers the same, and changes nothing more", async () => {
    const id = await newProduct(5);
    const h = (await hold(id, 2)).body;
    const first = await release(h.hold_id);
    await hold(id, 1);
    const again = await release(h.hold_id);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect((await getProduct(id)).body.reserved).toBe(1);
    expect((await metrics(id)).body).toMatchObject({
      holds: { released: 1, active: 1 },
      invariants: { ok: true },
    });
  });

  it("a hold that became an order is 409 hold_already_ordered; a released hold cannot be ordered", async () => {
    const id = await newProduct(5);
    const o = await pendingOrder(id, 1);
    expectError(await release(o.hold_id), 409, "hold_already_ordered");
    expect((await getProduct(id)).body.reserved).toBe(1);

    const h = (await hold(id, 1)).body;
    await release(h.hold_id);
    expectError(await order(h.hold_id), 410, "hold_released");
  });

  it("an expired hold answers 200 with status expired", async () => {
    const id = await newProduct(5);
    const h = (await hold(id, 3)).body;
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse(h.expires_at) + 1);
    const res = await release(h.hold_id);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ hold_id: h.hold_id, status: "expired" });
    expect((await getProduct(id)).body.reserved).toBe(0);
  });

  it("an unknown hold is 404 hold_not_found", async () => {
    const id = await newProduct(5);
    expectError(await release(`hld_${id}_0123456789abcdef0123456789abcdef`), 404, "hold_not_found");
    expectError(await release("nope"), 404, "hold_not_found");
    expectError(
      await release("hld_1999999999_0123456789abcdef0123456789abcdef"),
      404,
      "hold_not_found",
    );
  });
});

describe("POST /api/orders/:id/cancel", () => {
  it("cancels a pending order; its units go back; again answers the same", async () => {
    const id = await newProduct(3);
    const shopper = as(newShopper());
    const o = await pendingOrder(id, 2, shopper);
    const logs = vi.spyOn(console, "log");
    const res = await cancel(o.order_id, shopper);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      order_id: o.order_id,
      status: "cancelled",
      shopper_id: o.shopper_id,
    });
    expect(logLines(logs, "Order cancelled by shopper, units released.")).toHaveLength(1);
    expect((await getProduct(id)).body).toMatchObject({ stock: 3, reserved: 0, available: 3 });
    const again = await cancel(o.order_id, shopper);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(res.body);
    expect((await readOrder(o.order_id, shopper)).body.status).toBe("cancelled");
  });

  it("a paid or failed order is 409 order_not_pending and stays as it is", async () => {
    const id = await newProduct(5);
    const paid = await pendingOrder(id, 1);
    const failed = await pendingOrder(id, 1);
    await webhook({ idempotency_key: uniqueKey(), order_id: paid.order_id, status: "success" });
    await webhook({ idempotency_key: uniqueKey(), order_id: failed.order_id, status: "failure" });
    expectError(await cancel(paid.order_id), 409, "order_not_pending");
    expectError(await cancel(failed.order_id), 409, "order_not_pending");
    expect((await getProduct(id)).body).toMatchObject({ stock: 4, reserved: 0 });
  });

  it("a success that arrives after the cancel is handled as for any cancelled order", async () => {
    const id = await newProduct(5);
    const o = await pendingOrder(id, 2);
    await cancel(o.order_id);
    const res = await webhook({
      idempotency_key: uniqueKey(),
      order_id: o.order_id,
      status: "success",
    });
    expect(res.body).toMatchObject({ order_status: "cancelled", ignored: true });
    expect((await getProduct(id)).body).toMatchObject({ stock: 5, reserved: 0 });
    expect((await metrics(id)).body).toMatchObject({
      refunds_required: 1,
      invariants: { ok: true },
    });
  });

  it("an unknown order is 404 order_not_found", async () => {
    expectError(await cancel("ord_1_0123456789abcdef0123456789abcdef"), 404, "order_not_found");
    expectError(await cancel("nope"), 404, "order_not_found");
  });
});
