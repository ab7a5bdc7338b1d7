import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { SoldOutMemory } from "../src/catalogue/sold-out";
import { productStub } from "../src/reach/product";
import { homeShard } from "../src/shards/home";
import {
  ADMIN,
  as,
  call,
  cancel,
  expectError,
  getProduct,
  hold,
  metrics,
  newProduct,
  newShopper,
  order,
  productObject,
  patchProduct,
  readOrder,
  release,
  uniqueKey,
  webhook,
} from "./helpers";

/** A product of `stock` units split over `shards` objects. */
async function shardedProduct(stock: number, shards: number): Promise<number> {
  const id = await newProduct(stock);
  const res = await patchProduct(id, { shards });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.shards ?? 1).toBe(shards);
  return id;
}

/** Shoppers whose home shards are 0..n-1, each one at least once. */
function shoppersOnEveryShard(n: number, count: number): string[] {
  const shoppers: string[] = [];
  const seen = new Set<number>();
  while (shoppers.length < count || seen.size < n) {
    const shopper = newShopper("crowd");
    seen.add(homeShard(shopper, n));
    shoppers.push(shopper);
  }
  return shoppers;
}

const restock = (id: number, qty: number) =>
  call("POST", `/api/admin/products/${id}/restock`, { headers: ADMIN, json: { qty } });

describe("PATCH /api/admin/products/:id shards", () => {
  it("is 1 by default (not shown), shown on the product when more, and out of range is 422", async () => {
    const id = await newProduct(5);
    expect((await getProduct(id)).body.shards).toBeUndefined();
    expectError(await patchProduct(id, { shards: 0 }), 422, "invalid_request");
    expectError(await patchProduct(id, { shards: 257 }), 422, "invalid_request");
    expectError(await patchProduct(id, { shards: 2.5 }), 422, "invalid_request");
    expect((await getProduct(id)).body.shards).toBeUndefined();
    expect((await patchProduct(id, { shards: 3 })).body.shards).toBe(3);
    expect((await getProduct(id)).body.shards).toBe(3);
    expect((await patchProduct(id, { shards: 1 })).body.shards).toBeUndefined();
  });

  it("is 409 shards_busy while a unit is held, and changes nothing", async () => {
    const id = await newProduct(5);
    const held = await hold(id, 1, as(newShopper()));
    expect(held.status).toBe(201);
    expectError(await patchProduct(id, { shards: 4 }), 409, "shards_busy");
    expect((await getProduct(id)).body).toMatchObject({ available: 4 });
    expect((await getProduct(id)).body.shards).toBeUndefined();
  });

  it("is 409 shards_busy while a shard holds a unit", async () => {
    const id = await shardedProduct(10, 4);
    const shopper = newShopper();
    const held = await hold(id, 1, as(shopper));
    expect(held.status).toBe(201);
    expectError(await patchProduct(id, { shards: 2 }), 409, "shards_busy");
    expect((await getProduct(id)).body).toMatchObject({ shards: 4, available: 9, reserved: 1 });
    // Released, the change goes through, and every unit is where the books say.
    expect((await release(held.body.hold_id, as(shopper))).status).toBe(200);
    expect((await patchProduct(id, { shards: 2 })).status).toBe(200);
    expect((await metrics(id)).body.invariants).toMatchObject({ ok: true, violations: [] });
  });
});

