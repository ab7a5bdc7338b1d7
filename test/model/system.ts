/**
 * The real system, as the runner drives it: requests through the deployed Worker (router, the
 * product's object, D1), the object's alarm, its D1 binding, and the clock the Worker and the
 * object both read.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import type { ProductObject } from "../../src/product/product-object";
import {
  ADMIN,
  as,
  call,
  getProduct,
  metrics,
  productObject,
  signatureHeaders,
  type Answer,
} from "../helpers";
import type { Notice, Shopper } from "./model";

/** Headers naming a shopper, or none for an anonymous one. */
export const shopperHeaders = (shopper: Shopper): Record<string, string> =>
  shopper === null ? {} : as(shopper);

export function postHold(
  productId: number,
  qty: number,
  shopper: Shopper,
  key: string | null,
): Promise<Answer> {
  const headers = {
    ...shopperHeaders(shopper),
    ...(key === null ? {} : { "idempotency-key": key }),
  };
  return call("POST", "/api/holds", { json: { product_id: productId, qty }, headers });
}

export const releaseHold = (holdId: string, by: Shopper) =>
  call("DELETE", `/api/holds/${holdId}`, { headers: shopperHeaders(by) });

export const postOrder = (holdId: string, by: Shopper) =>
  call("POST", "/api/orders", { json: { hold_id: holdId }, headers: shopperHeaders(by) });

export const cancelOrder = (orderId: string, by: Shopper) =>
  call("POST", `/api/orders/${orderId}/cancel`, { headers: shopperHeaders(by) });

export const readOrderAsAdmin = (orderId: string) =>
  call("GET", `/api/orders/${orderId}`, { headers: ADMIN });

/** A payment webhook, signed as the gateway signs it. */
export function postWebhook(notice: Notice): Promise<Answer> {
  const body = JSON.stringify({
    idempotency_key: notice.key,
    order_id: notice.orderId,
    status: notice.status,
    ...(notice.amountCents === undefined ? {} : { amount_cents: notice.amountCents }),
    ...(notice.currency === undefined ? {} : { currency: notice.currency }),
    ...(notice.paymentId === undefined ? {} : { payment_id: notice.paymentId }),
  });
  return call("POST", "/api/payments/webhook", { body, headers: signatureHeaders(body) });
}

export const postRestock = (productId: number, qty: number, key: string | null) =>
  call("POST", `/api/admin/products/${productId}/restock`, {
    headers: { ...ADMIN, ...(key === null ? {} : { "idempotency-key": key }) },
    json: { qty },
  });

export const patchSettings = (productId: number, json: Record<string, unknown>) =>
  call("PATCH", `/api/admin/products/${productId}`, { headers: ADMIN, json });

export { getProduct, metrics };

/** Fire the object's alarm now, whatever time it was set for (false: none was set). */
export const runAlarm = (productId: number) => runDurableObjectAlarm(productObject(productId));

/** The rows the object's SQLite holds, to see exactly what retention deleted. */
export function rowCounts(productId: number) {
  return runInDurableObject(productObject(productId), (_, state) => {
    const n = (table: string) =>
      Number(state.storage.sql.exec(`SELECT COUNT(*) AS n FROM ${table}`).one().n);
    return {
      holds: n("holds"),
      orders: n("orders"),
      webhook_keys: n("webhook_keys"),
      restock_keys: n("restock_keys"),
      refunds: n("refunds"),
    };
  });
}

/** A D1 that is down: every write fails as a lost connection does (reads are never made). */
const BROKEN_D1 = {
  prepare: (query: string) => env.DB.prepare(query),
  batch: async () => {
    throw new Error("D1_ERROR: Network connection lost.");
  },
} as unknown as D1Database;

/** Give the object a failing D1, or its own back; the Worker keeps the real one throughout. */
export async function setObjectD1(productId: number, up: boolean): Promise<void> {
  await runInDurableObject(productObject(productId), (instance: ProductObject) => {
    (instance as unknown as { env: Cloudflare.Env }).env = {
      ...env,
      DB: up ? env.DB : BROKEN_D1,
    };
  });
}

/** Real time passes (the fake clock only fakes Date, not timers). */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Wait until the object has copied its outbox to D1. Copies run in the background after each
 * write; with D1 up and no backoff pending they land within milliseconds of real time.
 */
export async function waitForOutbox(productId: number, timeoutMs = 10_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const backlog = (await metrics(productId)).body.history_outbox_backlog as number;
    if (backlog === 0) return;
    if (performance.now() > until) {
      throw new Error(`the outbox still holds ${backlog} event(s) after ${timeoutMs} ms`);
    }
    await sleep(5);
  }
}

/**
 * The clock the Worker and the object read (Date only: timers stay real, so waiting works). It
 * starts at the real time and only moves forward; stop() hands back the real clock, so each
 * sequence starts at the real time again, on a product of its own.
 */
export class Clock {
  now: number;

  constructor() {
    this.now = Date.now();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(this.now);
  }

  advance(ms: number): void {
    this.now += ms;
    vi.setSystemTime(this.now);
  }

  stop(): void {
    vi.useRealTimers();
  }
}

/** D1's copy of a product's order history and refunds. */
export async function historyInD1(productId: number) {
  const orders = await env.DB.prepare(
    `SELECT order_id, status, payment_id, paid_late, needs_refund, qty, amount_cents
     FROM orders WHERE product_id = ? ORDER BY order_id`,
  )
    .bind(productId)
    .all();
  const refunds = await env.DB.prepare(
    `SELECT order_id, reason, payment_id, amount_cents, currency, status
     FROM refunds WHERE product_id = ?`,
  )
    .bind(productId)
    .all();
  return { orders: orders.results, refunds: refunds.results };
}
