import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { ProductObject } from "../src/product/product-object";
import { metrics, newProduct, pendingOrder, productObject, uniqueKey, webhook } from "./helpers";

const historyOf = (orderId: string) =>
  env.DB.prepare("SELECT status, needs_refund FROM orders WHERE order_id = ?")
    .bind(orderId)
    .first();
const eventsOf = async (orderId: string) =>
  (
    await env.DB.prepare("SELECT event, status FROM order_events WHERE order_id = ? ORDER BY seq")
      .bind(orderId)
      .all()
  ).results;

describe("order history in D1", () => {
  it("holds every order with its final status and each change in order", async () => {
    const id = await newProduct(10);
    const paid = await pendingOrder(id, 1);
    const failed = await pendingOrder(id, 2);
    const cancelled = await pendingOrder(id, 1);
    const pending = await pendingOrder(id, 1);
    await webhook({ idempotency_key: uniqueKey(), order_id: paid.order_id, status: "success" });
    await webhook({ idempotency_key: uniqueKey(), order_id: failed.order_id, status: "failure" });
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse(pending.pay_by) + 1);
    await webhook({
      idempotency_key: uniqueKey(),
      order_id: cancelled.order_id,
      status: "success",
    }); // too late
    vi.useRealTimers();

    await vi.waitFor(async () => expect((await metrics(id)).body.history_outbox_backlog).toBe(0));
    const rows = (
      await env.DB.prepare(
        "SELECT order_id, status, qty, needs_refund FROM orders WHERE product_id = ? ORDER BY created_at",
      )
        .bind(id)
        .all()
    ).results;
    expect(rows).toEqual([
      { order_id: paid.order_id, status: "paid", qty: 1, needs_refund: 0 },
      { order_id: failed.order_id, status: "failed", qty: 2, needs_refund: 0 },
      { order_id: cancelled.order_id, status: "cancelled", qty: 1, needs_refund: 1 },
      { order_id: pending.order_id, status: "cancelled", qty: 1, needs_refund: 0 },
    ]);
    expect(await eventsOf(paid.order_id)).toEqual([
      { event: "order_created", status: "pending" },
      { event: "order_paid", status: "paid" },
    ]);
    expect(await eventsOf(cancelled.order_id)).toEqual([
      { event: "order_created", status: "pending" },
      { event: "order_cancelled", status: "cancelled" },
      { event: "refund_required", status: "cancelled" },
    ]);
  });

  it("a D1 outage delays history but never loses it", async () => {
    const id = await newProduct(10);
    const stub = productObject(id);
    const realDb = env.DB;
    const brokenDb = {
      batch: async () => {
        throw new Error("D1_ERROR: simulated outage");
      },
      prepare: (query: string) => realDb.prepare(query),
    } as unknown as D1Database;
    const setDb = (db: D1Database) =>
      runInDurableObject(stub, (instance: ProductObject) => {
        (instance as unknown as { env: typeof env }).env = { ...env, DB: db };
      });

    await pendingOrder(id, 1); // opens the object while D1 still answers
    await setDb(brokenDb);
    const warnings = vi.spyOn(console, "warn");
    const o = await pendingOrder(id, 2);
    await webhook({ idempotency_key: uniqueKey(), order_id: o.order_id, status: "success" });

    // The sale goes on; the history waits in the outbox.
    const during = (await metrics(id)).body;
    expect(during).toMatchObject({ sold: 2, invariants: { ok: true } });
    expect(during.history_outbox_backlog).toBeGreaterThanOrEqual(2);
    expect(await historyOf(o.order_id)).toBeNull();
    expect(
      warnings.mock.calls.some(([l]) =>
        String(l).includes("Order history write to D1 failed, will retry."),
      ),
    ).toBe(true);

    await setDb(realDb);
    // The next copy waits for the backoff (5 s after one failure, with jitter), then the alarm.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 5_001);
    await runDurableObjectAlarm(stub);
    vi.useRealTimers();
    expect(await historyOf(o.order_id)).toEqual({ status: "paid", needs_refund: 0 });
    expect(await eventsOf(o.order_id)).toEqual([
      { event: "order_created", status: "pending" },
      { event: "order_paid", status: "paid" },
    ]);
    expect((await metrics(id)).body.history_outbox_backlog).toBe(0);
  });
});