describe("a sharded sale", () => {
  it("sells exactly the stock to a parallel crowd, never more, and is certified sold out", async () => {
    const stock = 12;
    const id = await shardedProduct(stock, 4);
    const shoppers = shoppersOnEveryShard(4, 40);
    const answers = await Promise.all(
      shoppers.map((shopper) =>
        hold(id, 1, { ...as(shopper), "idempotency-key": uniqueKey("crowd") }),
      ),
    );
    const made = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status !== 201);
    expect(made.length).toBe(stock);
    for (const res of refused) expectError(res, 409, "insufficient_stock");
    // Every hold id names its shard, the shopper's home.
    for (const [i, res] of answers.entries()) {
      if (res.status !== 201) continue;
      const k = homeShard(shoppers[i]!, 4);
      expect(res.body.hold_id).toMatch(new RegExp(`^hld_${id}-${k}_[0-9a-f]{32}$`));
    }
    let product = (await getProduct(id)).body;
    expect(product).toMatchObject({ available: 0, reserved: stock, sold_out: false });

    // Orders and payments go straight to the shard named in the ids.
    const winners = answers
      .map((res, i) => ({ res, shopper: shoppers[i]! }))
      .filter(({ res }) => res.status === 201);
    for (const { res, shopper } of winners) {
      const o = await order(res.body.hold_id, as(shopper));
      expect(o.status).toBe(201);
      expect(o.body.order_id).toMatch(new RegExp(`^ord_${id}-[0-3]_`));
      const paid = await webhook({
        idempotency_key: uniqueKey("pay"),
        order_id: o.body.order_id,
        status: "success",
      });
      expect(paid.status, JSON.stringify(paid.body)).toBe(200);
      expect((await readOrder(o.body.order_id, as(shopper))).body.status).toBe("paid");
    }
    product = (await getProduct(id)).body;
    expect(product).toMatchObject({ available: 0, reserved: 0, stock: 0, sold_out: true });
    const checked = (await metrics(id)).body;
    expect(checked.invariants).toMatchObject({ ok: true, violations: [] });
    expect(checked).toMatchObject({ sold: stock, units_sold: stock });
    expect(checked.shards).toMatchObject({
      count: 4,
      pool: 0,
      in_flight: 0,
      sold_out_certified: true,
    });
    expect(checked.shards.per_shard.reduce((n: number, s: any) => n + s.sold, 0)).toBe(stock);

    // A restock withdraws the certificate and the new units sell.
    const restocked = await restock(id, 3);
    expect(restocked.status).toBe(200);
    // Its answer is the product as a read gives it: summed over the pool and the shards.
    expect(restocked.body).toMatchObject({ stock: 3, available: 3, reserved: 0, sold_out: false });
    product = (await getProduct(id)).body;
    expect(product).toMatchObject({ available: 3, sold_out: false });
    const more = await hold(id, 1, as(shoppers[0]!));
    expect(more.status).toBe(201);
    expect((await metrics(id)).body.invariants.ok).toBe(true);
  });

  it("recalls units from shards that do not sell to one that does", async () => {
    const id = await shardedProduct(8, 4);
    const shoppers = shoppersOnEveryShard(4, 8);
    // One hold on every shard spreads grants over all of them.
    const byShard = new Map<number, string>();
    for (const shopper of shoppers) byShard.set(homeShard(shopper, 4), shopper);
    for (const shopper of byShard.values())
      expect((await hold(id, 1, as(shopper))).status).toBe(201);
    // Then one shard's shoppers take everything that is left.
    const home = homeShard(shoppers[0]!, 4);
    const local = shoppersOnEveryShard(4, 200).filter((s) => homeShard(s, 4) === home);
    const answers = await Promise.all(local.slice(0, 10).map((s) => hold(id, 1, as(s))));
    expect(answers.filter((a) => a.status === 201).length).toBe(4);
    expect((await getProduct(id)).body).toMatchObject({ available: 0, reserved: 8 });
    expect((await metrics(id)).body.invariants.ok).toBe(true);
  });

  it("units released on a shard after its last report are recalled for another shard's shopper", async () => {
    const id = await shardedProduct(2, 2);
    const shoppers = shoppersOnEveryShard(2, 2);
    const a = shoppers.find((s) => homeShard(s, 2) === 0)!;
    const b = shoppers.find((s) => homeShard(s, 2) === 1)!;
    const held = await hold(id, 2, as(a));
    expect(held.status).toBe(201);
    // A read brings shard 0's report (2 held); the release after it is news to the coordinator.
    expect((await getProduct(id)).body).toMatchObject({ available: 0, reserved: 2 });
    expect((await release(held.body.hold_id, as(a))).status).toBe(200);
    expect((await hold(id, 2, as(b))).status).toBe(201);
    expect((await metrics(id)).body.invariants.ok).toBe(true);
  });

  it("cancel, release and failed payments free units on their shard; old ids keep working", async () => {
    const id = await newProduct(6);
    const early = newShopper();
    const before = await hold(id, 1, as(early));
    expect(before.body.hold_id).toMatch(new RegExp(`^hld_${id}_`));
    expect((await release(before.body.hold_id, as(early))).status).toBe(200);
    expect((await patchProduct(id, { shards: 3 })).status).toBe(200);
    // The hold made under shards: 1 is still reachable by its id.
    expect((await release(before.body.hold_id, as(early))).body.status).toBe("released");

    const a = newShopper();
    const b = newShopper();
    const ha = await hold(id, 2, as(a));
    const hb = await hold(id, 1, as(b));
    expect([ha.status, hb.status]).toEqual([201, 201]);
    const oa = await order(ha.body.hold_id, as(a));
    expect((await cancel(oa.body.order_id, as(a))).body.status).toBe("cancelled");
    const ob = await order(hb.body.hold_id, as(b));
    const failed = await webhook({
      idempotency_key: uniqueKey("fail"),
      order_id: ob.body.order_id,
      status: "failure",
    });
    expect(failed.status).toBe(200);
    expect((await getProduct(id)).body).toMatchObject({ available: 6, reserved: 0 });
    expect((await metrics(id)).body.invariants).toMatchObject({ ok: true });
  });

  it("a late payment is refunded on its shard, and the refund resolved by its id", async () => {
    const id = await shardedProduct(5, 3);
    const shopper = newShopper();
    const h = await hold(id, 1, as(shopper));
    const o = await order(h.body.hold_id, as(shopper));
    expect((await cancel(o.body.order_id, as(shopper))).body.status).toBe("cancelled");
    const late = await webhook({
      idempotency_key: uniqueKey("late"),
      order_id: o.body.order_id,
      status: "success",
    });
    expect(late.status).toBe(200);
    // The shard copies its history to D1 like any product object; the refund is listed from there.
    let refunds: any[] = [];
    await vi.waitFor(async () => {
      const res = await call("GET", `/api/admin/refunds?product_id=${id}`, { headers: ADMIN });
      refunds = res.body.refunds;
      expect(refunds.length).toBe(1);
    });
    const k = homeShard(shopper, 3);
    expect(refunds[0]).toMatchObject({ order_id: o.body.order_id, reason: "late_payment" });
    expect(refunds[0].refund_id).toMatch(new RegExp(`^rfd_${id}-${k}_`));
    const done = await call("POST", `/api/admin/refunds/${refunds[0].refund_id}/resolve`, {
      headers: ADMIN,
      json: { note: "re_1 at the gateway" },
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.status).toBe("resolved");
    expect((await metrics(id)).body).toMatchObject({
      refunds: { due: 0, resolved: 1 },
      invariants: { ok: true },
    });
  });

  it("an id naming a shard that keeps nothing is 404, and wakes nothing", async () => {
    const id = await shardedProduct(5, 2);
    const hex = "0".repeat(32);
    expectError(await release(`hld_${id}-200_${hex}`), 404, "hold_not_found");
    expectError(await readOrder(`ord_${id}-7_${hex}`), 404, "order_not_found");
    expectError(await release(`hld_${id}-256_${hex}`), 404, "hold_not_found");
  });

  it("an Idempotency-Key is the shopper's own on a sharded product", async () => {
    const id = await shardedProduct(10, 4);
    const key = uniqueKey("shared");
    const a = newShopper();
    const first = await hold(id, 1, { ...as(a), "idempotency-key": key });
    const again = await hold(id, 1, { ...as(a), "idempotency-key": key });
    expect(again.body.hold_id).toBe(first.body.hold_id);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    // Another shopper reusing it never gets the first shopper's hold.
    for (let i = 0; i < 6; i++) {
      const other = await hold(id, 1, { ...as(newShopper()), "idempotency-key": key });
      if (other.status === 201) expect(other.body.hold_id).not.toBe(first.body.hold_id);
      else expectError(other, 409, "idempotency_key_reused");
    }
  });

  it("a sale window set on the product applies on every shard", async () => {
    const id = await shardedProduct(5, 2);
    const ends = new Date(Date.now() - 1_000).toISOString();
    const starts = new Date(Date.now() - 60_000).toISOString();
    expect((await patchProduct(id, { sale_starts_at: starts, sale_ends_at: ends })).status).toBe(
      200,
    );
    const shopper = newShopper();
    expectError(
      await hold(id, 1, { ...as(shopper), "idempotency-key": uniqueKey() }),
      409,
      "sale_ended",
    );
  });
});

