import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import Stripe from "stripe";
import { describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { CatalogueCache } from "../src/catalogue/catalogue";
import type { ProductObject } from "../src/product/product-object";
import {
  ADMIN,
  as,
  call,
  expectError,
  logLines,
  newProduct,
  newShopper,
  productObject,
  signatureHeaders,
  uniqueKey,
  type CallOptions,
} from "./helpers";

const STRIPE_SECRET = "whsec_test_stripe_outage_secret_0123456789";
const cryptoProvider = Stripe.createSubtleCryptoProvider();

/** A D1 that fails every statement, as an outage does: reads, writes and batches. */
const failing = (): D1Database => {
  const fail = () => Promise.reject(new Error("D1_ERROR: simulated outage (network lost)"));
  const statement = { bind: () => statement, first: fail, run: fail, all: fail, raw: fail };
  return { prepare: () => statement, batch: fail, exec: fail } as unknown as D1Database;
};

/** Give the object (this instance of it) another D1. */
const objectDb = (id: number, db: D1Database) =>
  runInDurableObject(productObject(id), (instance: ProductObject) => {
    (instance as unknown as { env: typeof env }).env = { ...env, DB: db };
  });

const historyOf = (orderId: string) =>
  env.DB.prepare("SELECT status, needs_refund FROM orders WHERE order_id = ?")
    .bind(orderId)
    .first();

function travelTo(at: number) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
}

