import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { orderNumber } from "../src/contract/ids";
import { DEFAULT_RETRY } from "../src/reach/retry";
import {
  ADMIN,
  as,
  call,
  cancel,
  expectError,
  metrics,
  newProduct,
  newShopper,
  pendingOrder,
  productObject,
  uniqueKey,
} from "./helpers";

const pay = (orderId: string, extra: Record<string, unknown> = {}) =>
  call("POST", "/api/payments/webhook", {
    json: { idempotency_key: uniqueKey("evt"), order_id: orderId, status: "success", ...extra },
    vars: { WEBHOOK_SECRET: undefined, ALLOW_UNSIGNED_WEBHOOKS: "true" },
  });
const search = (query: string) => call("GET", `/api/admin/orders?${query}`, { headers: ADMIN });
const detail = (orderId: string, app?: ReturnType<typeof createApp>) =>
  call("GET", `/api/admin/orders/${orderId}`, { headers: ADMIN, app });
const copied = (id: number) =>
  vi.waitFor(async () => expect((await metrics(id)).body.history_outbox_backlog).toBe(0));

function travelTo(at: number) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
}

describe("GET /api/admin/orders", () => {
  it("finds orders newest first by product, status, shopper, payment id, order number and time, a page at a time", async () => {
    const id = await newProduct(10, 1_000);
    const alice = newShopper("alice");
    const bob = newShopper("bob");
    const first = await pendingOrder(id, 1, as(alice));
    const second = await pendingOrder(id, 2, as(bob));
    const third = await pendingOrder(id, 1, as(alice));
    expect((await pay(second.order_id, { payment_id: "pi_search_1" })).status).toBe(200);
    expect((await cancel(third.order_id, as(alice))).status).toBe(200);
    await copied(id);

    const all = await search(`product_id=${id}`);
    expect(all.status).toBe(200);
    expect(all.body.orders.map((o: any) => o.order_id)).toEqual([
      third.order_id,
      second.order_id,
      first.order_id,
    ]);
    expect(all.body.next_cursor).toBeNull();
    expect(all.body.orders[1]).toMatchObject({
      order_number: orderNumber(second.order_id),
      status: "paid",
      payment_id: "pi_search_1",
      shopper_id: bob,
      amount_cents: 2_000,
      paid_late: false,
    });

    const ids = async (query: string) =>
      (await search(`product_id=${id}&${query}`)).body.orders.map((o: any) => o.order_id);
    expect(await ids("status=paid")).toEqual([second.order_id]);
    expect(await ids("status=cancelled")).toEqual([third.order_id]);
    expect(await ids(`shopper_id=${alice}`)).toEqual([third.order_id, first.order_id]);
    expect(await ids(`shopper_id=${alice}&status=pending`)).toEqual([first.order_id]);
    expect(await ids("payment_id=pi_search_1")).toEqual([second.order_id]);
    expect(await ids("payment_id=pi_nobody")).toEqual([]);
    const number = orderNumber(first.order_id);
    expect(await ids(`order_number=${number}`)).toEqual([first.order_id]);
    expect(await ids(`order_number=${number.toLowerCase()}`)).toEqual([first.order_id]);
    expect(await ids(`since=${encodeURIComponent(first.created_at)}`)).toHaveLength(3);
    expect(await ids(`since=${encodeURIComponent(third.created_at)}`)).toContain(third.order_id);
    expect(await ids("since=2999-01-01T00:00:00Z")).toEqual([]);

    const page1 = await search(`product_id=${id}&limit=2`);
    expect(page1.body.orders).toHaveLength(2);
    expect(page1.body.next_cursor).toEqual(expect.any(String));
    const page2 = await search(`product_id=${id}&limit=2&cursor=${page1.body.next_cursor}`);
    expect(page2.body).toMatchObject({ next_cursor: null });
    expect(page2.body.orders.map((o: any) => o.order_id)).toEqual([first.order_id]);
  });

  it.each([
    ["limit=0"],
    ["limit=101"],
    ["limit=ten"],
    ["status=refunded"],
    ["product_id=0"],
    ["order_number=NOPE"],
    ["order_number=UUUUUUUU"],
    ["since=yesterday"],
    ["cursor=bm9wZQ"],
  ])("refuses %s with 422 invalid_request", async (query) => {
    expectError(await search(query), 422, "invalid_request");
  });

  it("is for operators only", async () => {
    expectError(await call("GET", "/api/admin/orders"), 401, "unauthorized");
    expectError(await call("GET", "/api/admin/orders/ord_1_x"), 401, "unauthorized");
  });
});

