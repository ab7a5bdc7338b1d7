import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { expect, type MockInstance } from "vitest";
import worker from "../src/index";

const ORIGIN = "http://checkout.test";

function required(value: string | undefined, name: string): string {
  if (!value) throw new Error(`the test pool must set ${name} (test/vitest.config.ts)`);
  return value;
}

export const ADMIN = { authorization: `Bearer ${required(env.ADMIN_TOKEN, "ADMIN_TOKEN")}` };

export interface Answer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface CallOptions {
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  /** Another app than the deployed Worker, e.g. one built with a faulty stub. */
  app?: { fetch: typeof worker.fetch };
  /** Variables to change for this request only. */
  vars?: Partial<Cloudflare.Env>;
}

/** Send a request through the real Worker (router, object, D1) and read its JSON answer. */
export async function call<T = any>(
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers["content-type"] ??= "application/json";
  }
  const request = new Request(`${ORIGIN}${path}`, { method, headers, body });
  const res =
    options.app || options.vars
      ? await (options.app ?? worker).fetch(
          request,
          { ...env, ...options.vars },
          createExecutionContext(),
        )
      : await exports.default.fetch(request);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

// Each test works on products of its own, so tests never share stock.
let lastProductId = 1_000 + Math.floor(Math.random() * 1_000_000_000);

export async function newProduct(stock: number, priceCents = 2_500): Promise<number> {
  const id = ++lastProductId;
  const res = await call("POST", "/api/admin/products", {
    headers: ADMIN,
    json: { id, name: `Test product ${id}`, price_cents: priceCents, currency: "EUR", stock },
  });
  if (res.status !== 201)
    throw new Error(`could not create product: ${res.status} ${JSON.stringify(res.body)}`);
  return id;
}

export const getProduct = (id: number) => call("GET", `/api/products/${id}`);
/** A product's metrics with the full check: every counter re-derived from the rows. */
export const metrics = (id: number) =>
  call("GET", `/api/admin/products/${id}/metrics?check=full`, { headers: ADMIN });

export const hold = (
  productId: number,
  qty = 1,
  headers: Record<string, string> = {},
  app?: CallOptions["app"],
  vars?: CallOptions["vars"],
) => call("POST", "/api/holds", { json: { product_id: productId, qty }, headers, app, vars });

export const order = (holdId: string, headers: Record<string, string> = {}) =>
  call("POST", "/api/orders", { json: { hold_id: holdId }, headers });

/** An order for `qty` units of a product, via a hold. */
export async function pendingOrder(
  productId: number,
  qty = 1,
  headers: Record<string, string> = {},
): Promise<any> {
  const h = await hold(productId, qty, headers);
  if (h.status !== 201) throw new Error(`hold failed: ${h.status} ${JSON.stringify(h.body)}`);
  const o = await order(h.body.hold_id, headers);
  if (o.status !== 201) throw new Error(`order failed: ${o.status} ${JSON.stringify(o.body)}`);
  return o.body;
}

/** The pool sets WEBHOOK_SECRET (vitest.config.ts), so tests sign webhooks as a gateway would. */
export const WEBHOOK_SECRET = required(env.WEBHOOK_SECRET, "WEBHOOK_SECRET");
const signer = new Webhook(WEBHOOK_SECRET);
let webhookSeq = 0;

/** Standard Webhooks headers for `payload`, signed with the test secret. */
export function signatureHeaders(
  payload: string,
  options: { id?: string; at?: Date; secret?: string } = {},
): Record<string, string> {
  const id = options.id ?? `msg_${Date.now()}_${++webhookSeq}`;
  const at = options.at ?? new Date();
  const sign = options.secret ? new Webhook(options.secret) : signer;
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": sign.sign(id, at, payload),
  };
}

/** A signed payment webhook, as the gateway sends it. */
export function webhook(
  payload: { idempotency_key?: string; order_id: string; status: string },
  options: { id?: string } = {},
) {
  const body = JSON.stringify(payload);
  return call("POST", "/api/payments/webhook", { body, headers: signatureHeaders(body, options) });
}

export const uniqueKey = (label = "key") => `${label}-${crypto.randomUUID()}`;

/** The gateway says an order was paid (a webhook under a new key). */
export const paySuccess = (orderId: string) =>
  webhook({ idempotency_key: uniqueKey(), order_id: orderId, status: "success" });

export const productObject = (productId: number) => env.PRODUCTS.getByName(String(productId));

/** Requests as a named shopper, the way a trusted storefront backend names one (no token secret set). */
export const as = (shopperId: string): Record<string, string> => ({ "x-shopper-id": shopperId });

/** A shopper id no other test uses. */
export const newShopper = (label = "shopper") => `${label}-${crypto.randomUUID().slice(0, 8)}`;

export const release = (
  holdId: string,
  headers: Record<string, string> = {},
  vars?: CallOptions["vars"],
) => call("DELETE", `/api/holds/${holdId}`, { headers, vars });

export const cancel = (
  orderId: string,
  headers: Record<string, string> = {},
  vars?: CallOptions["vars"],
) => call("POST", `/api/orders/${orderId}/cancel`, { headers, vars });

export const readOrder = (orderId: string, headers: Record<string, string> = {}) =>
  call("GET", `/api/orders/${orderId}`, { headers });

export const patchProduct = (id: number, json: unknown) =>
  call("PATCH", `/api/admin/products/${id}`, { headers: ADMIN, json });

/** Assert an error answer: its status, its code, and that it says something. */
export function expectError(res: Answer, status: number, code: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(res.body.error.message).toBeTruthy();
}

/** The JSON log lines written with `level` whose message is `message`. */
export function logLines(spy: MockInstance, message: string): Record<string, unknown>[] {
  return spy.mock.calls
    .map(([line]) => {
      try {
        return JSON.parse(String(line)) as Record<string, unknown>;
      } catch {
        return {};
      }
    })
    .filter((line) => line.message === message);
}
