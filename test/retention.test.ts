import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { ProductObject } from "../src/product/product-object";
import { SLICE } from "../src/product/retention";
import {
  ADMIN,
  as,
  call,
  expectError,
  hold,
  metrics,
  newProduct,
  newShopper,
  pendingOrder,
  productObject,
  readOrder,
  release,
  uniqueKey,
  webhook,
} from "./helpers";

const DAY = 86_400_000;

function travelTo(at: number) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
}

const rowCounts = (productId: number) =>
  runInDurableObject(productObject(productId), (_, state) => {
    const n = (table: string) =>
      state.storage.sql.exec(`SELECT COUNT(*) AS n FROM ${table}`).one().n;
    return {
      holds: n("holds"),
      orders: n("orders"),
      webhook_keys: n("webhook_keys"),
      refunds: n("refunds"),
    };
  });

/** Run alarms until retention has nothing more to delete now. */
async function drainRetention(productId: number): Promise<number> {
  let runs = 0;
  let before = -1;
  for (;;) {
    const counts = await rowCounts(productId);
    const total = Object.values(counts).reduce((a, b) => Number(a) + Number(b), 0) as number;
    if (total === before) return runs;
    before = total;
    vi.setSystemTime(Date.now() + 1_001);
    await runDurableObjectAlarm(productObject(productId));
    runs++;
  }
}