describe("GET /api/admin/orders/:id", () => {
  it("a paid order: live state and a timeline from hold to payment, oldest first", async () => {
    const id = await newProduct(10, 1_000);
    const o = await pendingOrder(id, 1);
    await pay(o.order_id, { payment_id: "pi_timeline" });
    await copied(id);
    const res = await detail(o.order_id);
    expect(res.status).toBe(200);
    expect(res.body.order).toMatchObject({
      order_id: o.order_id,
      order_number: orderNumber(o.order_id),
      status: "paid",
      payment_id: "pi_timeline",
    });
    expect(res.body.timeline.map((e: any) => e.kind)).toEqual([
      "hold_created",
      "order_created",
      "payment_attempt",
      "paid",
    ]);
    const times = res.body.timeline.map((e: any) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it("shows a cancel, an expiry, refunds due and resolved", async () => {
    const id = await newProduct(10, 1_000);
    const cancelled = await pendingOrder(id, 1);
    await cancel(cancelled.order_id);
    const short = await pendingOrder(id, 1);
    await pay(short.order_id, { amount_cents: 1, payment_id: "pi_short" });
    const expired = await pendingOrder(id, 1);
    await copied(id);
    const refunds = (await call("GET", `/api/admin/refunds?product_id=${id}`, { headers: ADMIN }))
      .body.refunds;
    await call("POST", `/api/admin/refunds/${refunds[0].refund_id}/resolve`, {
      headers: ADMIN,
      json: { note: "re_1 in the gateway" },
    });
    travelTo(Date.parse(expired.pay_by) + 1);
    await runDurableObjectAlarm(productObject(id));
    await copied(id);

    const kinds = async (orderId: string) =>
      (await detail(orderId)).body.timeline.map((e: any) => e.kind);
    expect(await kinds(cancelled.order_id)).toEqual(["hold_created", "order_created", "cancelled"]);
    const shortTimeline = (await detail(short.order_id)).body.timeline;
    // The wrong amount did not pay it: a refund due, resolved, and the order still expired.
    expect(shortTimeline.map((e: any) => e.kind)).toEqual([
      "hold_created",
      "order_created",
      "payment_attempt",
      "refund_created",
      "refund_resolved",
      "expired",
    ]);
    expect(shortTimeline[4].detail).toContain("re_1 in the gateway");
    expect(await kinds(expired.order_id)).toEqual(["hold_created", "order_created", "expired"]);
  });

  it("answers from the D1 copy when the object cannot answer, 404 for an order nobody has", async () => {
    const id = await newProduct(10, 1_000);
    const o = await pendingOrder(id, 1);
    await copied(id);
    const down = createApp({
      stubFor: () => {
        throw new Error("Durable Object is down");
      },
      retry: { ...DEFAULT_RETRY, attempts: 1 },
    });
    const res = await detail(o.order_id, down);
    expect(res.status).toBe(200);
    expect(res.body.order).toMatchObject({ order_id: o.order_id, status: "pending" });
    expect(res.body.timeline.map((e: any) => e.kind)).toEqual(["order_created"]);

    const missing = `ord_${id}_${"0".repeat(32)}`;
    expectError(await detail(missing), 404, "order_not_found");
    expectError(await detail("not-an-order"), 404, "order_not_found");
    expectError(await detail(`ord_987654321_${"0".repeat(32)}`), 404, "order_not_found");
    // Neither source can answer: 503, not a 404 that would say the order does not exist.
    expectError(await detail(`ord_${id}_${"1".repeat(32)}`, down), 503, "service_unavailable");
  });
});