describe("the live stock frame of a sharded product", () => {
  it("sums the pool and the shards, as of their last reports", async () => {
    const id = await shardedProduct(10, 4);
    const res = await exports.default.fetch(
      new Request(`http://checkout.test/api/products/${id}/live`, {
        headers: { upgrade: "websocket" },
      }),
    );
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    ws.accept();
    const frames: any[] = [];
    ws.addEventListener("message", (event) => {
      const data = JSON.parse(String(event.data));
      frames.push(...(Array.isArray(data) ? data : [data]));
    });
    const stockFrame = async (match: (frame: any) => boolean) => {
      for (let i = 0; i < 50; i++) {
        const frame = frames.filter((f) => f.type === "stock").at(-1);
        if (frame && match(frame)) return frame;
        await new Promise((wake) => setTimeout(wake, 100));
      }
      throw new Error(`no such frame in ${JSON.stringify(frames)}`);
    };
    expect(await stockFrame(() => true)).toEqual({
      type: "stock",
      stock: 10,
      reserved: 0,
      available: 10,
      sold_out: false,
    });
    expect((await hold(id, 2, as(newShopper()))).status).toBe(201);
    // A read brings every shard's report, and the frame follows.
    expect((await getProduct(id)).body).toMatchObject({ available: 8, reserved: 2 });
    expect(await stockFrame((f) => f.reserved === 2)).toEqual({
      type: "stock",
      stock: 10,
      reserved: 2,
      available: 8,
      sold_out: false,
    });
    ws.close(1000, "done");
  });
});

