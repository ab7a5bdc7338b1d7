import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import Stripe from "stripe";
import { describe, expect, it, vi } from "vitest";
import type { ProductObject } from "../src/product/product-object";
import {
  ADMIN,
  as,
  call,
  cancel,
  expectError,
  logLines,
  newProduct,
  newShopper,
  patchProduct,
  pendingOrder,
  productObject,
  readOrder,
} from "./helpers";

const WEBHOOK_SECRET = "whsec_test_checkout_endpoint_secret_0123456789";
/** What a deployment with Stripe has: a key, the fake's address, a window Checkout fits in. */
const STRIPE = {
  STRIPE_SECRET_KEY: env.FAKE_STRIPE_KEY,
  STRIPE_API_BASE: env.FAKE_STRIPE_URL,
  STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
  PAYMENT_TTL_SECONDS: "2400",
};
const cryptoProvider = Stripe.createSubtleCryptoProvider();
let seq = 0;

/** A product whose object gives orders a 40-minute payment window (the pool's default is 15). */
async function stripeProduct(stock: number, priceCents: number): Promise<number> {
  const id = await newProduct(stock, priceCents);
  await runInDurableObject(productObject(id), (instance: ProductObject) => {
    (instance as unknown as { env: object }).env = { ...env, PAYMENT_TTL_SECONDS: "2400" };
  });
  return id;
}

const checkout = (
  orderId: string,
  headers: Record<string, string> = {},
  vars: Partial<Cloudflare.Env> = STRIPE,
) => call("POST", `/api/orders/${orderId}/checkout`, { headers, vars });

/** What the fake Stripe API received for this order. */
async function sent(
  orderId: string,
): Promise<{ idempotencyKey: string; form: Record<string, string> }[]> {
  const res = await fetch(
    `${env.FAKE_STRIPE_URL}/__requests?order_id=${encodeURIComponent(orderId)}`,
  );
  return res.json();
}

async function deliver(type: string, object: Record<string, unknown>) {
  const payload = JSON.stringify({
    id: `evt_checkout_${Date.now()}_${++seq}`,
    object: "event",
    api_version: "2026-10-28.clover",
    created: Math.floor(Date.now() / 1000),
    type,
    livemode: false,
    data: { object },
  });
  const signature = await Stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret: WEBHOOK_SECRET,
    cryptoProvider,
  });
  return call("POST", "/api/payments/stripe", {
    body: payload,
    headers: { "content-type": "application/json", "stripe-signature": signature },
    vars: STRIPE,
  });
}

