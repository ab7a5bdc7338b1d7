import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { productStub } from "../src/reach/product";
import { SoldOutMemory } from "../src/catalogue/sold-out";
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

/** Deterministic pseudo-random choices, so a failure can be replayed. */
function choices(seed: number) {
  let state = seed;
  return (n: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state % n;
  };
}

/** What one shopper will do, decided before anything runs. */
interface ShopperPlan {
  qty: number;
  orders: boolean;
  /** null: never pays. */
  payment: null | { status: "success" | "failure"; copies: number; thenFailure: boolean };
}

/**
 * Every choice is drawn here, up front, in one order: answers arrive in whatever order the
 * object serves the parallel requests, and drawing after an await would make the sequence of
 * draws (and so the storm) depend on it. With the plans fixed, a seed replays exactly.
 */
function plans(seed: number, shoppers: number): ShopperPlan[] {
  const pick = choices(seed);
  return Array.from({ length: shoppers }, () => {
    const qty = 1 + pick(3);
    const orders = pick(4) !== 0;
    const outcome = pick(5);
    const copies = 1 + pick(3);
    const thenFailure = pick(3) === 0;
    return {
      qty,
      orders,
      payment:
        outcome === 0
          ? null
          : { status: outcome === 1 ? "failure" : "success", copies, thenFailure },
    };
  });
}

it("a storm of shoppers, late and duplicated webhooks and expiries keeps every invariant", async () => {
  const stock = 25;
  const id = await newProduct(stock);
  const seed = 20261125;

  // Shoppers hold, some order, some pay (success, failure, duplicated, conflicting), all at once.
  const shoppers = plans(seed, 120).map(async (plan) => {
    const h = await hold(id, plan.qty);
    if (h.status !== 201 || !plan.orders) return;
    const o = await order(h.body.hold_id);
    expect(o.status, `seed ${seed}`).toBe(201);
    if (!plan.payment) return; // never pays
    const { status, copies, thenFailure } = plan.payment;
    const key = uniqueKey();
    await Promise.all(
      Array.from({ length: copies }, () =>
        webhook({ idempotency_key: key, order_id: o.body.order_id, status }),
      ),
    );
    if (thenFailure) {
      await webhook({ idempotency_key: uniqueKey(), order_id: o.body.order_id, status: "failure" });
    }
  });
  await Promise.all(shoppers);

  const during = (await metrics(id)).body;
  expect(during.invariants).toEqual({ ok: true, checked: "full", violations: [] });
  expect(during.sold).toBeLessThanOrEqual(stock);

  // Let every hold and payment window run out.
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now() + 16 * 60_000);
  await runDurableObjectAlarm(productObject(id));
  const after = (await metrics(id)).body;
  expect(after.invariants).toEqual({ ok: true, checked: "full", violations: [] });
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