describe("transfers not yet acknowledged", () => {
  const count = (stub: DurableObjectStub, query: string) =>
    runInDurableObject(stub, (_, state) => state.storage.sql.exec(query).one().n as number);

  it("are resent by the alarm, and a grant applied twice changes nothing", async () => {
    const id = await shardedProduct(20, 2);
    const shopper = newShopper();
    expect((await hold(id, 1, as(shopper))).status).toBe(201);
    const k = homeShard(shopper, 2);
    const coordinator = productObject(id);
    const shard = env.PRODUCTS.getByName(`${id}:${k}`);
    // The shard applied its grant, but the coordinator has not heard so yet: still in its outbox.
    expect(await count(coordinator, "SELECT COUNT(*) AS n FROM shard_grants_out")).toBe(1);
    const quota = () =>
      runInDurableObject(shard, (_, state) =>
        state.storage.sql.exec("SELECT stock, restocked FROM product").one(),
      );
    const before = await quota();
    expect(await runDurableObjectAlarm(coordinator)).toBe(true);
    expect(await count(coordinator, "SELECT COUNT(*) AS n FROM shard_grants_out")).toBe(0);
    expect(await quota()).toEqual(before);
    expect((await metrics(id)).body.invariants).toMatchObject({ ok: true });
  });
});