describe("POST /api/orders/:id/checkout", () => {
  it("opens one Stripe Checkout Session for the order, then answers the same one while it is open", async () => {
    const id = await stripeProduct(5, 2_500);
    await patchProduct(id, { image_url: "/images/shoe.svg" });
    const shopper = as(newShopper());
    const o = await pendingOrder(id, 2, shopper);

    const res = await checkout(o.order_id, shopper);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({
      url: expect.stringMatching(/^https:\/\/checkout\.stripe\.test\/c\/pay\/cs_test_/),
      session_id: expect.stringMatching(/^cs_test_/),
      expires_at: expect.any(String),
    });
    expect(Date.parse(res.body.expires_at)).toBeLessThanOrEqual(Date.parse(o.pay_by));

    // What the stripe package sent, form-encoded, as the fake Stripe API received it.
    const [request, ...more] = await sent(o.order_id);
    expect(more).toEqual([]);
    expect(request!.form).toEqual({
      mode: "payment",
      client_reference_id: o.order_id,
      "metadata[order_id]": o.order_id,
      "payment_intent_data[metadata][order_id]": o.order_id,
      "line_items[0][quantity]": "2",
      "line_items[0][price_data][currency]": "eur",
      "line_items[0][price_data][unit_amount]": "2500",
      "line_items[0][price_data][product_data][name]": `Test product ${id}`,
      "line_items[0][price_data][product_data][images][0]": "http://checkout.test/images/shoe.svg",
      expires_at: String(Math.floor(Date.parse(o.pay_by) / 1000)),
      success_url: `http://checkout.test/?order=${o.order_id}&checkout=success`,
      cancel_url: `http://checkout.test/?order=${o.order_id}&checkout=cancel`,
    });
    expect(request!.idempotencyKey).toBe(`checkout:${o.order_id}:first`);

    // A retry or a second click: the same session, and Stripe is not asked again.
    const again = await checkout(o.order_id, shopper);
    expect(again.body).toEqual(res.body);
    expect(await sent(o.order_id)).toHaveLength(1);
    expect((await readOrder(o.order_id, shopper)).body.status).toBe("pending");
  });

  it("checkout.session.completed pays the order once; the intent's own success is the same payment", async () => {
    const id = await stripeProduct(5, 2_500);
    const shopper = as(newShopper());
    const o = await pendingOrder(id, 2, shopper);
    const session = (await checkout(o.order_id, shopper)).body;

    const unpaid = await deliver("checkout.session.completed", {
      id: session.session_id,
      object: "checkout.session",
      payment_status: "unpaid",
      payment_intent: "pi_checkout_1",
      amount_total: 5_000,
      currency: "eur",
      client_reference_id: o.order_id,
      metadata: { order_id: o.order_id },
    });
    expect(unpaid.body).toMatchObject({ ignored: true });
    expect((await readOrder(o.order_id, shopper)).body.status).toBe("pending");

    const completed = await deliver("checkout.session.completed", {
      id: session.session_id,
      object: "checkout.session",
      payment_status: "paid",
      payment_intent: "pi_checkout_1",
      amount_total: 5_000,
      currency: "eur",
      client_reference_id: o.order_id,
      metadata: { order_id: o.order_id },
    });
    expect(completed.status).toBe(200);
    expect(completed.body).toMatchObject({
      ignored: false,
      payment: { order_id: o.order_id, order_status: "paid", duplicate: false },
    });
    expect((await readOrder(o.order_id, shopper)).body).toMatchObject({
      status: "paid",
      payment_id: "pi_checkout_1",
    });

    const intent = await deliver("payment_intent.succeeded", {
      id: "pi_checkout_1",
      object: "payment_intent",
      amount: 5_000,
      amount_received: 5_000,
      currency: "eur",
      metadata: { order_id: o.order_id },
    });
    expect(intent.body.payment).toMatchObject({ order_status: "paid", duplicate: true });
    const m = await call("GET", `/api/admin/products/${id}/metrics?check=full`, { headers: ADMIN });
    expect(m.body).toMatchObject({
      revenue_cents: 5_000,
      units_sold: 2,
      refunds: { due: 0 },
      invariants: { ok: true },
    });
    // Paid: no more checkouts.
    expectError(await checkout(o.order_id, shopper), 409, "order_not_pending");
  });

  it("refuses another shopper's, an unknown, a closed order, and asks Stripe nothing", async () => {
    const id = await stripeProduct(5, 1_000);
    const shopper = as(newShopper());
    const o = await pendingOrder(id, 1, shopper);
    expectError(await checkout(o.order_id, as(newShopper())), 403, "not_your_order");
    expectError(await checkout(`ord_${id}_${"0".repeat(32)}`, shopper), 404, "order_not_found");
    expectError(await checkout("not-an-order", shopper), 404, "order_not_found");
    expectError(await checkout(`ord_987654321_${"0".repeat(32)}`, shopper), 404, "order_not_found");
    const cancelled = await pendingOrder(id, 1, shopper);
    await cancel(cancelled.order_id, shopper);
    expectError(await checkout(cancelled.order_id, shopper), 409, "order_not_pending");
    expect(await sent(o.order_id)).toEqual([]);
    expect(await sent(cancelled.order_id)).toEqual([]);
  });

  it("503 without a key or with a payment window Stripe cannot keep a session open in, 409 when too little of the window is left", async () => {
    const id = await stripeProduct(5, 1_000);
    const o = await pendingOrder(id, 1);
    const noKey = { ...STRIPE, STRIPE_SECRET_KEY: undefined };
    expectError(await checkout(o.order_id, {}, noKey), 503, "payments_not_configured");
    const errors = vi.spyOn(console, "error");
    const short = await checkout(o.order_id, {}, { ...STRIPE, PAYMENT_TTL_SECONDS: "900" });
    expectError(short, 503, "payments_misconfigured");
    expect(short.body.error.message).toContain("1800");
    expect(
      logLines(
        errors,
        "Stripe Checkout refused: PAYMENT_TTL_SECONDS is below Stripe's 30-minute minimum.",
      ),
    ).toHaveLength(1);

    // An order from a product with the pool's 15-minute window: Stripe would refuse the session.
    const quick = await newProduct(5);
    const late = await pendingOrder(quick, 1);
    expectError(await checkout(late.order_id), 409, "checkout_too_late");
    expect(await sent(late.order_id)).toEqual([]);
    expect(await sent(o.order_id)).toEqual([]);
  });

  it("502 when Stripe cannot be reached; nothing is kept, so the next try opens a session", async () => {
    const id = await stripeProduct(5, 1_000);
    const o = await pendingOrder(id, 1);
    const down = { ...STRIPE, STRIPE_API_BASE: "http://127.0.0.1:1" };
    expectError(await checkout(o.order_id, {}, down), 502, "payment_provider_error");
    const res = await checkout(o.order_id);
    expect(res.status).toBe(200);
    expect(await sent(o.order_id)).toHaveLength(1);
    // The operators' timeline shows the hand-off.
    await vi.waitFor(async () => {
      const detail = await call("GET", `/api/admin/orders/${o.order_id}`, { headers: ADMIN });
      expect(detail.body.timeline).toContainEqual(
        expect.objectContaining({
          kind: "payment_attempt",
          detail: expect.stringContaining(res.body.session_id),
        }),
      );
    });
  });
});
