import { describe, expect, it, vi } from "vitest";
import {
  call,
  getProduct,
  hold,
  metrics,
  newProduct,
  pendingOrder,
  uniqueKey,
  webhook,
} from "./helpers";

const orderStatus = async (orderId: string) =>
  (await call("GET", `/api/orders/${orderId}`)).body.status;

describe("POST /api/payments/webhook", () => {
  it("a success deducts the units from stock exactly once and marks the order paid", async () => {
    const id = await newProduct(10);
    const o = await pendingOrder(id, 3);
    const logs = vi.spyOn(console, "log");
    const key = uniqueKey("pay");
    const res = await webhook({ idempotency_key: key, order_id: o.order_id, status: "success" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ order_id: o.order_id, order_status: "paid", duplicate: false });
    expect((await getProduct(id)).body).toMatchObject({ stock: 7, reserved: 0, available: 7 });
    expect(await orderStatus(o.order_id)).toBe("paid");
    const line = logs.mock.calls
      .map(([l]) => JSON.parse(String(l)))
      .find((l) => l.message === "Webhook Payment Success - Stock Deducted");
    expect(line).toMatchObject({
      product_id: id,
      order_id: o.order_id,
      idempotency_key: key,
      qty: 3,
    });
  });

  it("a failure releases the units and marks the order failed", async () => {
    const id = await newProduct(2);
    const o = await pendingOrder(id, 2);
    expect((await hold(id, 1)).status).toBe(409);
    const res = await webhook({
      idempotency_key: uniqueKey(),
      order_id: o.order_id,
      status: "failure",
    });
    expect(res.body).toEqual({ order_id: o.order_id, order_status: "failed", duplicate: false });
    expect((await getProduct(id)).body).toMatchObject({ stock: 2, reserved: 0, available: 2 });
    // The units can be held again at once.
    expect((await hold(id, 2)).status).toBe(201);
  });

  it("the same key sent 10 times in parallel deducts once", async () => {
    const id = await newProduct(10);
    const o = await pendingOrder(id, 2);
    const key = uniqueKey();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        webhook({ idempotency_key: key, order_id: o.order_id, status: "success" }),
      ),
    );
    expect(answers.every((a) => a.status === 200 && a.body.order_status === "paid")).toBe(true);
    expect(answers.filter((a) => a.body.duplicate === false)).toHaveLength(1);
    expect(answers.filter((a) => a.body.duplicate === true)).toHaveLength(9);
    expect((await getProduct(id)).body).toMatchObject({ stock: 8, reserved: 0 });
    const m = (await metrics(id)).body;
    expect(m).toMatchObject({
      sold: 2,
      webhooks: { processed: 1, duplicates: 9 },
      invariants: { ok: true },
    });
  });

  it("a duplicate answers with the first answer, even after the order changed", async () => {
    const id = await newProduct(5);
    const o = await pendingOrder(id, 1);
    const key = uniqueKey();
    await webhook({ idempotency_key: key, order_id: o.order_id, status: "failure" });
    const logs = vi.spyOn(console, "log");
    const res = await webhook({ idempotency_key: key, order_id: o.order_id, status: "failure" });
    expect(res.body).toEqual({ order_id: o.order_id, order_status: "failed", duplicate: true });
    expect(logs.mock.calls.some(([l]) => String(l).includes('"Webhook Duplicate Ignored"'))).toBe(
      true,
    );
  });

  it("the same key with a different order or status is 409 idempotency_key_reused and changes nothing", async () => {
    const id = await newProduct(5);
    const a = await pendingOrder(id, 1);
    const b = await pendingOrder(id, 1);
    const key = uniqueKey();
    await webhook({ idempotency_key: key, order_id: a.order_id, status: "success" });
    const otherStatus = await webhook({
      idempotency_key: key,
      order_id: a.order_id,
      status: "failure",
    });
    expect(otherStatus.status).toBe(409);
    expect(otherStatus.body.error.code).toBe("idempotency_key_reused");
    const otherOrder = await webhook({
      idempotency_key: key,
      order_id: b.order_id,
      status: "success",
    });
    expect(otherOrder.status).toBe(409);
    expect(await orderStatus(a.order_id)).toBe("paid");
    expect(await orderStatus(b.order_id)).toBe("pending");
    expect((await getProduct(id)).body).toMatchObject({ stock: 4, reserved: 1 });
  });

  it("a new key for an order already final changes no stock and says ignored", async () => {
    const id = await newProduct(5);
    const paid = await pendingOrder(id, 1);
    const failed = await pendingOrder(id, 1);
    await webhook({ idempotency_key: uniqueKey(), order_id: paid.order_id, status: "success" });
    await webhook({ idempotency_key: uniqueKey(), order_id: failed.order_id, status: "failure" });
    const before = (await getProduct(id)).body;
    const logs = vi.spyOn(console, "log");

    const late = await webhook({
      idempotency_key: uniqueKey(),
      order_id: paid.order_id,
      status: "failure",
    });
    expect(late.status).toBe(200);
    expect(late.body).toEqual({
      order_id: paid.order_id,
      order_status: "paid",
      duplicate: false,
      ignored: true,
    });
    const second = await webhook({
      idempotency_key: uniqueKey(),
      order_id: paid.order_id,
      status: "success",
    });
    // A second success on a paid order is a second charge: ignored, and a refund is due.
    expect(second.body).toMatchObject({
      order_status: "paid",
      ignored: true,
      reason: "double_charge",
    });

    expect((await getProduct(id)).body).toEqual(before);
    expect(
      logs.mock.calls.filter(([l]) =>
        String(l).includes("Order already finalized, ignoring webhook."),
      ).length,
    ).toBe(2);
    expect((await metrics(id)).body).toMatchObject({
      sold: 1,
      refunds_required: 1,
      webhooks: { ignored: 2 },
    });
  });

  it("out of order: a success after a failure is ignored and flagged for refund", async () => {
    const id = await newProduct(5);
    const o = await pendingOrder(id, 2);
    await webhook({ idempotency_key: uniqueKey(), order_id: o.order_id, status: "failure" });
    const res = await webhook({
      idempotency_key: uniqueKey(),
      order_id: o.order_id,
      status: "success",
    });
    expect(res.body).toEqual({
      order_id: o.order_id,
      order_status: "failed",
      duplicate: false,
      ignored: true,
    });
    expect((await getProduct(id)).body).toMatchObject({ stock: 5, reserved: 0 });
    expect((await metrics(id)).body).toMatchObject({
      refunds_required: 1,
      sold: 0,
      invariants: { ok: true },
    });
  });

  it("a success after the payment window closed is ignored, and recorded as needing a refund", async () => {
    const id = await newProduct(5);
    const o = await pendingOrder(id, 2);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse(o.pay_by) + 1);
    const res = await webhook(
      { idempotency_key: uniqueKey(), order_id: o.order_id, status: "success" },
      {},
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      order_id: o.order_id,
      order_status: "cancelled",
      duplicate: false,
      ignored: true,
    });
    expect((await getProduct(id)).body).toMatchObject({ stock: 5, reserved: 0, available: 5 });
    expect((await metrics(id)).body).toMatchObject({
      refunds_required: 1,
      sold: 0,
      orders: { cancelled: 1 },
    });
  });

  it("answers 404 for an unknown order, so the gateway retries later, and keeps no key", async () => {
    const id = await newProduct(5);
    const key = uniqueKey();
    const unknown = `ord_${id}_0123456789abcdef0123456789abcdef`;
    const res = await webhook({ idempotency_key: key, order_id: unknown, status: "success" });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("order_not_found");
    expect(
      (await webhook({ idempotency_key: key, order_id: "garbage", status: "success" })).status,
    ).toBe(404);
    expect((await metrics(id)).body.webhooks.processed).toBe(0);
  });

  it("the signed webhook-id stands in for a missing idempotency key", async () => {
    const id = await newProduct(5);
    const o = await pendingOrder(id, 1);
    const first = await webhook({ order_id: o.order_id, status: "success" }, { id: "msg_fixed_1" });
    const retry = await webhook({ order_id: o.order_id, status: "success" }, { id: "msg_fixed_1" });
    expect(first.body).toMatchObject({ order_status: "paid", duplicate: false });
    expect(retry.body).toMatchObject({ order_status: "paid", duplicate: true });
    expect((await getProduct(id)).body.stock).toBe(4);
  });

  it("rejects bodies that are not a payment notice", async () => {
    for (const payload of [
      { idempotency_key: "k", order_id: "ord_1_x", status: "maybe" },
      { idempotency_key: "k", status: "success" },
      { idempotency_key: 7, order_id: "ord_1_x", status: "success" },
    ]) {
      const res = await webhook(payload as never);
      expect(res.status, JSON.stringify(payload)).toBe(422);
      expect(res.body.error.code).toBe("invalid_request");
    }
  });
});
