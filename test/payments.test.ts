import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { ProductObject } from "../src/product/product-object";
import {
  ADMIN,
  as,
  call,
  cancel,
  expectError,
  getProduct,
  hold,
  logLines,
  metrics,
  newProduct,
  newShopper,
  patchProduct,
  pendingOrder,
  productObject,
  readOrder,
  uniqueKey,
  webhook,
} from "./helpers";

const pay = (orderId: string, extra: Record<string, unknown> = {}, key = uniqueKey("evt")) =>
  webhook({ idempotency_key: key, order_id: orderId, status: "success", ...extra });

/** Refunds of one product as D1 has them, once the history has been copied. */
async function refundsOf(productId: number): Promise<any[]> {
  await vi.waitFor(async () =>
    expect((await metrics(productId)).body.history_outbox_backlog).toBe(0),
  );
  const res = await call("GET", `/api/admin/refunds?product_id=${productId}`, { headers: ADMIN });
  expect(res.status).toBe(200);
  return res.body.refunds;
}

function travelTo(at: number) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
}

describe("payment reconciliation", () => {
  it("a success with the order's amount, currency and payment id pays it and keeps the payment id", async () => {
    const id = await newProduct(5, 2_500);
    const o = await pendingOrder(id, 2);
    const res = await pay(o.order_id, {
      amount_cents: 5_000,
      currency: "eur",
      payment_id: "pi_123",
    });
    expect(res.body).toEqual({ order_id: o.order_id, order_status: "paid", duplicate: false });
    expect((await readOrder(o.order_id)).body).toMatchObject({
      status: "paid",
      payment_id: "pi_123",
      paid_late: false,
    });
    await vi.waitFor(async () => expect((await metrics(id)).body.history_outbox_backlog).toBe(0));
    const row = await env.DB.prepare("SELECT payment_id FROM orders WHERE order_id = ?")
      .bind(o.order_id)
      .first();
    expect(row).toEqual({ payment_id: "pi_123" });
    expect((await metrics(id)).body).toMatchObject({
      revenue_cents: 5_000,
      units_sold: 2,
      invariants: { ok: true, checked: "full", violations: [] },
    });
  });

  it.each([
    ["a short amount", { amount_cents: 4_999, currency: "EUR" }],
    ["another currency", { amount_cents: 5_000, currency: "USD" }],
  ])("%s does not pay the order: 200 ignored amount_mismatch and a refund due", async (_, paid) => {
    const id = await newProduct(5, 2_500);
    const o = await pendingOrder(id, 2);
    const warnings = vi.spyOn(console, "warn");
    const res = await pay(o.order_id, { ...paid, payment_id: "pi_short" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      order_id: o.order_id,
      order_status: "pending",
      duplicate: false,
      ignored: true,
      reason: "amount_mismatch",
    });
    expect(logLines(warnings, "Payment amount mismatch, refund required.")).toEqual([
      expect.objectContaining({
        order_id: o.order_id,
        reason: "amount_mismatch",
        payment_id: "pi_short",
      }),
    ]);
    expect((await readOrder(o.order_id)).body.status).toBe("pending");
    expect((await getProduct(id)).body).toMatchObject({ stock: 5, reserved: 2 });
    expect((await metrics(id)).body).toMatchObject({ revenue_cents: 0, units_sold: 0 });
    expect(await refundsOf(id)).toEqual([
      expect.objectContaining({
        order_id: o.order_id,
        product_id: id,
        amount_cents: paid.amount_cents,
        currency: paid.currency,
        payment_id: "pi_short",
        reason: "amount_mismatch",
        status: "due",
        resolved_at: null,
      }),
    ]);
    // The right payment still pays it.
    expect(
      (await pay(o.order_id, { amount_cents: 5_000, currency: "EUR" })).body.order_status,
    ).toBe("paid");
  });

  it("a second charge on a paid order is a refund due (double_charge) with its payment id", async () => {
    const id = await newProduct(5, 1_000);
    const o = await pendingOrder(id, 1);
    await pay(o.order_id, { payment_id: "pi_first" });
    const warnings = vi.spyOn(console, "warn");
    const res = await pay(o.order_id, { payment_id: "pi_second", amount_cents: 1_000 });
    expect(res.body).toMatchObject({
      order_status: "paid",
      ignored: true,
      reason: "double_charge",
    });
    expect(logLines(warnings, "Second payment for a paid order, refund required.")).toHaveLength(1);
    expect((await getProduct(id)).body.stock).toBe(4);
    const [refund] = await refundsOf(id);
    expect(refund).toMatchObject({
      reason: "double_charge",
      payment_id: "pi_second",
      amount_cents: 1_000,
    });
    // The second charge is money to give back, not revenue.
    expect((await metrics(id)).body).toMatchObject({
      refunds_required: 1,
      refunds: { due: 1, resolved: 0 },
      revenue_cents: 1_000,
      units_sold: 1,
      invariants: { ok: true, violations: [] },
    });
  });

  it("the same payment id under another key is the same payment, not a double charge", async () => {
    const id = await newProduct(5);
    const o = await pendingOrder(id, 1);
    await pay(o.order_id, { payment_id: "pi_same" });
    const again = await pay(o.order_id, { payment_id: "pi_same" });
    expect(again.body).toEqual({ order_id: o.order_id, order_status: "paid", duplicate: true });
    expect((await metrics(id)).body).toMatchObject({ refunds_required: 0, sold: 1 });
  });

  it("a duplicate of a mismatched payment answers the same and records no second refund", async () => {
    const id = await newProduct(5, 1_000);
    const o = await pendingOrder(id, 1);
    const key = uniqueKey();
    const first = await pay(o.order_id, { amount_cents: 1 }, key);
    const again = await pay(o.order_id, { amount_cents: 1 }, key);
    expect(again.body).toEqual({ ...first.body, duplicate: true });
    expect((await metrics(id)).body.refunds_required).toBe(1);
  });

  it("unknown fields in the body are accepted and ignored; malformed new fields are 422", async () => {
    const id = await newProduct(5, 1_000);
    const o = await pendingOrder(id, 1);
    expect((await pay(o.order_id, { gateway_extra: { risk: "low" } })).body.order_status).toBe(
      "paid",
    );
    const other = await pendingOrder(id, 1);
    for (const bad of [
      { amount_cents: -1 },
      { amount_cents: 1.5 },
      { currency: "EURO" },
      { payment_id: "" },
    ]) {
      expect((await pay(other.order_id, bad)).status, JSON.stringify(bad)).toBe(422);
    }
    expect((await readOrder(other.order_id)).body.status).toBe("pending");
  });
});

