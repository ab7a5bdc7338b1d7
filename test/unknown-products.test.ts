import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { CatalogueCache } from "../src/catalogue/catalogue";
import {
  call,
  expectError,
  hold,
  newProduct,
  order,
  productObject,
  uniqueKey,
  webhook,
} from "./helpers";

/** Ids no product has: high enough that no test creates them. */
const unknownIds = (n: number) =>
  Array.from({ length: n }, () => 2_100_000_000 + Math.floor(Math.random() * 40_000_000));

const objectIds = async () =>
  new Set((await listDurableObjectIds(env.PRODUCTS)).map((id) => id.toString()));

describe("nothing to mint: a product that does not exist", () => {
  it("answers 404 on every route and no object storage is ever made for it", async () => {
    const ids = unknownIds(10);
    const answers = await Promise.all(
      ids.flatMap((id) => {
        const holdId = `hld_${id}_0123456789abcdef0123456789abcdef`;
        const orderId = `ord_${id}_0123456789abcdef0123456789abcdef`;
        return [
          call("GET", `/api/products/${id}`),
          hold(id, 1),
          hold(id, 1, { "idempotency-key": uniqueKey() }),
          order(holdId),
          call("DELETE", `/api/holds/${holdId}`),
          call("GET", `/api/orders/${orderId}`),
          call("POST", `/api/orders/${orderId}/cancel`),
          webhook({ idempotency_key: uniqueKey(), order_id: orderId, status: "success" }),
        ];
      }),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 404));
    const codes = new Set(answers.map((a) => a.body.error.code));
    expect(codes).toEqual(new Set(["product_not_found", "hold_not_found", "order_not_found"]));

    const stored = await objectIds();
    for (const id of ids) {
      expect(stored.has(env.PRODUCTS.idFromName(String(id)).toString())).toBe(false);
    }
  });

  it("an order for a hold whose product does not exist is 404 hold_not_found", async () => {
    const [id] = unknownIds(1);
    expectError(await order(`hld_${id}_0123456789abcdef0123456789abcdef`), 404, "hold_not_found");
  });

  it("an object asked about it directly still writes nothing", async () => {
    const [id] = unknownIds(1);
    const stub = productObject(id!);
    const answer = await stub.readProduct({ productId: id!, requestId: "test" });
    expect(answer).toMatchObject({ ok: false, code: "product_not_found" });
    const tables = await runInDurableObject(stub, (_, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master").toArray(),
    );
    expect(tables).toEqual([]);
  });

  it("costs one catalogue read per product id per cache period, known or not", async () => {
    const known = await newProduct(5);
    const [unknown] = unknownIds(1);
    let reads = 0;
    const counting = {
      prepare: (query: string) => {
        if (query.includes("FROM products")) reads++;
        return env.DB.prepare(query);
      },
      batch: (statements: D1PreparedStatement[]) => env.DB.batch(statements),
    } as unknown as D1Database;
    const app = createApp({ catalogue: new CatalogueCache(60_000) });
    const vars = { DB: counting };
    const storm = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        call("GET", `/api/products/${i % 2 ? known : unknown}`, { app, vars }),
      ),
    );
    expect(storm.filter((a) => a.status === 200)).toHaveLength(25);
    expect(storm.filter((a) => a.status === 404)).toHaveLength(25);
    // Parallel lookups of one id share the read in flight.
    expect(reads).toBe(2);
    await call("GET", `/api/products/${unknown}`, { app, vars });
    await call("GET", `/api/products/${known}`, { app, vars });
    expect(reads).toBe(2);
  });
});
