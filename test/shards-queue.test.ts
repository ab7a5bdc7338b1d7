import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { newHoldId, ownerOfHold, shardName } from "../src/contract/ids";
import { homeShard } from "../src/shards/home";
import {
  as,
  cancel,
  expectError,
  metrics,
  newProduct,
  newShopper,
  order,
  patchProduct,
  pendingOrder,
  productObject,
  release,
  paySuccess,
} from "./helpers";
import { QUEUE_ON, holdWith, line, poll } from "./queue-helpers";

// A sharded product with its queue on (docs/sharding.md, "The queue"): the line and the pool stay
// on the coordinator, holds go to each shopper's home shard, and a shard gets a hold's units only
// by having the coordinator redeem the hold's admission for them.

const QUEUE = QUEUE_ON.queue;
const shardObject = (id: number, k: number) => env.PRODUCTS.getByName(shardName(id, k));

/** Shards whose alarms are due run them now (a freed unit goes back to the pool by the alarm). */
async function runShardAlarms(id: number, shards: number): Promise<void> {
  for (let k = 0; k < shards; k++) await runDurableObjectAlarm(shardObject(id, k));
}

describe("a sharded product with its queue on", () => {
  it("admits by every unit the shards can still sell, and holds redeem their admissions at the coordinator", async () => {
    const id = await newProduct(20);
    expect((await patchProduct(id, { shards: 2 })).status).toBe(200);
    // Before the queue, two holds: their shards borrowed blocks and keep free units of them.
    const early = [newShopper("early"), newShopper("early")];
    for (const shopper of early)
      expect((await holdWith(id, undefined, as(shopper))).status).toBe(201);
    const before = (await metrics(id)).body;
    const freeOnShards = before.shards.per_shard.reduce((n: number, s: any) => n + s.available, 0);
    expect(freeOnShards).toBeGreaterThan(0);
    expect(before.shards.pool).toBe(18 - freeOnShards);

    // Turning the queue on brings every free unit back to the pool: admission counts all 18.
    const on = await patchProduct(id, { queue: QUEUE });
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    const m = (await metrics(id)).body;
    expect(m.shards).toMatchObject({ count: 2, pool: 18 });
    for (const shard of m.shards.per_shard) expect(shard.available).toBe(0);
    expect(m.invariants).toMatchObject({ ok: true, violations: [] });

    const joined = await line(id, 20);
    const states = await Promise.all(joined.map((j) => poll(j.ticket, j.shopper)));
    expect(states.map((s) => s.body.state)).toEqual([
      ...Array<string>(18).fill("admitted"),
      "waiting",
      "waiting",
    ]);

    // Without an admission a shard refuses, and takes nothing.
    expectError(await holdWith(id, undefined, as(newShopper())), 403, "admission_required");

    // The 18 admitted hold at once, each on their own home shard.
    const tokens = states.slice(0, 18).map((s) => s.body.admission_token as string);
    const holds = await Promise.all(
      joined.slice(0, 18).map((j, i) => holdWith(id, tokens[i], j.shopper)),
    );
    for (const [i, h] of holds.entries()) {
      expect(h.status, JSON.stringify(h.body)).toBe(201);
      const shopperId = joined[i]!.shopper["x-shopper-id"]!;
      expect(ownerOfHold(h.body.hold_id)).toEqual({
        productId: id,
        shard: homeShard(shopperId, 2),
      });
    }
    // An admission is used once.
    expectError(await holdWith(id, tokens[0], joined[0]!.shopper), 403, "admission_used");

    const after = (await metrics(id)).body;
    expect(after).toMatchObject({ reserved: 20, available: 0 });
    expect(after.shards.pool).toBe(0);
    expect(after.queue).toMatchObject({ admitted_unused: 0 });
    expect(after.invariants).toMatchObject({ ok: true, violations: [] });
  });

  it("a unit freed on a shard goes back to the pool and admits the next in line; sold out reaches every ticket", async () => {
    const id = await newProduct(2);
    expect((await patchProduct(id, { shards: 2, queue: QUEUE })).status).toBe(200);
    const joined = await line(id, 4);
    const tokens = [];
    for (const j of joined.slice(0, 2)) {
      const s = (await poll(j.ticket, j.shopper)).body;
      expect(s.state).toBe("admitted");
      tokens.push(s.admission_token as string);
    }
    const a = await holdWith(id, tokens[0], joined[0]!.shopper);
    const b = await holdWith(id, tokens[1], joined[1]!.shopper);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect((await poll(joined[2]!.ticket, joined[2]!.shopper)).body.state).toBe("waiting");

    // A releases: the unit is free on A's shard, which gives it back to the pool by its alarm.
    expect((await release(a.body.hold_id, joined[0]!.shopper)).status).toBe(200);
    await runShardAlarms(id, 2);
    await vi.waitFor(async () => {
      expect((await poll(joined[2]!.ticket, joined[2]!.shopper)).body.state).toBe("admitted");
    });
    const c = await holdWith(
      id,
      (await poll(joined[2]!.ticket, joined[2]!.shopper)).body.admission_token,
      joined[2]!.shopper,
    );
    expect(c.status, JSON.stringify(c.body)).toBe(201);

    // Both remaining holds are paid: every shard says it has nothing left, and the last in
    // line is told sold out, not left waiting.
    for (const [h, shopper] of [
      [b.body, joined[1]!.shopper],
      [c.body, joined[2]!.shopper],
    ] as const) {
      const o = await order(h.hold_id, shopper);
      expect(o.status).toBe(201);
      const paid = await paySuccess(o.body.order_id);
      expect(paid.body.order_status).toBe("paid");
    }
    await runShardAlarms(id, 2);
    await vi.waitFor(async () => {
      expect((await poll(joined[3]!.ticket, joined[3]!.shopper)).body.state).toBe("sold_out");
    });
    const m = (await metrics(id)).body;
    expect(m).toMatchObject({ sold: 2, reserved: 0 });
    expect(m.shards.sold_out_certified).toBe(true);
    expect(m.invariants).toMatchObject({ ok: true, violations: [] });
  });

  it("one admission sent with many holds at once makes one hold; the others are 403 admission_used", async () => {
    const id = await newProduct(5);
    expect((await patchProduct(id, { shards: 2, queue: QUEUE })).status).toBe(200);
    const [me] = await line(id, 1);
    const token = (await poll(me!.ticket, me!.shopper)).body.admission_token as string;
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        holdWith(id, token, { ...me!.shopper, "idempotency-key": `same-admission-${id}-${i}` }),
      ),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, 403, 403, 403, 403, 403]);
    for (const a of answers.filter((a) => a.status === 403)) {
      expect(a.body.error.code).toBe("admission_used");
    }
    // Units granted for the refused ones go back to the pool; nothing is made or lost.
    await runShardAlarms(id, 2);
    const m = (await metrics(id)).body;
    expect(m).toMatchObject({ reserved: 1, available: 4 });
    expect(m.invariants).toMatchObject({ ok: true, violations: [] });
  });

  it("a redemption whose answer was lost is redeemed again under the same hold id, the admission counted once", async () => {
    const id = await newProduct(3);
    expect((await patchProduct(id, { shards: 2, queue: QUEUE })).status).toBe(200);
    const shopperId = newShopper("lost");
    const k = homeShard(shopperId, 2);
    const joined = await productObject(id).joinQueue({ productId: id, requestId: "t", shopperId });
    if (!joined.ok) throw new Error(joined.message);
    const reported = await shardObject(id, k).reportUnits({
      productId: id,
      requestId: "t",
      shard: k,
    });
    if (!reported.ok) throw new Error(reported.message);
    const admission = {
      seq: joined.seq,
      expiresAt: Date.now() + 60_000,
      shopperId,
      holdId: newHoldId(id, k),
    };
    const redeem = (holdId: string) =>
      productObject(id).borrowUnits({
        productId: id,
        requestId: "t",
        from: k,
        request: { report: reported.report, need: 1, want: 0, admission: { ...admission, holdId } },
      });
    const first = await redeem(admission.holdId);
    const again = await redeem(newHoldId(id, k));
    expect(first).toMatchObject({ ok: true, granted: 1, holdId: admission.holdId });
    expect(again).toMatchObject({ ok: true, granted: 1, holdId: admission.holdId });
    // Someone else's use of the same admission is still refused.
    const stranger = await productObject(id).borrowUnits({
      productId: id,
      requestId: "t",
      from: k,
      request: {
        report: reported.report,
        need: 1,
        want: 0,
        admission: { ...admission, shopperId: newShopper(), holdId: newHoldId(id, k) },
      },
    });
    expect(stranger).toMatchObject({ ok: false, code: "admission_used" });
    // The units granted twice are the shard's, then the pool's again: nothing made or lost.
    await runShardAlarms(id, 2);
    await runDurableObjectAlarm(productObject(id));
    const m = (await metrics(id)).body;
    expect(m.queue).toMatchObject({ admitted_unused: 0 });
    expect(m.invariants).toMatchObject({ ok: true, violations: [] });
  });
});