describe("late payments", () => {
  it("by default (refund) the first final word stands: a late success is a refund due", async () => {
    const id = await newProduct(5, 1_000);
    const o = await pendingOrder(id, 2);
    travelTo(Date.parse(o.pay_by) + 1);
    const res = await pay(o.order_id, { payment_id: "pi_late" });
    expect(res.body).toEqual({
      order_id: o.order_id,
      order_status: "cancelled",
      duplicate: false,
      ignored: true,
    });
    vi.useRealTimers();
    const [refund] = await refundsOf(id);
    expect(refund).toMatchObject({
      reason: "late_payment",
      payment_id: "pi_late",
      amount_cents: 2_000,
    });
    expect((await getProduct(id)).body).toMatchObject({ stock: 5, reserved: 0 });
  });

  it("accept_if_available sells a closed order's units after all when they are still there", async () => {
    const id = await newProduct(5, 1_000);
    const patched = await patchProduct(id, { late_payments: "accept_if_available" });
    expect(patched.body.late_payments).toBe("accept_if_available");
    const closed = await pendingOrder(id, 2);
    travelTo(Date.parse(closed.pay_by) + 1);
    const logs = vi.spyOn(console, "log");
    const res = await pay(closed.order_id, { payment_id: "pi_late" });
    expect(res.body).toEqual({
      order_id: closed.order_id,
      order_status: "paid",
      duplicate: false,
      paid_late: true,
    });
    expect(logLines(logs, "Late payment accepted, stock deducted.")).toHaveLength(1);
    expect((await readOrder(closed.order_id)).body).toMatchObject({
      status: "paid",
      paid_late: true,
      payment_id: "pi_late",
    });
    expect((await metrics(id)).body).toMatchObject({
      stock: 3,
      sold: 2,
      units_sold: 2,
      revenue_cents: 2_000,
      reserved: 0,
      refunds_required: 0,
      orders: { paid: 1, cancelled: 0 },
      invariants: { ok: true },
    });
  });

  it("accept_if_available refunds when the units went to someone else meanwhile", async () => {
    const id = await newProduct(2, 1_000);
    await patchProduct(id, { late_payments: "accept_if_available" });
    const closed = await pendingOrder(id, 2);
    travelTo(Date.parse(closed.pay_by) + 1);
    expect((await hold(id, 1)).status).toBe(201);
    const res = await pay(closed.order_id);
    expect(res.body).toMatchObject({ order_status: "cancelled", ignored: true });
    vi.useRealTimers();
    expect((await refundsOf(id))[0]).toMatchObject({ reason: "late_payment" });
    expect((await metrics(id)).body).toMatchObject({
      sold: 0,
      reserved: 1,
      invariants: { ok: true },
    });
  });

  it("accept_if_available takes failed and shopper-cancelled orders too, within the shopper's limit", async () => {
    const id = await newProduct(10, 1_000);
    await patchProduct(id, { late_payments: "accept_if_available" });
    const shopper = as(newShopper());
    const failed = await pendingOrder(id, 1, shopper);
    await webhook({ idempotency_key: uniqueKey(), order_id: failed.order_id, status: "failure" });
    const cancelled = await pendingOrder(id, 1, shopper);
    await cancel(cancelled.order_id, shopper);
    await pendingOrder(id, 1, shopper); // the shopper has 1 unit now; the limit is 2
    expect((await pay(failed.order_id)).body).toMatchObject({
      order_status: "paid",
      paid_late: true,
    });
    // A second late payment would take the shopper to 3 units: refunded instead.
    expect((await pay(cancelled.order_id)).body).toMatchObject({
      order_status: "cancelled",
      ignored: true,
    });
    expect((await refundsOf(id))[0]).toMatchObject({
      order_id: cancelled.order_id,
      reason: "late_payment",
    });
    expect((await metrics(id)).body).toMatchObject({
      sold: 1,
      reserved: 1,
      invariants: { ok: true },
    });
  });

  it("the LATE_PAYMENTS variable sets the default for products without their own", async () => {
    const id = await newProduct(5, 1_000);
    const o = await pendingOrder(id, 1);
    await runInDurableObject(productObject(id), (instance: ProductObject) => {
      (instance as unknown as { env: object }).env = {
        ...env,
        LATE_PAYMENTS: "accept_if_available",
      };
    });
    travelTo(Date.parse(o.pay_by) + 1);
    expect((await pay(o.order_id)).body).toMatchObject({ order_status: "paid", paid_late: true });
    expect((await getProduct(id)).body).toMatchObject({
      late_payments: "accept_if_available",
      stock: 4,
    });
  });
});

