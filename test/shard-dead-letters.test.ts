import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { shardName } from "../src/contract/ids";
import { productStub, type StubFor } from "../src/reach/product";
import type { ProductObject } from "../src/product/product-object";
import { homeShard } from "../src/shards/home";
import {
  ADMIN,
  as,
  call,
  expectError,
  type CallOptions,
  hold,
  logLines,
  metrics,
  newProduct,
  newShopper,
  order,
  patchProduct,
} from "./helpers";

// Each shard of a sharded product copies its own orders to D1 and keeps the events D1 refuses
// as its own dead letters: `?shard=k` on the dead-letter routes reaches them (docs/sharding.md).

const shardObject = (productId: number, k: number) =>
  env.PRODUCTS.getByName(shardName(productId, k));

/** A D1 that refuses every history write for good: the next event becomes a dead letter. */
const refusing = {
  prepare: (query: string) => ({ bind: () => ({ query }) }),
  batch: () =>
    Promise.reject(new Error("D1_ERROR: CHECK constraint failed: orders: SQLITE_CONSTRAINT")),
};

async function useDb(stub: ReturnType<typeof shardObject>, db: unknown): Promise<void> {
  await runInDurableObject(stub, (instance: ProductObject) => {
    (instance as unknown as { env: object }).env = { ...env, DB: db };
  });
}

const deadLetters = (id: number, query = "") =>
  call("GET", `/api/admin/products/${id}/dead-letters${query}`, { headers: ADMIN });

const retry = (id: number, seq: number, query = "", app?: CallOptions["app"]) =>
  call("POST", `/api/admin/products/${id}/dead-letters/${seq}/retry${query}`, {
    headers: ADMIN,
    app,
  });

const inD1 = async (orderId: string) =>
  (await env.DB.prepare("SELECT status FROM orders WHERE order_id = ?").bind(orderId).first())
    ?.status ?? null;

/** Shard k's entry in the product's metrics. */
async function perShard(id: number, k: number): Promise<any> {
  const body = (await metrics(id)).body;
  return body.shards.per_shard.find((s: { shard: number }) => s.shard === k);
}

/** What the object keeps: its tables (none for an object that never opened its product). */
const tables = (stub: ReturnType<typeof shardObject>) =>
  runInDurableObject(stub, (_, state) =>
    state.storage.sql.exec("SELECT name FROM sqlite_master").toArray(),
  );

describe("a shard's dead letters", () => {
  it("are listed and retried with ?shard=k, and counted per shard in metrics", async () => {
    const id = await newProduct(10);
    expect((await patchProduct(id, { shards: 2 })).status).toBe(200);
    const shopper = newShopper();
    const k = homeShard(shopper, 2);
    // The hold opens shard k (with the real D1); the order's event is then refused for good.
    const held = await hold(id, 1, as(shopper));
    expect(held.status, JSON.stringify(held.body)).toBe(201);
    await useDb(shardObject(id, k), refusing);
    const errors = vi.spyOn(console, "error");
    const made = await order(held.body.hold_id, as(shopper));
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const orderId: string = made.body.order_id;
    await vi.waitFor(async () => expect((await perShard(id, k)).dead_letters).toBe(1));
    await useDb(shardObject(id, k), env.DB);
    // The log line names the shard, for `?shard=k`.
    expect(logLines(errors, "Order history event moved to dead letters.")).toEqual([
      expect.objectContaining({ product_id: id, shard: k }),
    ]);

    // The product's own object keeps none of them: without `shard` the list is empty.
    const own = await deadLetters(id);
    expect(own.status).toBe(200);
    expect(own.body).toEqual({ dead_letters: [], next_cursor: null });

    const listed = await deadLetters(id, `?shard=${k}`);
    expect(listed.status).toBe(200);
    expect(listed.body.next_cursor).toBeNull();
    expect(listed.body.dead_letters).toHaveLength(1);
    const [letter] = listed.body.dead_letters;
    expect(letter).toMatchObject({
      order_id: orderId,
      event: "order_created",
      error: expect.stringContaining("CHECK constraint failed"),
    });
    const m = (await metrics(id)).body;
    expect(m.history_dead_letters).toBe(1);
    const others = m.shards.per_shard.filter((s: { shard: number }) => s.shard !== k);
    for (const other of others) expect(other.dead_letters).toBe(0);
    expect(await inD1(orderId)).toBeNull();

    // The coordinator has no such seq; shard k puts it back under its own, and D1 takes it.
    expectError(await retry(id, letter.seq), 404, "dead_letter_not_found");
    const retried = await retry(id, letter.seq, `?shard=${k}`);
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.body).toMatchObject({ seq: letter.seq, order_id: orderId });
    await vi.waitFor(async () => expect(await inD1(orderId)).toBe("pending"));
    await vi.waitFor(async () => expect((await perShard(id, k)).dead_letters).toBe(0));
    expect((await metrics(id)).body).toMatchObject({
      history_dead_letters: 0,
      history_outbox_backlog: 0,
      invariants: { ok: true },
    });
    expect((await deadLetters(id, `?shard=${k}`)).body.dead_letters).toEqual([]);
    expectError(await retry(id, letter.seq, `?shard=${k}`), 404, "dead_letter_not_found");
  });

  it("a shard that never opened lists none and has none to retry, and writes nothing", async () => {
    const id = await newProduct(5);
    expect((await patchProduct(id, { shards: 2 })).status).toBe(200);
    const k = 255; // past the product's shards: nothing ever reaches it
    const listed = await deadLetters(id, `?shard=${k}`);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ dead_letters: [], next_cursor: null });
    expectError(await retry(id, 1, `?shard=${k}`), 404, "dead_letter_not_found");
    expect(await tables(shardObject(id, k))).toEqual([]);
  });

  it("an invalid shard is 422 invalid_request and reaches no object; a valid one picks it", async () => {
    const id = await newProduct(5);
    const reached: (number | null)[] = [];
    const stubFor: StubFor = (e, productId, shard = null) => {
      reached.push(shard);
      return productStub(e, productId, shard);
    };
    const app = createApp({ stubFor });
    for (const bad of ["-1", "256", "300", "1000", "x", "1.5", "01", ""]) {
      const query = `?shard=${encodeURIComponent(bad)}`;
      const list = await call("GET", `/api/admin/products/${id}/dead-letters${query}`, {
        headers: ADMIN,
        app,
      });
      expectError(list, 422, "invalid_request");
      expect(list.body.error.message).toContain("shard");
      expectError(await retry(id, 1, query, app), 422, "invalid_request");
    }
    expect(reached).toEqual([]);

    // Absent: the product's own object, as for any unsharded product; shard=k: shard k's.
    const own = await call("GET", `/api/admin/products/${id}/dead-letters`, {
      headers: ADMIN,
      app,
    });
    expect(own.body).toEqual({ dead_letters: [], next_cursor: null });
    expectError(await retry(id, 1, "?shard=3", app), 404, "dead_letter_not_found");
    expectError(await retry(id, 1, "?shard=255", app), 404, "dead_letter_not_found");
    expect(reached).toEqual([null, 3, 255]);
  });
});