describe("retention (RETENTION_DAYS, 30 by default)", () => {
  it("deletes closed holds, final orders, keys and resolved refunds once old and in D1; keeps what is live", async () => {
    const id = await newProduct(50, 100);
    const shopper = as(newShopper());
    const paid = await pendingOrder(id, 1, shopper);
    await webhook({
      idempotency_key: "evt-retention-1",
      order_id: paid.order_id,
      status: "success",
      payment_id: "pi_kept",
    } as never);
    const failed = await pendingOrder(id, 1);
    await webhook({ idempotency_key: uniqueKey(), order_id: failed.order_id, status: "failure" });
    const released = (await hold(id, 1)).body;
    await release(released.hold_id);
    // A refund resolved, and one still due.
    await webhook({
      idempotency_key: uniqueKey(),
      order_id: paid.order_id,
      status: "success",
      payment_id: "pi_2",
    } as never);
    await webhook({
      idempotency_key: uniqueKey(),
      order_id: paid.order_id,
      status: "success",
      payment_id: "pi_3",
    } as never);
    await vi.waitFor(async () => expect((await metrics(id)).body.history_outbox_backlog).toBe(0));
    const refunds = (await call("GET", `/api/admin/refunds?product_id=${id}`, { headers: ADMIN }))
      .body.refunds;
    await call("POST", `/api/admin/refunds/${refunds[0].refund_id}/resolve`, {
      headers: ADMIN,
      json: { note: "refunded" },
    });
    await vi.waitFor(async () => expect((await metrics(id)).body.history_outbox_backlog).toBe(0));

    // 31 days on, something still live: a new pending order and an active hold.
    travelTo(Date.now() + 31 * DAY);
    const live = await pendingOrder(id, 1);
    const active = (await hold(id, 1)).body;
    await drainRetention(id);

    expect(await rowCounts(id)).toEqual({ holds: 2, orders: 1, webhook_keys: 0, refunds: 1 });
    expect((await readOrder(live.order_id)).body.status).toBe("pending");
    expectError(await readOrder(paid.order_id, shopper), 404, "order_not_found");
    expect((await release(active.hold_id)).body.status).toBe("released");
    const m = (await metrics(id)).body;
    expect(m).toMatchObject({
      sold: 1,
      refunds: { due: 1, resolved: 1 },
      invariants: { ok: true, violations: [] },
    });
    // D1 keeps the history.
    const row = await env.DB.prepare("SELECT status, payment_id FROM orders WHERE order_id = ?")
      .bind(paid.order_id)
      .first();
    expect(row).toEqual({ status: "paid", payment_id: "pi_kept" });
    // Paid units still count against the shopper's limit (2 by default).
    expect((await hold(id, 1, shopper)).status).toBe(201);
    expectError(await hold(id, 1, shopper), 409, "shopper_limit_reached");
  });

  it("a webhook key that comes back after retention is new; the order's state still stops a second deduction", async () => {
    const id = await newProduct(10);
    const o = await pendingOrder(id, 1);
    const paid = {
      idempotency_key: "evt-aged-key",
      order_id: o.order_id,
      status: "success",
      payment_id: "pi_once",
    };
    expect((await webhook(paid as never)).body.order_status).toBe("paid");
    // Age only the key (an order and its key normally age together; see the next test).
    await runInDurableObject(productObject(id), (_, state) => {
      state.storage.sql.exec(
        "UPDATE webhook_keys SET received_at = received_at - ? WHERE idempotency_key = ?",
        31 * DAY,
        "evt-aged-key",
      );
    });
    await vi.waitFor(async () => expect((await metrics(id)).body.history_outbox_backlog).toBe(0));
    // A restart, so the object plans retention from its rows again.
    await evictDurableObject(productObject(id));
    travelTo(Date.now() + 2 * DAY);
    await drainRetention(id);
    expect((await rowCounts(id)).webhook_keys).toBe(0);
    const redelivered = await webhook(paid);
    expect(redelivered.body).toMatchObject({ order_status: "paid", duplicate: true });
    expect((await metrics(id)).body).toMatchObject({
      sold: 1,
      refunds_required: 0,
      invariants: { ok: true },
    });
  });

  it("a deleted order leaves a tombstone: a late success still becomes a refund record, its own payment a duplicate", async () => {
    const id = await newProduct(10, 700);
    const paid = await pendingOrder(id, 1);
    const cancelled = await pendingOrder(id, 2);
    await webhook({
      idempotency_key: uniqueKey(),
      order_id: paid.order_id,
      status: "success",
      payment_id: "pi_paid",
    } as never);
    await call("POST", `/api/orders/${cancelled.order_id}/cancel`);
    await vi.waitFor(async () => expect((await metrics(id)).body.history_outbox_backlog).toBe(0));
    travelTo(Date.now() + 31 * DAY);
    await drainRetention(id);
    expect((await rowCounts(id)).orders).toBe(0);
    const tombstones = await runInDurableObject(productObject(id), (_, state) =>
      state.storage.sql
        .exec(
          "SELECT order_id, status, payment_id, amount_cents, currency FROM order_tombstones ORDER BY amount_cents",
        )
        .toArray(),
    );
    expect(tombstones).toEqual([
      {
        order_id: paid.order_id,
        status: "paid",
        payment_id: "pi_paid",
        amount_cents: 700,
        currency: "EUR",
      },
      {
        order_id: cancelled.order_id,
        status: "cancelled",
        payment_id: null,
        amount_cents: 1_400,
        currency: "EUR",
      },
    ]);

    // A gateway redelivers the payment that paid it (new key): a duplicate, no refund.
    const again = await webhook({
      idempotency_key: uniqueKey(),
      order_id: paid.order_id,
      status: "success",
      payment_id: "pi_paid",
    } as never);
    expect(again.body).toMatchObject({ order_status: "paid", duplicate: true });
    // A success for the cancelled order, long after: the money goes back.
    const late = await webhook({
      idempotency_key: uniqueKey(),
      order_id: cancelled.order_id,
      status: "success",
      payment_id: "pi_late",
    } as never);
    expect(late.status).toBe(200);
    expect(late.body).toMatchObject({ order_status: "cancelled", ignored: true });
    const refunds = await runInDurableObject(productObject(id), (_, state) =>
      state.storage.sql
        .exec("SELECT order_id, amount_cents, payment_id, reason, status FROM refunds")
        .toArray(),
    );
    expect(refunds).toEqual([
      {
        order_id: cancelled.order_id,
        amount_cents: 1_400,
        payment_id: "pi_late",
        reason: "late_payment",
        status: "due",
      },
    ]);
    // Stock is untouched by either.
    expect((await metrics(id)).body).toMatchObject({
      stock: 9,
      sold: 1,
      reserved: 0,
      invariants: { ok: true },
    });

    // Tombstones last at least 400 days, then go too.
    travelTo(Date.now() + 300 * DAY);
    await drainRetention(id);
    const kept = () =>
      runInDurableObject(
        productObject(id),
        (_, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM order_tombstones").one().n,
      );
    expect(await kept()).toBe(2);
    travelTo(Date.now() + 101 * DAY);
    await runDurableObjectAlarm(productObject(id));
    await vi.waitFor(async () => {
      vi.setSystemTime(Date.now() + 1_001);
      await runDurableObjectAlarm(productObject(id));
      expect(await kept()).toBe(0);
    });
  });

  it("a dead letter holds back only the order it is about; retention of every other row goes on", async () => {
    const id = await newProduct(10);
    const stuck = await pendingOrder(id, 1);
    await webhook({ idempotency_key: uniqueKey(), order_id: stuck.order_id, status: "failure" });
    await vi.waitFor(async () => expect((await metrics(id)).body.history_outbox_backlog).toBe(0));
    // Park the stuck order's last event as a dead letter, as the flusher does with one D1 refuses.
    await runInDurableObject(productObject(id), (_, state) => {
      const payload = JSON.stringify({
        event: "order_failed",
        order: { order_id: stuck.order_id, status: "failed" },
      });
      state.storage.sql.exec(
        "INSERT INTO dead_letters (seq, payload, appended_at, attempts, error, failed_at) VALUES (?, ?, ?, 5, 'CHECK constraint failed', ?)",
        999_999,
        payload,
        Date.now(),
        Date.now(),
      );
    });
    // Newer orders, closed after the dead letter was parked.
    const later = [];
    for (let i = 0; i < 3; i++) {
      const o = await pendingOrder(id, 1);
      await webhook({ idempotency_key: uniqueKey(), order_id: o.order_id, status: "failure" });
      later.push(o.order_id);
    }
    await vi.waitFor(async () => expect((await metrics(id)).body.history_outbox_backlog).toBe(0));
    travelTo(Date.now() + 31 * DAY);
    await drainRetention(id);
    const left = await runInDurableObject(productObject(id), (_, state) =>
      state.storage.sql.exec("SELECT order_id FROM orders").toArray(),
    );
    expect(left).toEqual([{ order_id: stuck.order_id }]);
  });

  it("waits for D1: nothing that is not in D1 yet is deleted", async () => {
    const id = await newProduct(10);
    const o = await pendingOrder(id, 1);
    await webhook({ idempotency_key: uniqueKey(), order_id: o.order_id, status: "failure" });
    await runInDurableObject(productObject(id), (instance: ProductObject) => {
      const down = {
        prepare: (q: string) => env.DB.prepare(q),
        batch: async () => {
          throw new Error("D1_ERROR: Network connection lost.");
        },
      };
      (instance as unknown as { env: object }).env = { ...env, DB: down };
    });
    await pendingOrder(id, 1); // an event stuck in the outbox, after the failed order's events
    travelTo(Date.now() + 31 * DAY);
    await drainRetention(id);
    // The failed order changed before the stuck event, so it is in D1: deleted. The order whose
    // event is stuck (still pending, and then cancelled by its window) stays until D1 has it.
    expect((await rowCounts(id)).orders).toBe(1);
  });

  it("deletes a little at a time: a slice per alarm, the next one soon after", async () => {
    const id = await newProduct(1_000);
    const holds = await Promise.all(Array.from({ length: SLICE + 20 }, () => hold(id, 1)));
    await Promise.all(holds.map((h) => release(h.body.hold_id)));
    travelTo(Date.now() + 31 * DAY);
    await runDurableObjectAlarm(productObject(id));
    expect((await rowCounts(id)).holds).toBe(20);
    const alarm = await runInDurableObject(productObject(id), (_, state) =>
      state.storage.getAlarm(),
    );
    expect(alarm).toBeLessThanOrEqual(Date.now() + 1_000);
    await drainRetention(id);
    expect((await rowCounts(id)).holds).toBe(0);
    expect((await metrics(id)).body).toMatchObject({
      holds: { released: SLICE + 20 },
      invariants: { ok: true },
    });
  });
});

describe("retention of the queue's and the limit's bookkeeping", () => {
  it("deletes old queue joins and used admissions, and shoppers left with nothing", async () => {
    const id = await newProduct(5);
    await call("PATCH", `/api/admin/products/${id}`, {
      headers: ADMIN,
      json: { queue: { enabled: true } },
    });
    const shopper = as(newShopper());
    const ticket = (await call("POST", `/api/products/${id}/queue`, { headers: shopper })).body;
    const h = await call("POST", "/api/holds", {
      headers: shopper,
      json: { product_id: id, qty: 1, admission_token: ticket.admission_token },
    });
    expect(h.status).toBe(201);
    await release(h.body.hold_id, shopper);
    const count = (table: string) =>
      runInDurableObject(productObject(id), (_, state) =>
        Number(state.storage.sql.exec(`SELECT COUNT(*) AS n FROM ${table}`).one().n),
      );
    expect(await count("queue_shoppers")).toBe(1);
    expect(await count("queue_admissions_used")).toBe(1);
    expect(await count("shopper_units")).toBe(1);
    travelTo(Date.now() + 31 * DAY);
    await drainRetention(id);
    expect(await count("queue_shoppers")).toBe(0);
    expect(await count("queue_admissions_used")).toBe(0);
    expect(await count("shopper_units")).toBe(0);
    expect((await metrics(id)).body.invariants).toMatchObject({ ok: true });
  });
});