describe("late payments on a sharded product", () => {
  it("accept_if_available borrows the units from the pool when the order's shard has none", async () => {
    const id = await newProduct(3);
    await patchProduct(id, { shards: 2, late_payments: "accept_if_available" });
    const shopper = newShopper("late");
    const late = await pendingOrder(id, 1, as(shopper));
    expect((await cancel(late.order_id, as(shopper))).status).toBe(200);
    // A change of N gathers every free unit back in the pool: the order's shard has none left.
    expect((await patchProduct(id, { shards: 3 })).status).toBe(200);
    const pool = (await metrics(id)).body.shards;
    expect(pool.pool).toBe(3);

    const paid = await paySuccess(late.order_id);
    expect(paid.body).toMatchObject({ order_status: "paid", paid_late: true });
    const m = (await metrics(id)).body;
    expect(m).toMatchObject({ sold: 1, refunds: { due: 0 } });
    expect(m.invariants).toMatchObject({ ok: true, violations: [] });
  });

  it("with the queue on, a late payment never takes a unit an admitted shopper is counting on", async () => {
    const id = await newProduct(2);
    await patchProduct(id, { shards: 2, late_payments: "accept_if_available" });
    const shopper = newShopper("late");
    const late = await pendingOrder(id, 1, as(shopper));
    expect((await cancel(late.order_id, as(shopper))).status).toBe(200);
    expect((await patchProduct(id, { queue: QUEUE })).status).toBe(200);
    const admitted = await line(id, 2);
    for (const a of admitted) expect((await poll(a.ticket, a.shopper)).body.state).toBe("admitted");

    const paid = await paySuccess(late.order_id);
    expect(paid.body).toMatchObject({ order_status: "cancelled", ignored: true });
    const m = (await metrics(id)).body;
    expect(m).toMatchObject({ sold: 0, refunds: { due: 1 } });
    // Both admitted shoppers still get their unit.
    for (const a of admitted) {
      const token = (await poll(a.ticket, a.shopper)).body.admission_token;
      expect((await holdWith(id, token, a.shopper)).status).toBe(201);
    }
    expect((await metrics(id)).body.invariants).toMatchObject({ ok: true, violations: [] });
  });
});