describe("refunds an operator can act on", () => {
  it("lists refunds newest first, by status and product, a page at a time", async () => {
    const id = await newProduct(200, 100);
    const o = await pendingOrder(id, 1);
    await pay(o.order_id, { payment_id: "pi_0" });
    for (let i = 1; i <= 102; i++) await pay(o.order_id, { payment_id: `pi_${i}` });
    await refundsOf(id);
    const first = await call("GET", `/api/admin/refunds?status=due&product_id=${id}`, {
      headers: ADMIN,
    });
    expect(first.body.refunds).toHaveLength(100);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await call(
      "GET",
      `/api/admin/refunds?status=due&product_id=${id}&cursor=${first.body.next_cursor}`,
      { headers: ADMIN },
    );
    expect(second.body).toMatchObject({ next_cursor: null });
    const all = [...first.body.refunds, ...second.body.refunds];
    expect(new Set(all.map((r: any) => r.refund_id)).size).toBe(102);
    const times = all.map((r: any) => `${r.created_at}|${r.refund_id}`);
    expect(times).toEqual([...times].sort().reverse());
    const resolved = await call("GET", `/api/admin/refunds?status=resolved&product_id=${id}`, {
      headers: ADMIN,
    });
    expect(resolved.body).toEqual({ refunds: [], next_cursor: null });
  });

  it("resolves a refund once, with a note; again answers the same", async () => {
    const id = await newProduct(5, 100);
    const o = await pendingOrder(id, 1);
    await pay(o.order_id, { amount_cents: 1 });
    const [refund] = await refundsOf(id);
    const path = `/api/admin/refunds/${refund.refund_id}/resolve`;
    // A note is required: without one (no body, no note, blank, not text) nothing changes.
    for (const json of [undefined, {}, { note: "" }, { note: "   " }, { note: 7 }]) {
      const refused = await call("POST", path, { headers: ADMIN, json });
      expectError(refused, 422, "invalid_request");
    }
    expect((await metrics(id)).body).toMatchObject({ refunds: { due: 1, resolved: 0 } });
    const done = await call("POST", path, {
      headers: ADMIN,
      json: { note: "re_123 at the gateway" },
    });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      refund_id: refund.refund_id,
      status: "resolved",
      note: "re_123 at the gateway",
    });
    expect(done.body.resolved_at).toEqual(expect.any(String));
    const again = await call("POST", path, { headers: ADMIN, json: { note: "a second note" } });
    expect(again.body).toEqual(done.body);
    expect((await metrics(id)).body).toMatchObject({ refunds: { due: 0, resolved: 1 } });
    await vi.waitFor(async () => {
      const rows = await call("GET", `/api/admin/refunds?status=resolved&product_id=${id}`, {
        headers: ADMIN,
      });
      expect(rows.body.refunds).toEqual([
        expect.objectContaining({ refund_id: refund.refund_id, status: "resolved" }),
      ]);
    });
  });

  it("answers 404 for an unknown refund, 422 for a cursor it did not give out, 401 without the token", async () => {
    const id = await newProduct(5);
    const unknown = await call(
      "POST",
      `/api/admin/refunds/rfd_${id}_0123456789abcdef0123456789abcdef/resolve`,
      { headers: ADMIN, json: { note: "done" } },
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("refund_not_found");
    expect(
      (
        await call("POST", "/api/admin/refunds/nope/resolve", {
          headers: ADMIN,
          json: { note: "x" },
        })
      ).status,
    ).toBe(404);
    expect((await call("GET", "/api/admin/refunds?cursor=bm9wZQ", { headers: ADMIN })).status).toBe(
      422,
    );
    expect((await call("GET", "/api/admin/refunds?status=maybe", { headers: ADMIN })).status).toBe(
      422,
    );
    expect((await call("GET", "/api/admin/refunds")).status).toBe(401);
  });
});

