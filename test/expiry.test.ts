import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import {
  call,
  getProduct,
  hold,
  metrics,
  newProduct,
  order,
  pendingOrder,
  productObject,
} from "./helpers";

const alarmOf = (productId: number) =>
  runInDurableObject(productObject(productId), (_, state) => state.storage.getAlarm());

/** Move the clock (as the Worker and the object see it) to `at`. */
function travelTo(at: number) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
}

describe("hold expiry", () => {
  it("the alarm is set to the earliest deadline", async () => {
    const id = await newProduct(10);
    const first = (await hold(id, 1)).body;
    await hold(id, 1);
    expect(await alarmOf(id)).toBe(Date.parse(first.expires_at));
  });

  it("a hold past its deadline is released by the alarm, and its units can be held again", async () => {
    const id = await newProduct(2);
    const h = (await hold(id, 2)).body;
    expect((await hold(id, 1)).status).toBe(409);
    const logs = vi.spyOn(console, "log");

    travelTo(Date.parse(h.expires_at) + 1);
    expect(await runDurableObjectAlarm(productObject(id))).toBe(true);
    const released = logs.mock.calls
      .map(([l]) => JSON.parse(String(l)))
      .find((l) => l.message === "Expired hold released.");
    expect(released).toMatchObject({ product_id: id, hold_id: h.hold_id, qty: 2 });
    expect((await metrics(id)).body).toMatchObject({
      reserved: 0,
      available: 2,
      holds: { active: 0, expired: 1 },
    });
    // The Worker's short sold-out memory lapses with the clock too.
    travelTo(Date.parse(h.expires_at) + 2_000);
    expect((await hold(id, 2)).status).toBe(201);
  });

  it("reads release what is due even when the alarm has not run yet", async () => {
    const id = await newProduct(3);
    const h = (await hold(id, 3)).body;
    travelTo(Date.parse(h.expires_at) + 1);
    expect((await getProduct(id)).body).toMatchObject({ stock: 3, reserved: 0, available: 3 });
  });

  it("re-arms for the next deadline after releasing", async () => {
    const id = await newProduct(10);
    const first = (await hold(id, 1)).body;
    travelTo(Date.parse(first.expires_at) - 10_000);
    const second = (await hold(id, 1)).body;
    travelTo(Date.parse(first.expires_at) + 1);
    await runDurableObjectAlarm(productObject(id));
    expect(await alarmOf(id)).toBe(Date.parse(second.expires_at));
    expect((await getProduct(id)).body.reserved).toBe(1);
  });

  it("a hold that became an order is not released at the hold's deadline", async () => {
    const id = await newProduct(5);
    const o = await pendingOrder(id, 2);
    const h = await call("GET", `/api/orders/${o.order_id}`);
    travelTo(Date.parse(o.created_at) + 121_000);
    await runDurableObjectAlarm(productObject(id));
    expect((await getProduct(id)).body.reserved).toBe(2);
    expect((await call("GET", `/api/orders/${o.order_id}`)).body.status).toBe(h.body.status);
  });
});

describe("payment window", () => {
  it("an unpaid order past its window is cancelled and releases its units", async () => {
    const id = await newProduct(4);
    const o = await pendingOrder(id, 3);
    // The alarm may still be set for the hold's old deadline (early, never late); firing then
    // changes nothing and re-arms for the payment deadline.
    expect(await alarmOf(id)).toBeLessThanOrEqual(Date.parse(o.pay_by));
    travelTo(Date.parse(o.created_at) + 121_000);
    await runDurableObjectAlarm(productObject(id));
    expect((await call("GET", `/api/orders/${o.order_id}`)).body.status).toBe("pending");
    expect(await alarmOf(id)).toBe(Date.parse(o.pay_by));

    travelTo(Date.parse(o.pay_by) + 1);
    expect(await runDurableObjectAlarm(productObject(id))).toBe(true);
    const res = await call("GET", `/api/orders/${o.order_id}`);
    expect(res.body).toMatchObject({ status: "cancelled" });
    expect((await getProduct(id)).body).toMatchObject({ stock: 4, reserved: 0, available: 4 });
    // A later alarm (the order-history safety net) finds nothing more to do.
    await runDurableObjectAlarm(productObject(id));
    expect((await metrics(id)).body).toMatchObject({
      reserved: 0,
      orders: { pending: 0, cancelled: 1 },
      invariants: { ok: true },
    });
  });
});

describe("restarts", () => {
  it("an evicted object comes back with its stock, holds and deadlines", async () => {
    const id = await newProduct(6);
    const h = (await hold(id, 2)).body;
    await pendingOrder(id, 1);
    await evictDurableObject(productObject(id));
    expect((await getProduct(id)).body).toMatchObject({ stock: 6, reserved: 3, available: 3 });
    const second = (await order(h.hold_id)).body;
    travelTo(Date.parse(second.pay_by) + 1);
    await evictDurableObject(productObject(id));
    expect((await getProduct(id)).body).toMatchObject({ reserved: 0, available: 6 });
    expect((await metrics(id)).body.invariants.ok).toBe(true);
  });
});
