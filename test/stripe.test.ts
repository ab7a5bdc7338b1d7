import Stripe from "stripe";
import { describe, expect, it, vi } from "vitest";
import { runInDurableObject } from "cloudflare:test";
import {
  call,
  getProduct,
  logLines,
  metrics,
  newProduct,
  pendingOrder,
  productObject,
  readOrder,
} from "./helpers";

const SECRET = "whsec_test_stripe_endpoint_secret_0123456789";
const vars = { STRIPE_WEBHOOK_SECRET: SECRET };
const cryptoProvider = Stripe.createSubtleCryptoProvider();
let seq = 0;

/** A Stripe event as Stripe sends it, for a payment intent with our order in its metadata. */
function intentEvent(
  type: string,
  intent: Record<string, unknown>,
  id = `evt_test_${Date.now()}_${++seq}`,
) {
  return JSON.stringify({
    id,
    object: "event",
    api_version: "2026-10-28.clover",
    created: Math.floor(Date.now() / 1000),
    type,
    livemode: false,
    data: { object: { object: "payment_intent", ...intent } },
  });
}

async function deliver(
  payload: string,
  options: { secret?: string; timestamp?: number; signature?: string | null } = {},
) {
  const signature =
    options.signature === undefined
      ? await Stripe.webhooks.generateTestHeaderStringAsync({
          payload,
          secret: options.secret ?? SECRET,
          timestamp: options.timestamp,
          cryptoProvider,
        })
      : options.signature;
  const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
  if (signature !== null) headers["stripe-signature"] = signature;
  return call("POST", "/api/payments/stripe", { body: payload, headers, vars });
}

