import { describe, expect, it } from "vitest";
import { homeShard } from "../src/shards/home";
import {
  as,
  expectError,
  hold,
  metrics,
  newProduct,
  newShopper,
  order,
  patchProduct,
  uniqueKey,
  paySuccess,
} from "./helpers";

// A shopper's limit across a change of shards (docs/sharding.md, "A shopper's limit"): the units
// they bought at an earlier home count at their new one.

/** A shopper whose home under `before` shards differs from their home under `after`. */
function movingShopper(before: number, after: number): string {
  for (;;) {
    const shopper = newShopper("mover");
    const from = before === 1 ? null : homeShard(shopper, before);
    const to = after === 1 ? null : homeShard(shopper, after);
    if (from !== to) return shopper;
  }
}

async function buy(id: number, shopper: string, qty: number): Promise<void> {
  const h = await hold(id, qty, { ...as(shopper), "idempotency-key": uniqueKey() });
  expect(h.status, JSON.stringify(h.body)).toBe(201);
  const o = await order(h.body.hold_id, as(shopper));
  expect(o.status).toBe(201);
  const paid = await paySuccess(o.body.order_id);
  expect(paid.body.order_status).toBe("paid");
}

describe("a shopper's limit on a product whose shards changed", () => {
  it("counts what they bought at their earlier homes, through every change of N", async () => {
    const id = await newProduct(20);
    expect((await patchProduct(id, { max_units_per_shopper: 2 })).status).toBe(200);
    const shopper = movingShopper(1, 2);
    await buy(id, shopper, 2); // on the product's own object, before any shard

    expect((await patchProduct(id, { shards: 2 })).status).toBe(200);
    // At their new home they already have 2: a third unit is over the limit.
    expectError(await hold(id, 1, as(shopper)), 409, "shopper_limit_reached");

    // And so after another change, whichever object their home is now.
    expect((await patchProduct(id, { shards: 3 })).status).toBe(200);
    expectError(await hold(id, 1, as(shopper)), 409, "shopper_limit_reached");
    expect((await patchProduct(id, { shards: 1 })).status).toBe(200);
    expectError(await hold(id, 1, as(shopper)), 409, "shopper_limit_reached");

    // Someone new is not limited by anyone else's units.
    expect((await hold(id, 2, as(newShopper()))).status).toBe(201);
    expect((await metrics(id)).body.invariants).toMatchObject({ ok: true, violations: [] });
  });

  it("a shopper who bought one of two at an earlier home may buy one more at the new one, not two", async () => {
    const id = await newProduct(20);
    expect((await patchProduct(id, { max_units_per_shopper: 2, shards: 2 })).status).toBe(200);
    const shopper = movingShopper(2, 4);
    await buy(id, shopper, 1);
    expect((await patchProduct(id, { shards: 4 })).status).toBe(200);
    expectError(await hold(id, 2, as(shopper)), 409, "shopper_limit_reached");
    expect((await hold(id, 1, as(shopper))).status).toBe(201);
    expectError(await hold(id, 1, as(shopper)), 409, "shopper_limit_reached");
    expect((await metrics(id)).body.invariants).toMatchObject({ ok: true, violations: [] });
  });
});