describe("a shard running low", () => {
  it("borrows ahead (a prefetch) once its free units fall below two borrows' worth", async () => {
    const id = await shardedProduct(1_000, 2);
    const [shopper] = shoppersOnEveryShard(1, 1);
    const home = homeShard(shopper!, 2);
    expect((await hold(id, 1, as(shopper!))).status).toBe(201);
    // The hold's own borrow brought a minimum block (4 units); 3 were left free, under the low
    // water mark, so the shard asked for another block with no hold waiting.
    let shard: any;
    for (let i = 0; i < 50; i++) {
      shard = (await metrics(id)).body.shards.per_shard.find((s: any) => s.shard === home);
      if (shard.granted > 4) break;
      await scheduler.wait(20);
    }
    expect(shard).toMatchObject({ holds_active: 1, reserved: 1 });
    expect(shard.granted).toBeGreaterThanOrEqual(8);
    expect(shard.available).toBe(shard.granted - 1);
    const checked = (
      await call("GET", `/api/admin/products/${id}/metrics?check=full`, {
        headers: ADMIN,
      })
    ).body;
    expect(checked.invariants.ok).toBe(true);
  });
});

describe("a sharded product sold out", () => {
  it("once no unit is free anywhere, a shard's refusal says so and the Worker answers 409 itself", async () => {
    const id = await shardedProduct(4, 2);
    let objectCalls = 0;
    const app = createApp({
      stubFor: (e, productId, shard) => {
        objectCalls++;
        return productStub(e, productId, shard);
      },
      soldOut: new SoldOutMemory(60_000),
    });
    const post = async () => {
      const res = await hold(id, 1, as(newShopper("late")), app);
      return { status: res.status, code: res.body.error?.code };
    };
    const first = await Promise.all(Array.from({ length: 20 }, post));
    expect(first.filter((a) => a.status === 201)).toHaveLength(4);
    // Shards refusing from their own last word learn that nothing is free anywhere with their
    // next borrow; from then on the Worker answers without calling any object.
    await vi.waitFor(async () => {
      const before = objectCalls;
      expectErrorCode(await post(), "insufficient_stock");
      expect(objectCalls).toBe(before);
    });
    const before = objectCalls;
    const storm = await Promise.all(Array.from({ length: 100 }, post));
    expect(storm.every((a) => a.status === 409 && a.code === "insufficient_stock")).toBe(true);
    expect(objectCalls).toBe(before);
    expect((await metrics(id)).body).toMatchObject({
      reserved: 4,
      available: 0,
      invariants: { ok: true },
    });
  });
});

function expectErrorCode(answer: { status: number; code?: string }, code: string): void {
  expect(answer).toEqual({ status: 409, code });
}

describe("a sharded product's history in D1", () => {
  it("keeps every shard's order events, though each shard numbers its own from 1", async () => {
    const id = await shardedProduct(10, 2);
    const shoppers = shoppersOnEveryShard(2, 2);
    const orders: string[] = [];
    for (const shopper of shoppers) {
      const h = await hold(id, 1, as(shopper));
      expect(h.status).toBe(201);
      const o = await order(h.body.hold_id, as(shopper));
      expect(o.status).toBe(201);
      orders.push(o.body.order_id);
    }
    const homes = new Set(shoppers.map((shopper) => homeShard(shopper, 2)));
    expect(homes.size).toBe(2);
    await vi.waitFor(async () => {
      const events = await env.DB.prepare(
        "SELECT order_id, shard, seq FROM order_events WHERE product_id = ?",
      )
        .bind(id)
        .all<{ order_id: string; shard: number; seq: number }>();
      expect(new Set(events.results.map((e) => e.order_id))).toEqual(new Set(orders));
    });
  });
});
