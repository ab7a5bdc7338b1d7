// The classic design's checkout, one SQL round trip per Eloquent call: each write is a transaction
// that locks the row it changes with SELECT … FOR UPDATE, checks, writes and commits.
import { randomUUID } from "node:crypto";
import { Refusal, transaction } from "./transaction.mjs";

const HOLD_TTL_SECONDS = 120;
const PAYMENT_TTL_SECONDS = 900;

const productView = (p) => ({
  id: Number(p.id),
  name: p.name,
  price_cents: p.price_cents,
  currency: p.currency,
  stock: p.stock,
  reserved: p.reserved,
  available: p.stock - p.reserved,
});

const holdView = (h) => ({
  hold_id: h.id,
  product_id: Number(h.product_id),
  qty: h.qty,
  expires_at: h.expires_at.toISOString(),
});

const orderView = (o) => ({
  order_id: o.id,
  hold_id: o.hold_id,
  product_id: Number(o.product_id),
  qty: o.qty,
  status: o.status,
  amount_cents: o.amount_cents,
  currency: o.currency,
  created_at: o.created_at.toISOString(),
  pay_by: o.pay_by.toISOString(),
  updated_at: o.updated_at.toISOString(),
});

/** @param {import("pg").Pool} pool */
export function checkout(pool) {
  return {
    async createProduct({ id, name, price_cents, currency, stock }) {
      const { rows } = await pool.query(
        `INSERT INTO products (id, name, price_cents, currency, stock) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO NOTHING RETURNING *`,
        [id, name, price_cents, currency, stock],
      );
      if (rows.length === 0)
        throw new Refusal(409, "product_exists", `Product ${id} already exists.`);
      return productView(rows[0]);
    },

    async product(id) {
      const { rows } = await pool.query("SELECT * FROM products WHERE id = $1", [id]);
      if (rows.length === 0) throw new Refusal(404, "product_not_found", `No product ${id}.`);
      return productView(rows[0]);
    },

    /** Lock the product row, check stock - reserved, insert the hold, bump reserved, commit. */
    hold(productId, qty, idempotencyKey) {
      return transaction(pool, async (db) => {
        const { rows } = await db.query("SELECT * FROM products WHERE id = $1 LIMIT 1 FOR UPDATE", [
          productId,
        ]);
        const product = rows[0];
        if (!product) throw new Refusal(404, "product_not_found", `No product ${productId}.`);
        if (idempotencyKey) {
          const earlier = await db.query("SELECT * FROM holds WHERE idempotency_key = $1", [
            idempotencyKey,
          ]);
          if (earlier.rows[0]) return { hold: holdView(earlier.rows[0]), replayed: true };
        }
        const available = product.stock - product.reserved;
        if (available < qty)
          throw new Refusal(
            409,
            "insufficient_stock",
            `Only ${available} unit(s) available, ${qty} requested.`,
          );
        const inserted = await db.query(
          `INSERT INTO holds (id, product_id, qty, status, expires_at, idempotency_key)
           VALUES ($1, $2, $3, 'active', now() + make_interval(secs => $4), $5) RETURNING *`,
          [randomUUID(), productId, qty, HOLD_TTL_SECONDS, idempotencyKey ?? null],
        );
        await db.query(
          "UPDATE products SET reserved = reserved + $1, updated_at = now() WHERE id = $2",
          [qty, productId],
        );
        return { hold: holdView(inserted.rows[0]), replayed: false };
      });
    },

    /** Lock the hold, check it is active and unexpired, create the order, mark the hold ordered. */
    order(holdId) {
      return transaction(pool, async (db) => {
        const { rows } = await db.query("SELECT * FROM holds WHERE id = $1 LIMIT 1 FOR UPDATE", [
          holdId,
        ]);
        const hold = rows[0];
        if (!hold) throw new Refusal(404, "hold_not_found", `No hold ${holdId}.`);
        if (hold.status === "ordered") {
          const existing = await db.query("SELECT * FROM orders WHERE hold_id = $1", [holdId]);
          return { order: orderView(existing.rows[0]), created: false };
        }
        if (hold.status === "expired" || hold.expires_at <= new Date())
          throw new Refusal(410, "hold_expired", `Hold ${holdId} expired.`);
        const product = (
          await db.query("SELECT * FROM products WHERE id = $1 LIMIT 1", [hold.product_id])
        ).rows[0];
        const inserted = await db.query(
          `INSERT INTO orders (id, hold_id, product_id, qty, amount_cents, currency, status, pay_by)
           VALUES ($1, $2, $3, $4, $5, $6, 'pending', now() + make_interval(secs => $7)) RETURNING *`,
          [
            randomUUID(),
            hold.id,
            hold.product_id,
            hold.qty,
            hold.qty * product.price_cents,
            product.currency,
            PAYMENT_TTL_SECONDS,
          ],
        );
        await db.query("UPDATE holds SET status = 'ordered', updated_at = now() WHERE id = $1", [
          hold.id,
        ]);
        return { order: orderView(inserted.rows[0]), created: true };
      });
    },

    /**
     * Lock the order, record the idempotency key (its unique constraint makes a repeat a no-op),
     * lock the product, then deduct stock (success) or release the units (failure).
     */
    payment({ idempotencyKey, orderId, status }) {
      return transaction(pool, async (db) => {
        const order = (
          await db.query("SELECT * FROM orders WHERE id = $1 LIMIT 1 FOR UPDATE", [orderId])
        ).rows[0];
        if (!order) throw new Refusal(404, "order_not_found", `No order ${orderId}.`);
        const orderStatus =
          order.status !== "pending" ? order.status : status === "success" ? "paid" : "failed";
        const key = await db.query(
          `INSERT INTO payment_webhooks (idempotency_key, order_id, status, order_status) VALUES ($1, $2, $3, $4)
           ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key`,
          [idempotencyKey, orderId, status, orderStatus],
        );
        if (key.rows.length === 0) {
          const seen = (
            await db.query("SELECT * FROM payment_webhooks WHERE idempotency_key = $1", [
              idempotencyKey,
            ])
          ).rows[0];
          if (seen.order_id !== orderId || seen.status !== status) {
            throw new Refusal(
              409,
              "idempotency_key_reused",
              `Idempotency key ${idempotencyKey} was already used.`,
            );
          }
          return { order_id: orderId, order_status: seen.order_status, duplicate: true };
        }
        if (order.status !== "pending")
          return { order_id: orderId, order_status: order.status, duplicate: false, ignored: true };
        await db.query("SELECT id FROM products WHERE id = $1 LIMIT 1 FOR UPDATE", [
          order.product_id,
        ]);
        if (status === "success") {
          await db.query(
            "UPDATE products SET stock = stock - $1, reserved = reserved - $1, sold = sold + $1, updated_at = now() WHERE id = $2",
            [order.qty, order.product_id],
          );
        } else {
          await db.query(
            "UPDATE products SET reserved = reserved - $1, updated_at = now() WHERE id = $2",
            [order.qty, order.product_id],
          );
        }
        await db.query("UPDATE orders SET status = $1, updated_at = now() WHERE id = $2", [
          orderStatus,
          orderId,
        ]);
        return { order_id: orderId, order_status: orderStatus, duplicate: false };
      });
    },

    /** The same invariant check as ours: counters against the rows. */
    async metrics(id) {
      const product = (await pool.query("SELECT * FROM products WHERE id = $1", [id])).rows[0];
      if (!product) throw new Refusal(404, "product_not_found", `No product ${id}.`);
      const count = async (sql) =>
        Object.fromEntries((await pool.query(sql, [id])).rows.map((r) => [r["k"], Number(r["n"])]));
      const holds = await count(
        "SELECT status AS k, COUNT(*) AS n FROM holds WHERE product_id = $1 GROUP BY status",
      );
      const orders = await count(
        "SELECT status AS k, COUNT(*) AS n FROM orders WHERE product_id = $1 GROUP BY status",
      );
      const sums = (
        await pool.query(
          `SELECT (SELECT COALESCE(SUM(qty), 0) FROM holds WHERE product_id = $1 AND status = 'active') AS held,
                  (SELECT COALESCE(SUM(qty), 0) FROM orders WHERE product_id = $1 AND status = 'pending') AS pending,
                  (SELECT COALESCE(SUM(qty), 0) FROM orders WHERE product_id = $1 AND status = 'paid') AS paid`,
          [id],
        )
      ).rows[0];
      const violations = [];
      if (product.reserved < 0 || product.reserved > product.stock)
        violations.push(`reserved ${product.reserved} outside 0..stock ${product.stock}`);
      if (product.reserved !== Number(sums.held) + Number(sums.pending)) {
        violations.push(
          `reserved ${product.reserved} != active holds ${sums.held} + pending orders ${sums.pending}`,
        );
      }
      if (product.sold !== Number(sums.paid))
        violations.push(`sold ${product.sold} != paid orders ${sums.paid}`);
      return {
        product_id: Number(product.id),
        stock: product.stock,
        reserved: product.reserved,
        available: product.stock - product.reserved,
        sold: product.sold,
        holds: {
          active: holds.active ?? 0,
          ordered: holds.ordered ?? 0,
          expired: holds.expired ?? 0,
        },
        orders: {
          pending: orders.pending ?? 0,
          paid: orders.paid ?? 0,
          failed: orders.failed ?? 0,
          cancelled: orders.cancelled ?? 0,
        },
        invariants: { ok: violations.length === 0, violations },
      };
    },
  };
}