describe("a D1 outage never stops a sale", () => {
  it("holds, orders, both webhooks, expiry and a restart all work while D1 fails; history catches up", async () => {
    const id = await newProduct(5, 2_500);
    // A new isolate that never read the catalogue: every lookup fails, the object answers.
    const app = createApp({ catalogue: new CatalogueCache() });
    const down: CallOptions = {
      app,
      vars: { DB: failing(), STRIPE_WEBHOOK_SECRET: STRIPE_SECRET },
    };
    await objectDb(id, failing());
    // The clock runs ahead of the runtime's, so no alarm fires on its own: the test runs them.
    let now = Date.now() + 3_600_000;
    travelTo(now);
    const errors = vi.spyOn(console, "error");

    const shop = async (shopper: Record<string, string>) => {
      const h = await call("POST", "/api/holds", {
        ...down,
        json: { product_id: id, qty: 1 },
        headers: shopper,
      });
      expect(h.status, JSON.stringify(h.body)).toBe(201);
      const o = await call("POST", "/api/orders", {
        ...down,
        json: { hold_id: h.body.hold_id },
        headers: shopper,
      });
      expect(o.status, JSON.stringify(o.body)).toBe(201);
      return o.body as { order_id: string; pay_by: string };
    };
    const generic = (orderId: string) => {
      const body = JSON.stringify({
        idempotency_key: uniqueKey("outage"),
        order_id: orderId,
        status: "success",
        amount_cents: 2_500,
        currency: "EUR",
      });
      return call("POST", "/api/payments/webhook", {
        ...down,
        body,
        headers: signatureHeaders(body, { at: new Date(now) }),
      });
    };
    const stripe = async (orderId: string) => {
      const payload = JSON.stringify({
        id: `evt_outage_${crypto.randomUUID()}`,
        object: "event",
        type: "payment_intent.succeeded",
        created: Math.floor(now / 1000),
        data: {
          object: {
            object: "payment_intent",
            id: `pi_${crypto.randomUUID()}`,
            amount: 2_500,
            amount_received: 2_500,
            currency: "eur",
            metadata: { order_id: orderId },
          },
        },
      });
      const signature = await Stripe.webhooks.generateTestHeaderStringAsync({
        payload,
        secret: STRIPE_SECRET,
        timestamp: Math.floor(now / 1000),
        cryptoProvider,
      });
      return call("POST", "/api/payments/stripe", {
        ...down,
        body: payload,
        headers: { "content-type": "application/json", "stripe-signature": signature },
      });
    };

    const alice = as(newShopper("alice"));
    const bob = as(newShopper("bob"));
    const carol = as(newShopper("carol"));
    const dave = as(newShopper("dave"));
    const paidGeneric = await shop(alice);
    const paidStripe = await shop(bob);
    const unpaid = await shop(carol);
    expect((await generic(paidGeneric.order_id)).body).toMatchObject({ order_status: "paid" });
    expect((await stripe(paidStripe.order_id)).body).toMatchObject({
      payment: { order_status: "paid" },
    });

    // The object restarts in the middle of the sale; D1 is still down for it afterwards.
    await evictDurableObject(productObject(id));
    await objectDb(id, failing());
    const afterRestart = await shop(dave);
    expect((await stripe(afterRestart.order_id)).body).toMatchObject({
      payment: { order_status: "paid" },
    });
    // The shopper's own reads and releases work too.
    const read = await call("GET", `/api/orders/${paidGeneric.order_id}`, {
      ...down,
      headers: alice,
    });
    expect(read.body).toMatchObject({ status: "paid" });

    // Carol never pays: her order's window closes while D1 is still down, and her unit comes back.
    now = Date.parse(unpaid.pay_by) + 1;
    travelTo(now);
    await runDurableObjectAlarm(productObject(id));
    const during = await call("GET", `/api/admin/products/${id}/metrics?check=full`, {
      ...down,
      headers: ADMIN,
    });
    expect(during.body).toMatchObject({
      stock: 2,
      reserved: 0,
      sold: 3,
      orders: { paid: 3, cancelled: 1, pending: 0 },
      refunds: { due: 0 },
      invariants: { ok: true },
    });
    expect(during.body.history_outbox_backlog).toBeGreaterThan(0);
    expect(await historyOf(paidGeneric.order_id)).toBeNull();
    // The Worker said why it could not read D1, and who answered instead.
    expect(logLines(errors, "Product catalogue unavailable.")).toEqual([]);
    const health = await call("GET", "/healthz", down);
    expect(health.body.catalogue.read_failures).toBeGreaterThan(0);
    expect(health.body.catalogue.answered_by_object).toBeGreaterThan(0);

    // D1 comes back: the history copies once the backoff has passed.
    await objectDb(id, env.DB);
    now += 120_000;
    travelTo(now);
    await runDurableObjectAlarm(productObject(id));
    vi.useRealTimers();
    await vi.waitFor(async () => {
      expect(await historyOf(paidGeneric.order_id)).toEqual({ status: "paid", needs_refund: 0 });
    });
    expect(await historyOf(paidStripe.order_id)).toEqual({ status: "paid", needs_refund: 0 });
    expect(await historyOf(afterRestart.order_id)).toEqual({ status: "paid", needs_refund: 0 });
    expect(await historyOf(unpaid.order_id)).toEqual({ status: "cancelled", needs_refund: 0 });
    const refunds = await env.DB.prepare("SELECT COUNT(*) AS n FROM refunds WHERE product_id = ?")
      .bind(id)
      .first<{ n: number }>();
    expect(refunds?.n).toBe(0);
  });

  it("serves an entry read before while D1 fails, logged and counted", async () => {
    const id = await newProduct(3);
    const catalogue = new CatalogueCache(1_000);
    const app = createApp({ catalogue });
    expect((await call("GET", `/api/products/${id}`, { app })).status).toBe(200);
    travelTo(Date.now() + 2_000); // the entry is no longer fresh
    const warnings = vi.spyOn(console, "warn");
    const calls: string[] = [];
    const stubFor = (e: Cloudflare.Env, productId: number) => {
      const stub = env.PRODUCTS.getByName(String(productId));
      return new Proxy(stub, {
        get: (target, name) => {
          if (name === "readCatalogueEntry") calls.push(String(name));
          return Reflect.get(target, name) as unknown;
        },
      });
    };
    const staleApp = createApp({ catalogue, stubFor });
    const h = await call("POST", "/api/holds", {
      app: staleApp,
      vars: { DB: failing() },
      json: { product_id: id, qty: 1 },
    });
    expect(h.status, JSON.stringify(h.body)).toBe(201);
    expect(calls).toEqual([]); // the stale entry answered; the object was not asked
    expect(catalogue.outage).toMatchObject({ readFailures: 1, servedStale: 1 });
    expect(
      logLines(warnings, "Product catalogue unavailable, serving the entry read before."),
    ).toHaveLength(1);
  });

  it("an object that never opened its product answers no entry and writes nothing: 503, not 404", async () => {
    // A product in the catalogue whose object has never been woken (created straight in D1).
    const id = 2_050_000_000 + Math.floor(Math.random() * 10_000_000);
    const app = createApp({ catalogue: new CatalogueCache() });
    const res = await call("POST", "/api/holds", {
      app,
      vars: { DB: failing() },
      json: { product_id: id, qty: 1 },
    });
    expectError(res, 503, "service_unavailable");
    const answer = await productObject(id).readCatalogueEntry({ productId: id, requestId: "t" });
    expect(answer).toMatchObject({ ok: false, code: "product_not_found" });
    const tables = await runInDurableObject(productObject(id), (_, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master").toArray(),
    );
    expect(tables).toEqual([]);
  });
});