describe("POST /api/payments/stripe", () => {
  it("payment_intent.succeeded pays the order once, keyed by the event id, reconciling amount and currency", async () => {
    const id = await newProduct(5, 2_500);
    const o = await pendingOrder(id, 2);
    const event = intentEvent("payment_intent.succeeded", {
      id: "pi_3Test",
      amount: 5_000,
      amount_received: 5_000,
      currency: "eur",
      metadata: { order_id: o.order_id },
    });
    const res = await deliver(event);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      received: true,
      type: "payment_intent.succeeded",
      ignored: false,
      payment: { order_id: o.order_id, order_status: "paid", duplicate: false },
    });
    expect((await readOrder(o.order_id)).body).toMatchObject({
      status: "paid",
      payment_id: "pi_3Test",
    });
    // Stripe redelivers the same event: a duplicate, nothing more.
    const again = await deliver(event);
    expect(again.body.payment).toMatchObject({ order_status: "paid", duplicate: true });
    expect((await getProduct(id)).body.stock).toBe(3);
  });

  it("a short amount is refunded, not paid (the money issue's rules)", async () => {
    const id = await newProduct(5, 2_500);
    const o = await pendingOrder(id, 1);
    const res = await deliver(
      intentEvent("payment_intent.succeeded", {
        id: "pi_short",
        amount_received: 100,
        currency: "eur",
        metadata: { order_id: o.order_id },
      }),
    );
    expect(res.body.payment).toMatchObject({ ignored: true, reason: "amount_mismatch" });
    expect((await metrics(id)).body.refunds_required).toBe(1);
  });

  it("payment_intent.payment_failed records the attempt and keeps the order pending; a retry that succeeds pays it", async () => {
    const id = await newProduct(5);
    const o = await pendingOrder(id, 2);
    const intent = {
      id: "pi_retry",
      amount: 5_000,
      currency: "eur",
      metadata: { order_id: o.order_id },
    };
    const infos = vi.spyOn(console, "log");
    const failed = await deliver(intentEvent("payment_intent.payment_failed", intent));
    expect(failed.status).toBe(200);
    expect(failed.body.payment).toEqual({
      order_id: o.order_id,
      order_status: "pending",
      duplicate: false,
    });
    expect(logLines(infos, "Payment attempt failed, order stays pending.")).toHaveLength(1);
    // The units stay with the order while the customer tries another card.
    expect((await getProduct(id)).body).toMatchObject({ reserved: 2, available: 3 });
    expect((await readOrder(o.order_id)).body.status).toBe("pending");
    const attempts = await runInDurableObject(productObject(id), (_, state) =>
      state.storage.sql
        .exec("SELECT failed_attempts AS n FROM orders WHERE order_id = ?", o.order_id)
        .one(),
    );
    expect(attempts.n).toBe(1);

    const paid = await deliver(
      intentEvent("payment_intent.succeeded", { ...intent, amount_received: 5_000 }),
    );
    expect(paid.body.payment).toMatchObject({ order_status: "paid", duplicate: false });
    expect((await metrics(id)).body).toMatchObject({
      sold: 2,
      reserved: 0,
      refunds: { due: 0 },
      invariants: { ok: true },
    });
  });

  it("payment_intent.canceled closes the order and frees its units", async () => {
    const id = await newProduct(5);
    const o = await pendingOrder(id, 2);
    const intent = {
      id: "pi_cancel",
      amount: 5_000,
      currency: "eur",
      metadata: { order_id: o.order_id },
    };
    await deliver(intentEvent("payment_intent.payment_failed", intent));
    const res = await deliver(intentEvent("payment_intent.canceled", intent));
    expect(res.body.payment).toMatchObject({ order_status: "failed" });
    expect((await getProduct(id)).body).toMatchObject({ reserved: 0, available: 5 });
  });

  it("a failed attempt after the order's window closed changes nothing", async () => {
    const id = await newProduct(5);
    const o = await pendingOrder(id, 1);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse(o.pay_by) + 1);
    const res = await deliver(
      intentEvent("payment_intent.payment_failed", {
        id: "pi_late_fail",
        metadata: { order_id: o.order_id },
      }),
    );
    expect(res.body.payment).toMatchObject({ order_status: "cancelled", ignored: true });
    expect((await metrics(id)).body).toMatchObject({ reserved: 0, refunds: { due: 0 } });
  });

  it("acknowledges and ignores other event types and intents without an order", async () => {
    const id = await newProduct(5);
    await pendingOrder(id, 1);
    const other = await deliver(
      intentEvent("payment_intent.created", { id: "pi_x", metadata: {} }),
    );
    expect(other.body).toMatchObject({
      received: true,
      ignored: true,
      type: "payment_intent.created",
    });
    const noOrder = await deliver(
      intentEvent("payment_intent.succeeded", { id: "pi_y", amount_received: 1, metadata: {} }),
    );
    expect(noOrder.body).toMatchObject({ ignored: true });
    expect((await getProduct(id)).body.reserved).toBe(1);
  });

  it.each([
    ["no signature", { signature: null }],
    ["a signature made with another secret", { secret: "whsec_someone_else" }],
    ["a stale signature (ten minutes old)", { timestamp: Math.floor(Date.now() / 1000) - 600 }],
    ["a garbled signature", { signature: "t=1,v1=00" }],
  ])("answers 400 for %s, changing nothing", async (_, options) => {
    const id = await newProduct(5);
    const o = await pendingOrder(id, 1);
    const warnings = vi.spyOn(console, "warn");
    const res = await deliver(
      intentEvent("payment_intent.succeeded", {
        id: "pi_z",
        amount_received: 2_500,
        currency: "eur",
        metadata: { order_id: o.order_id },
      }),
      options,
    );
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_stripe_signature");
    expect(logLines(warnings, "Stripe signature rejected.")).toHaveLength(1);
    expect((await readOrder(o.order_id)).body.status).toBe("pending");
  });

  it("is 503 until STRIPE_WEBHOOK_SECRET is set, so Stripe keeps retrying", async () => {
    const payload = intentEvent("payment_intent.succeeded", { id: "pi_w", metadata: {} });
    const res = await call("POST", "/api/payments/stripe", {
      body: payload,
      headers: { "content-type": "application/json", "stripe-signature": "t=1,v1=00" },
    });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("stripe_not_configured");
  });

  it("takes events bigger than a shopper's request may be", async () => {
    const id = await newProduct(5, 100);
    const o = await pendingOrder(id, 1);
    const res = await deliver(
      intentEvent("payment_intent.succeeded", {
        id: "pi_big",
        amount_received: 100,
        currency: "eur",
        metadata: { order_id: o.order_id },
        description: "x".repeat(40 * 1024),
      }),
    );
    expect(res.status).toBe(200);
    expect(res.body.payment.order_status).toBe("paid");
  });
});
