import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { productStub } from "../src/product-client";
import { SoldOutMemory } from "../src/sold-out";
import {
  ADMIN,
  call,
  getProduct,
  hold,
  metrics,
  newProduct,
  order,
  productObject,
  uniqueKey,
  webhook,
} from "./helpers";

afterEach(() => vi.useRealTimers());

/** Deterministic pseudo-random choices, so a failure can be replayed. */
function choices(seed: number) {
  let state = seed;
  return (n: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state % n;
  };
}

it("a storm of shoppers, late and duplicated webhooks and expiries keeps every invariant", async () => {
  const stock = 25;
  const id = await newProduct(stock);
  const pick = choices(20261125);

  // Shoppers hold, some order, some pay (success, failure, duplicated, conflicting), all at once.
  const shoppers = Array.from({ length: 120 }, async () => {
    const h = await hold(id, 1 + pick(3));
    if (h.status !== 201 || pick(4) === 0) return;
    const o = await order(h.body.hold_id);
    expect(o.status).toBe(201);
    const outcome = pick(5);
    if (outcome === 0) return; // never pays
    const key = uniqueKey();
    const status = outcome === 1 ? "failure" : "success";
    const copies = 1 + pick(3);
    await Promise.all(
      Array.from({ length: copies }, () =>
        webhook({ idempotency_key: key, order_id: o.body.order_id, status }),
      ),
    );
    if (pick(3) === 0)
      await webhook({ idempotency_key: uniqueKey(), order_id: o.body.order_id, status: "failure" });
  });
  await Promise.all(shoppers);

  const during = (await metrics(id)).body;
  expect(during.invariants).toEqual({ ok: true, violations: [] });
  expect(during.sold).toBeLessThanOrEqual(stock);

  // Let every hold and payment window run out.
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now() + 16 * 60_000);
  await runDurableObjectAlarm(productObject(id));
  const after = (await metrics(id)).body;
  expect(after.invariants).toEqual({ ok: true, violations: [] });
  expect(after).toMatchObject({ reserved: 0, holds: { active: 0 }, orders: { pending: 0 } });
  expect(after.stock + after.sold).toBe(stock);
  expect((await getProduct(id)).body).toMatchObject({ stock: after.stock, available: after.stock });
  vi.useRealTimers();

  // D1 agrees with the object on what was sold.
  await vi.waitFor(async () => expect((await metrics(id)).body.history_outbox_backlog).toBe(0));
  const paid = await env.DB.prepare(
    "SELECT COALESCE(SUM(qty), 0) AS units FROM orders WHERE product_id = ? AND status = 'paid'",
  )
    .bind(id)
    .first<{ units: number }>();
  expect(paid!.units).toBe(after.sold);
});

it("once sold out, the Worker answers 409 itself and no shopper ever gets a unit that is not there", async () => {
  const id = await newProduct(3);
  let objectCalls = 0;
  const app = createApp({
    stubFor: (e, productId) => {
      objectCalls++;
      return productStub(e, productId);
    },
    soldOut: new SoldOutMemory(60_000),
  });
  const post = async () => {
    const res = await hold(id, 1, {}, app);
    return { status: res.status, code: res.body.error?.code };
  };

  const first = await Promise.all(Array.from({ length: 20 }, post));
  expect(first.filter((a) => a.status === 201)).toHaveLength(3);
  const callsWhenSoldOut = objectCalls;
  const storm = await Promise.all(Array.from({ length: 200 }, post));
  expect(storm.every((a) => a.status === 409 && a.code === "insufficient_stock")).toBe(true);
  expect(objectCalls).toBe(callsWhenSoldOut);
  expect((await metrics(id)).body).toMatchObject({
    reserved: 3,
    available: 0,
    invariants: { ok: true },
  });

  // Units coming back (here a restock through this app) end the sold-out answers at once.
  const restock = await call("POST", `/api/admin/products/${id}/restock`, {
    headers: ADMIN,
    json: { qty: 1 },
    app,
  });
  expect(restock.status).toBe(200);
  expect((await post()).status).toBe(201);
});
