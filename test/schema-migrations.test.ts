import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SCHEMA_VERSION } from "../src/product/migrations";
import { SCHEMA_V1 } from "./fixtures/schema-v1";
import { getProduct, metrics, order, productObject, release, webhook } from "./helpers";

const hex = () => crypto.randomUUID().replaceAll("-", "");

describe("the object's SQLite schema", () => {
  it("an object made with the first release's schema is upgraded in place, its data intact", async () => {
    const id = 2_050_000_000 + Math.floor(Math.random() * 40_000_000);
    await env.DB.prepare(
      "INSERT INTO products (id, name, price_cents, currency, initial_stock) VALUES (?, 'Old', 700, 'EUR', 12)",
    )
      .bind(id)
      .run();
    const now = Date.now();
    const activeHold = `hld_${id}_${hex()}`;
    const orderedHold = `hld_${id}_${hex()}`;
    const paidHold = `hld_${id}_${hex()}`;
    const pending = `ord_${id}_${hex()}`;
    const paid = `ord_${id}_${hex()}`;

    // What the first release left on disk: 12 units, 2 sold, 1 held, 2 in a pending order.
    const stub = productObject(id);
    await runInDurableObject(stub, (_, state) => {
      const sql = state.storage.sql;
      sql.exec(SCHEMA_V1);
      sql.exec(
        `INSERT INTO product (id, name, price_cents, currency, initial_stock, stock, reserved, sold)
         VALUES (?, 'Old', 700, 'EUR', 12, 10, 3, 2)`,
        id,
      );
      const insertHold = `INSERT INTO holds (hold_id, qty, status, created_at, expires_at, idempotency_key, order_id)
                          VALUES (?, ?, ?, ?, ?, ?, ?)`;
      sql.exec(insertHold, activeHold, 1, "active", now, now + 600_000, "key-a", null);
      sql.exec(insertHold, orderedHold, 2, "ordered", now, now + 600_000, null, pending);
      sql.exec(insertHold, paidHold, 2, "ordered", now, now + 600_000, null, paid);
      const insertOrder = `INSERT INTO orders (order_id, hold_id, qty, amount_cents, currency, status, created_at, pay_by, updated_at)
                           VALUES (?, ?, ?, ?, 'EUR', ?, ?, ?, ?)`;
      sql.exec(insertOrder, pending, orderedHold, 2, 1_400, "pending", now, now + 900_000, now);
      sql.exec(insertOrder, paid, paidHold, 2, 1_400, "paid", now, now + 900_000, now);
      sql.exec(
        `INSERT INTO webhook_keys (idempotency_key, order_id, payment_status, order_status, ignored, received_at)
         VALUES ('evt-old', ?, 'success', 'paid', 0, ?)`,
        paid,
        now,
      );
      const event = {
        event: "order_paid",
        order: {
          order_id: paid,
          hold_id: paidHold,
          qty: 2,
          amount_cents: 1_400,
          currency: "EUR",
          status: "paid",
          created_at: now,
          pay_by: now + 900_000,
          updated_at: now,
          needs_refund: 0,
        },
      };
      sql.exec("INSERT INTO outbox (payload) VALUES (?)", JSON.stringify(event));
    });

    // New code starts the object: the migrations run before it answers anything.
    await evictDurableObject(stub);
    expect((await getProduct(id)).body).toMatchObject({ stock: 10, reserved: 3, available: 7 });
    const version = await runInDurableObject(stub, (_, state) => ({
      version: state.storage.sql.exec("SELECT version FROM schema_version").one().version,
      holds: state.storage.sql.exec("SELECT COUNT(*) AS n FROM holds").one().n,
    }));
    expect(version).toEqual({ version: SCHEMA_VERSION, holds: 3 });
    expect((await metrics(id)).body).toMatchObject({
      sold: 2,
      holds: { active: 1, ordered: 2 },
      orders: { pending: 1, paid: 1 },
      invariants: { ok: true, checked: "full", violations: [] },
    });

    // Old rows work under the new rules: a hold made before prices were kept is ordered at the
    // product's price, a hold can be released, an old key is still a duplicate.
    const released = await release(activeHold);
    expect(released.body).toMatchObject({ status: "released" });
    expect(
      (await webhook({ idempotency_key: "evt-old", order_id: paid, status: "success" })).body,
    ).toMatchObject({
      duplicate: true,
    });
    const paidNow = await webhook({
      idempotency_key: "evt-new",
      order_id: pending,
      status: "success",
    });
    expect(paidNow.body).toMatchObject({ order_status: "paid", duplicate: false });
    expect((await getProduct(id)).body).toMatchObject({ stock: 8, reserved: 0, available: 8 });

    // The old outbox event reaches D1 with the new columns.
    await runDurableObjectAlarm(stub);
    const row = await env.DB.prepare("SELECT status, shopper_id FROM orders WHERE order_id = ?")
      .bind(paid)
      .first();
    expect(row).toEqual({ status: "paid", shopper_id: null });
    expect(await order(activeHold)).toMatchObject({ status: 410 });
  });
});