describe("payment ids", () => {
  it("a success for a payment id that had failed is new money, not a duplicate", async () => {
    const id = await newProduct(5, 1_000);
    const o = await pendingOrder(id, 1);
    await webhook({
      idempotency_key: uniqueKey(),
      order_id: o.order_id,
      status: "failure",
      payment_id: "pi_retry",
    } as never);
    // The same intent succeeds later with another card: money was taken for a failed order.
    const res = await pay(o.order_id, { payment_id: "pi_retry" });
    expect(res.body).toMatchObject({ order_status: "failed", ignored: true, duplicate: false });
    expect((await refundsOf(id))[0]).toMatchObject({
      reason: "late_payment",
      payment_id: "pi_retry",
    });
  });
});

describe("the payment id a paid order names", () => {
  it("is the payment that paid it: an attempt that failed before is not it, and pays nothing later", async () => {
    const id = await newProduct(5, 1_000);
    await patchProduct(id, { late_payments: "accept_if_available" });
    const o = await pendingOrder(id, 1);
    await webhook({
      idempotency_key: uniqueKey(),
      order_id: o.order_id,
      status: "failure",
      payment_id: "pi_declined",
    } as never);
    expect((await pay(o.order_id)).body).toMatchObject({ order_status: "paid", paid_late: true });
    expect((await readOrder(o.order_id)).body).toMatchObject({ status: "paid", payment_id: null });
    // pi_declined now succeeding is a second charge on a paid order.
    expect((await pay(o.order_id, { payment_id: "pi_declined" })).body).toMatchObject({
      ignored: true,
      reason: "double_charge",
    });
  });
});
