import { Validator } from "@cfworker/json-schema";
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { insertCatalogue } from "../src/catalogue/catalogue";
import type { ProductObject } from "../src/product/product-object";
import {
  ADMIN,
  as,
  call,
  type Answer,
  type CallOptions,
  newProduct,
  newShopper,
  patchProduct,
  pendingOrder,
  productObject,
  signatureHeaders,
  uniqueKey,
  webhook,
} from "./helpers";

/**
 * The contract, checked live: every operation of GET /openapi.json is called through the real
 * Worker (happy paths and the main error paths), and every answer must be one its operation
 * documents: the status, the headers the document says it carries (and no undocumented one of
 * ours), the body against the documented JSON Schema, and an error's code among the codes
 * documented for that status.
 *
 * Bodies are validated against the document itself (not the zod schemas it is generated from),
 * so what clients are told is what is checked. The validator is @cfworker/json-schema: it runs in
 * workerd (no code generation from strings, which workerd forbids and Ajv needs) and speaks JSON
 * Schema 2020-12, the dialect of OpenAPI 3.1. Objects are checked strictly here (no properties
 * beyond the documented ones), stricter than the document, to catch undocumented fields.
 */

interface Operation {
  operationId: string;
  responses: Record<string, Ref | ResponseDoc>;
}
interface Ref {
  $ref: string;
}
interface HeaderDoc {
  required?: boolean;
  schema: { type?: string; enum?: string[] };
}
interface ResponseDoc {
  description: string;
  headers?: Record<string, Ref | HeaderDoc>;
  content?: Record<string, { schema: object; examples?: Record<string, unknown> }>;
}

let doc: any;
/** Statuses seen per operationId. */
const seen = new Map<string, Set<number>>();

/** The headers this API sets itself: when one is on an answer, the answer must document it. */
const OUR_HEADERS = [
  "request-id",
  "retry-after",
  "idempotent-replayed",
  "allow",
  "www-authenticate",
  "upgrade",
];

function resolve<T>(node: T | Ref): T {
  if (node && typeof node === "object" && "$ref" in node) {
    const path = node.$ref.replace(/^#\//, "").split("/");
    return resolve(path.reduce((at: any, key) => at?.[key.replace(/~1/g, "/")], doc) as T);
  }
  return node;
}

/** Objects in response schemas may not carry properties the document does not name. */
function strict(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strict);
  if (!node || typeof node !== "object") return node;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) copy[key] = strict(value);
  if (copy.type === "object" && copy.properties && !("additionalProperties" in copy)) {
    copy.additionalProperties = false;
  }
  return copy;
}

const validators = new Map<string, Validator>();
function validate(schema: object, body: unknown): string[] {
  const key = JSON.stringify(schema);
  let validator = validators.get(key);
  if (!validator) {
    // The document's component schemas ride along, so `#/components/schemas/…` resolves.
    const root = {
      ...(strict(schema) as object),
      components: strict({ schemas: doc.components.schemas }),
    };
    validator = new Validator(root, "2020-12", false);
    validators.set(key, validator);
  }
  const result = validator.validate(body);
  return result.valid
    ? []
    : result.errors.map((e) => `${e.instanceLocation} ${e.keywordLocation}: ${e.error}`);
}

function headerMatches(value: string, schema: HeaderDoc["schema"]): boolean {
  if (schema.enum && !schema.enum.includes(value)) return false;
  if (schema.type === "integer") return /^[0-9]+$/.test(value);
  return true;
}

/** Check an answer against the operation `method template`; or, for a method the path does not
 * answer (405), against every operation of the path. Returns the answer. */
function conforms<T extends Answer>(answer: T, method: string, template: string): T {
  const item = doc.paths[template] as Record<string, Operation> | undefined;
  expect(item, `${template} is not a documented path`).toBeDefined();
  const own = item![method.toLowerCase()];
  const operations = own ? [own] : Object.values(item!);
  if (!own) expect(answer.status, `${method} ${template} is not documented`).toBe(405);
  const what = `${method} ${template} → ${answer.status} ${JSON.stringify(answer.body)}`;
  for (const operation of operations) {
    const documented = operation.responses[String(answer.status)];
    expect(documented, `${what}: status not documented for ${operation.operationId}`).toBeDefined();
    const response = resolve<ResponseDoc>(documented!);
    const headers = Object.fromEntries(
      Object.entries(response.headers ?? {}).map(([name, h]) => [
        name.toLowerCase(),
        resolve<HeaderDoc>(h),
      ]),
    );
    for (const [name, header] of Object.entries(headers)) {
      const value = answer.headers.get(name);
      if (header.required) expect(value, `${what}: ${name} header missing`).not.toBeNull();
      if (value !== null) {
        expect(headerMatches(value, header.schema), `${what}: ${name}: ${value}`).toBe(true);
      }
    }
    for (const name of OUR_HEADERS) {
      if (answer.headers.has(name)) {
        expect(Object.keys(headers), `${what}: ${name} header not documented`).toContain(name);
      }
    }
    const media = response.content?.["application/json"];
    if (media) {
      expect(answer.headers.get("content-type"), what).toMatch(/^application\/json/);
      expect(validate(media.schema, answer.body), what).toEqual([]);
      if (answer.status >= 400) {
        expect(Object.keys(media.examples ?? {}), `${what}: code not documented`).toContain(
          answer.body.error.code,
        );
      }
    } else {
      expect(answer.body, what).toBeNull();
    }
    const statuses = seen.get(operation.operationId) ?? new Set<number>();
    statuses.add(answer.status);
    seen.set(operation.operationId, statuses);
  }
  return answer;
}

/** Call `path` (an instance of `template`) and check the answer against the document. */
async function check(method: string, template: string, path: string, options?: CallOptions) {
  return conforms(await call(method, path, options), method, template);
}

/** Longer than the 128 characters a shopper id may have. */
const BAD_SHOPPER = "s".repeat(129);
const unknownProductId = () => 2_100_000_000 + Math.floor(Math.random() * 1_000_000);
const hex32 = () => crypto.randomUUID().replaceAll("-", "");
const json = (body: unknown) => ({ json: body });
const shopperSecret = "conformance-shopper-secret-0123456789";
const stripeSecret = "whsec_conformance_stripe_secret_0123456789";
/** An app whose product objects are all overloaded: every call to one is a 503. */
const busyApp = () =>
  createApp({
    stubFor: () =>
      new Proxy({} as any, {
        get: () => () =>
          Promise.reject(Object.assign(new Error("overloaded"), { overloaded: true })),
      }),
  });
/** The rate limiter saying no to everyone. */
const LIMITED = {
  RATE_LIMITS: "on",
  SHOPPER_RATE_LIMITER: { limit: async () => ({ success: false }) } as any,
};

beforeAll(async () => {
  const res = await call("GET", "/openapi.json");
  expect(res.status).toBe(200);
  doc = res.body;
});

describe("live answers match GET /openapi.json", () => {
  it("service: GET /healthz, GET /api/config, and 405 on a known path", async () => {
    await check("GET", "/healthz", "/healthz");
    await check("GET", "/api/config", "/api/config");
    await check("PUT", "/healthz", "/healthz");
    const wrong = await check("DELETE", "/api/products/{id}", "/api/products/1");
    expect(wrong.headers.get("allow")).toBe("GET");
    await check("PUT", "/api/admin/products", "/api/admin/products", { headers: ADMIN });
  });

  it("GET /api/products/{id}", async () => {
    const id = await newProduct(5);
    await check("GET", "/api/products/{id}", `/api/products/${id}`);
    await check("GET", "/api/products/{id}", `/api/products/${unknownProductId()}`);
    await check("GET", "/api/products/{id}", "/api/products/abc");
    const busy = await check("GET", "/api/products/{id}", `/api/products/${id}`, {
      app: busyApp(),
    });
    expect(busy.status).toBe(503);
  });

  it("POST /api/holds", async () => {
    const id = await newProduct(2);
    const key = uniqueKey();
    const made = await check("POST", "/api/holds", "/api/holds", {
      ...json({ product_id: id, qty: 1 }),
      headers: { "idempotency-key": key },
    });
    expect(made.status).toBe(201);
    const replayed = await check("POST", "/api/holds", "/api/holds", {
      ...json({ product_id: id, qty: 1 }),
      headers: { "idempotency-key": key },
    });
    expect(replayed.headers.get("idempotent-replayed")).toBe("true");
    const codes = async (options: CallOptions) =>
      (await check("POST", "/api/holds", "/api/holds", options)).body.error?.code;
    expect(
      await codes({ ...json({ product_id: id, qty: 2 }), headers: { "idempotency-key": key } }),
    ).toBe("idempotency_key_reused");
    expect(await codes(json({ product_id: id, qty: 5 }))).toBe("insufficient_stock");
    expect(await codes(json({ product_id: unknownProductId(), qty: 1 }))).toBe("product_not_found");
    expect(await codes(json({ product_id: id, qty: 0 }))).toBe("invalid_request");
    expect(await codes({ body: "{", headers: { "content-type": "application/json" } })).toBe(
      "invalid_json",
    );
    expect(await codes({ body: "qty=1", headers: { "content-type": "text/plain" } })).toBe(
      "unsupported_media_type",
    );
    expect(
      await codes({ ...json({ product_id: id, qty: 1, padding: "x".repeat(17 * 1024) }) }),
    ).toBe("payload_too_large");
    expect(
      await codes({
        ...json({ product_id: id, qty: 1 }),
        headers: { "x-shopper-id": BAD_SHOPPER },
      }),
    ).toBe("invalid_request");
    expect(
      await codes({
        ...json({ product_id: id, qty: 1 }),
        vars: { ALLOW_ANONYMOUS_SHOPPERS: "false" },
      }),
    ).toBe("shopper_auth_not_configured");
    expect(
      await codes({
        ...json({ product_id: id, qty: 1 }),
        vars: { SHOPPER_TOKEN_SECRET: shopperSecret },
      }),
    ).toBe("shopper_token_required");
    expect(
      await codes({
        ...json({ product_id: id, qty: 1 }),
        headers: { authorization: "Bearer not.a.jwt" },
        vars: { SHOPPER_TOKEN_SECRET: shopperSecret },
      }),
    ).toBe("invalid_shopper_token");
    const limited = await check("POST", "/api/holds", "/api/holds", {
      ...json({ product_id: id, qty: 1 }),
      vars: LIMITED,
    });
    expect(limited.body.error.code).toBe("rate_limited");
    expect(await codes({ ...json({ product_id: id, qty: 1 }), app: busyApp() })).toBe(
      "service_unavailable",
    );

    const later = await newProduct(5);
    await patchProduct(later, { sale_starts_at: new Date(Date.now() + 3_600_000).toISOString() });
    expect(await codes(json({ product_id: later, qty: 1 }))).toBe("sale_not_started");
    const queued = await newProduct(5);
    await patchProduct(queued, {
      queue: { enabled: true, admit_per_second: 1_000, admission_ttl_seconds: 60 },
    });
    expect(await codes(json({ product_id: queued, qty: 1 }))).toBe("admission_required");
    expect(await codes(json({ product_id: queued, qty: 1, admission_token: "forged" }))).toBe(
      "invalid_admission",
    );
    // A shopper with a token: the whole flow still conforms.
    const token = await sign(
      { sub: newShopper(), exp: Math.floor(Date.now() / 1000) + 600 },
      shopperSecret,
    );
    const withToken = await check("POST", "/api/holds", "/api/holds", {
      ...json({ product_id: id, qty: 1 }),
      headers: { authorization: `Bearer ${token}` },
      vars: { SHOPPER_TOKEN_SECRET: shopperSecret },
    });
    expect(withToken.status).toBe(201);
    expect(withToken.body.shopper_id).toBeTruthy();
  });

  it("DELETE /api/holds/{id}", async () => {
    const id = await newProduct(5);
    const owner = as(newShopper());
    const h = (
      await check("POST", "/api/holds", "/api/holds", {
        ...json({ product_id: id, qty: 1 }),
        headers: owner,
      })
    ).body;
    const path = `/api/holds/${h.hold_id}`;
    expect(
      (await check("DELETE", "/api/holds/{id}", path, { headers: as(newShopper()) })).body.error
        .code,
    ).toBe("not_your_hold");
    expect((await check("DELETE", "/api/holds/{id}", path, { headers: owner })).body.status).toBe(
      "released",
    );
    expect(
      (await check("DELETE", "/api/holds/{id}", `/api/holds/hld_${id}_${hex32()}`)).status,
    ).toBe(404);
    expect((await check("DELETE", "/api/holds/{id}", `/api/holds/${"x".repeat(201)}`)).status).toBe(
      422,
    );
    expect(
      (await check("DELETE", "/api/holds/{id}", path, { headers: owner, vars: LIMITED })).status,
    ).toBe(429);
    expect(
      (
        await check("DELETE", "/api/holds/{id}", path, {
          body: "x".repeat(17 * 1024),
          headers: owner,
        })
      ).status,
    ).toBe(413);
    const ordered = await pendingOrder(id, 1);
    expect(
      (await check("DELETE", "/api/holds/{id}", `/api/holds/${ordered.hold_id}`)).body.error.code,
    ).toBe("hold_already_ordered");
  });

  it("POST /api/orders, GET /api/orders/{id}, POST /api/orders/{id}/cancel", async () => {
    const id = await newProduct(5);
    const owner = as(newShopper());
    const stranger = as(newShopper());
    const h = (
      await check("POST", "/api/holds", "/api/holds", {
        ...json({ product_id: id, qty: 1 }),
        headers: owner,
      })
    ).body;
    const order = (body: unknown, options: CallOptions = {}) =>
      check("POST", "/api/orders", "/api/orders", { ...json(body), ...options });
    expect((await order({ hold_id: h.hold_id }, { headers: stranger })).body.error.code).toBe(
      "not_your_hold",
    );
    const created = await order({ hold_id: h.hold_id }, { headers: owner });
    expect(created.status).toBe(201);
    expect((await order({ hold_id: h.hold_id }, { headers: owner })).status).toBe(200);
    expect((await order({ hold_id: `hld_${id}_${hex32()}` })).status).toBe(404);
    expect((await order({ hold: "x" })).status).toBe(422);
    expect(
      (
        await check("POST", "/api/orders", "/api/orders", {
          body: "{",
          headers: { "content-type": "application/json" },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await check("POST", "/api/orders", "/api/orders", {
          body: "x",
          headers: { "content-type": "text/plain" },
        })
      ).status,
    ).toBe(415);
    expect((await order({ hold_id: h.hold_id }, { vars: LIMITED })).status).toBe(429);
    const released = (
      await check("POST", "/api/holds", "/api/holds", json({ product_id: id, qty: 1 }))
    ).body;
    await check("DELETE", "/api/holds/{id}", `/api/holds/${released.hold_id}`);
    expect((await order({ hold_id: released.hold_id })).body.error.code).toBe("hold_released");

    const orderId = created.body.order_id;
    const read = (options: CallOptions = {}, path = `/api/orders/${orderId}`) =>
      check("GET", "/api/orders/{id}", path, options);
    expect((await read({ headers: owner })).status).toBe(200);
    expect((await read({ headers: ADMIN })).status).toBe(200);
    expect((await read({ headers: stranger })).status).toBe(404);
    expect((await read({ headers: { "x-shopper-id": BAD_SHOPPER } })).status).toBe(422);
    expect(
      (
        await read({
          headers: { authorization: "Bearer nope" },
          vars: { SHOPPER_TOKEN_SECRET: shopperSecret },
        })
      ).body.error.code,
    ).toBe("invalid_shopper_token");
    expect((await read({ app: busyApp() })).status).toBe(503);

    const cancel = (target: string, options: CallOptions = {}) =>
      check("POST", "/api/orders/{id}/cancel", `/api/orders/${target}/cancel`, options);
    expect((await cancel(orderId, { headers: stranger })).body.error.code).toBe("not_your_order");
    expect((await cancel(orderId, { headers: owner })).body.status).toBe("cancelled");
    expect((await cancel(`ord_${id}_${hex32()}`)).status).toBe(404);
    const paid = await pendingOrder(id, 1);
    await webhook({ idempotency_key: uniqueKey(), order_id: paid.order_id, status: "success" });
    expect((await cancel(paid.order_id)).body.error.code).toBe("order_not_pending");
    expect(
      (await cancel(paid.order_id, { vars: { ALLOW_ANONYMOUS_SHOPPERS: "false" } })).status,
    ).toBe(503);
  });

  it("the queue: POST /api/products/{id}/queue, GET /api/queue/{ticket}", async () => {
    const id = await newProduct(5);
    const join = (options: CallOptions = {}, product = id) =>
      check("POST", "/api/products/{id}/queue", `/api/products/${product}/queue`, options);
    expect((await join()).body.error.code).toBe("queue_disabled");
    await patchProduct(id, {
      queue: { enabled: true, admit_per_second: 1_000, admission_ttl_seconds: 60 },
    });
    const shopper = as(newShopper());
    const joined = await join({ headers: shopper });
    expect(joined.status).toBe(201);
    expect((await join({ headers: shopper, ...json({}) })).status).toBe(200);
    expect((await join({}, unknownProductId())).status).toBe(404);
    expect((await join({ body: "x", headers: { "content-type": "text/plain" } })).status).toBe(415);
    expect(
      (await join({ body: "{", headers: { "content-type": "application/json" } })).status,
    ).toBe(400);
    expect((await join(json({ extra: 1 }))).status).toBe(422);
    expect((await join({ vars: { QUEUE_SECRET: "" } })).body.error.code).toBe(
      "queue_not_configured",
    );

    const ticket = (path: string, options: CallOptions = {}) =>
      check("GET", "/api/queue/{ticket}", path, options);
    const mine = await vi.waitFor(async () => {
      const res = await ticket(`/api/queue/${joined.body.ticket}`, { headers: shopper });
      expect(res.body.state).toBe("admitted");
      return res;
    });
    expect(mine.body.admission_token).toBeTruthy();
    expect((await ticket("/api/queue/qt1.forged.x")).body.error.code).toBe("invalid_ticket");
    expect(
      (await ticket(`/api/queue/${joined.body.ticket}`, { vars: { QUEUE_SECRET: "" } })).status,
    ).toBe(503);
    expect((await ticket(`/api/queue/${"x".repeat(1_001)}`)).status).toBe(422);
    const held = await check("POST", "/api/holds", "/api/holds", {
      ...json({ product_id: id, qty: 1, admission_token: mine.body.admission_token }),
      headers: shopper,
    });
    expect(held.status).toBe(201);
    const again = await check("POST", "/api/holds", "/api/holds", {
      ...json({ product_id: id, qty: 1, admission_token: mine.body.admission_token }),
      headers: shopper,
    });
    expect(again.body.error.code).toBe("admission_used");

    const leave = (path: string, options: CallOptions = {}) =>
      check("DELETE", "/api/queue/{ticket}", path, options);
    const other = as(newShopper());
    const theirs = await join({ headers: other });
    expect((await leave(`/api/queue/${theirs.body.ticket}`, { headers: shopper })).status).toBe(
      403,
    );
    expect((await leave("/api/queue/qt1.forged.x", { headers: other })).status).toBe(403);
    expect((await leave(`/api/queue/${theirs.body.ticket}`, { headers: other })).status).toBe(200);
    expect(
      (
        await leave(`/api/queue/${theirs.body.ticket}`, {
          headers: other,
          vars: { QUEUE_SECRET: "" },
        })
      ).status,
    ).toBe(503);
    expect((await leave(`/api/queue/${"x".repeat(1_001)}`, { headers: other })).status).toBe(422);
  });

  it("POST /api/orders/{id}/checkout", async () => {
    const id = await newProduct(5);
    await runInDurableObject(productObject(id), (instance: ProductObject) => {
      (instance as unknown as { env: object }).env = { ...env, PAYMENT_TTL_SECONDS: "2400" };
    });
    const o = await pendingOrder(id, 1);
    const stripe = {
      STRIPE_SECRET_KEY: env.FAKE_STRIPE_KEY,
      STRIPE_API_BASE: env.FAKE_STRIPE_URL,
      PAYMENT_TTL_SECONDS: "2400",
    };
    const pay = (orderId: string, vars: Partial<Cloudflare.Env> = stripe, headers = {}) =>
      check("POST", "/api/orders/{id}/checkout", `/api/orders/${orderId}/checkout`, {
        vars,
        headers,
      });
    expect((await pay(o.order_id)).status).toBe(200);
    expect((await pay(`ord_${id}_${hex32()}`)).status).toBe(404);
    expect((await pay(o.order_id, { ...stripe, STRIPE_SECRET_KEY: undefined })).status).toBe(503);
    expect((await pay(o.order_id, { ...stripe, PAYMENT_TTL_SECONDS: "60" })).status).toBe(503);
    expect((await pay(o.order_id, stripe, as(newShopper()))).status).toBe(200);
    const late = await pendingOrder(await newProduct(1), 1);
    expect((await pay(late.order_id)).status).toBe(409);
  });

  it("admin: orders, GET /api/admin/orders and GET /api/admin/orders/{id}", async () => {
    const id = await newProduct(5);
    const o = await pendingOrder(id, 1);
    await vi.waitFor(async () =>
      expect(
        (
          await check("GET", "/api/admin/orders", `/api/admin/orders?product_id=${id}`, {
            headers: ADMIN,
          })
        ).body.orders,
      ).toHaveLength(1),
    );
    expect(
      (await check("GET", "/api/admin/orders", "/api/admin/orders?limit=0", { headers: ADMIN }))
        .status,
    ).toBe(422);
    expect((await check("GET", "/api/admin/orders", "/api/admin/orders")).status).toBe(401);
    const one = (orderId: string, options: CallOptions = { headers: ADMIN }) =>
      check("GET", "/api/admin/orders/{id}", `/api/admin/orders/${orderId}`, options);
    expect((await one(o.order_id)).status).toBe(200);
    expect((await one(`ord_${id}_${hex32()}`)).status).toBe(404);
    expect((await one(o.order_id, {})).status).toBe(401);
  });

  it("GET /api/products/{id}/live", async () => {
    const id = await newProduct(5);
    const live = (path: string) => check("GET", "/api/products/{id}/live", path);
    const plain = await live(`/api/products/${id}/live`);
    expect(plain.body.error.code).toBe("upgrade_required");
    expect(plain.headers.get("upgrade")).toBe("websocket");
    expect((await live(`/api/products/${id}/live?ticket=forged`)).status).toBe(426);
    const upgrade = { headers: { upgrade: "websocket" } };
    const socket = async (path: string) => {
      const res = await exports.default.fetch(new Request(`http://checkout.test${path}`, upgrade));
      res.webSocket?.accept();
      res.webSocket?.close(1000, "done");
      const body: any = res.webSocket ? null : await res.json();
      return conforms(
        { status: res.status, body, headers: res.headers },
        "GET",
        "/api/products/{id}/live",
      );
    };
    expect((await socket(`/api/products/${id}/live`)).status).toBe(101);
    expect((await socket(`/api/products/${unknownProductId()}/live`)).status).toBe(404);
    expect((await socket(`/api/products/${id}/live?ticket=qt1.forged.x`)).status).toBe(403);
    expect((await socket(`/api/products/x/live`)).status).toBe(422);

    // A product in the catalogue whose object, waking for the socket, cannot read it: a 503 in
    // this API's words (the object's own refusal used to pass through as a bare 404).
    const asleep = unknownProductId();
    await insertCatalogue(env.DB, {
      id: asleep,
      name: "Asleep",
      price_cents: 100,
      currency: "EUR",
      initial_stock: 1,
      sale_starts_at: null,
      sale_ends_at: null,
      max_units_per_shopper: null,
      late_payments: null,
      queue_enabled: 0,
      queue_admit_per_second: 50,
      queue_admission_ttl_seconds: 60,
      image_url: null,
      description: null,
    });
    await runInDurableObject(productObject(asleep), (instance: ProductObject) => {
      const down = {
        prepare: () => {
          throw new Error("D1_ERROR: Network connection lost.");
        },
      };
      (instance as unknown as { env: object }).env = { ...env, DB: down };
    });
    const unavailable = await socket(`/api/products/${asleep}/live`);
    expect(unavailable.status).toBe(503);
    expect(unavailable.body.error.code).toBe("service_unavailable");
  });

  it("POST /api/payments/webhook", async () => {
    const id = await newProduct(5);
    const o = await pendingOrder(id, 1);
    const hook = "/api/payments/webhook";
    const key = uniqueKey();
    const paid = conforms(
      await webhook({ idempotency_key: key, order_id: o.order_id, status: "success" }),
      "POST",
      hook,
    );
    expect(paid.body.order_status).toBe("paid");
    const duplicate = conforms(
      await webhook({ idempotency_key: key, order_id: o.order_id, status: "success" }),
      "POST",
      hook,
    );
    expect(duplicate.body.duplicate).toBe(true);
    const reused = conforms(
      await webhook({ idempotency_key: key, order_id: o.order_id, status: "failure" }),
      "POST",
      hook,
    );
    expect(reused.body.error.code).toBe("idempotency_key_reused");
    const unknown = conforms(
      await webhook({
        idempotency_key: uniqueKey(),
        order_id: `ord_${id}_${hex32()}`,
        status: "success",
      }),
      "POST",
      hook,
    );
    expect(unknown.status).toBe(404);
    const signed = (
      body: string,
      headers: Record<string, string> = {},
      vars?: CallOptions["vars"],
    ) =>
      check("POST", hook, hook, { body, headers: { ...signatureHeaders(body), ...headers }, vars });
    expect((await signed("{")).body.error.code).toBe("invalid_json");
    expect((await signed("{}", { "content-type": "text/plain" })).status).toBe(415);
    expect((await signed(JSON.stringify({ status: "success" }))).status).toBe(422);
    expect((await signed("{}", { "webhook-signature": "v1,AAAA" })).body.error.code).toBe(
      "invalid_signature",
    );
    expect((await signed("{}", {}, { WEBHOOK_SECRET: "" })).body.error.code).toBe(
      "webhook_secret_not_configured",
    );
    expect((await signed("{}", {}, { WEBHOOK_SECRET: "whsec_not*base64*" })).body.error.code).toBe(
      "webhook_secret_invalid",
    );
    // A second success for the paid order, under another key: a refund is due (for the admin test).
    const second = conforms(
      await webhook({ idempotency_key: uniqueKey(), order_id: o.order_id, status: "success" }),
      "POST",
      hook,
    );
    expect(second.body.ignored).toBe(true);
  });

  it("POST /api/payments/stripe", async () => {
    const id = await newProduct(5, 2_500);
    const o = await pendingOrder(id, 1);
    const vars = { STRIPE_WEBHOOK_SECRET: stripeSecret };
    const deliver = async (event: Record<string, unknown>, signature?: string) => {
      const payload = JSON.stringify({
        object: "event",
        api_version: "2026-10-28.clover",
        livemode: false,
        created: Math.floor(Date.now() / 1000),
        ...event,
      });
      const header =
        signature ??
        (await Stripe.webhooks.generateTestHeaderStringAsync({
          payload,
          secret: stripeSecret,
          cryptoProvider: Stripe.createSubtleCryptoProvider(),
        }));
      return check("POST", "/api/payments/stripe", "/api/payments/stripe", {
        body: payload,
        headers: { "content-type": "application/json", "stripe-signature": header },
        vars,
      });
    };
    const intent = {
      object: "payment_intent",
      id: "pi_conformance",
      amount: 2_500,
      amount_received: 2_500,
      currency: "eur",
      metadata: { order_id: o.order_id },
    };
    const paid = await deliver({
      id: `evt_${hex32()}`,
      type: "payment_intent.succeeded",
      data: { object: intent },
    });
    expect(paid.body.payment.order_status).toBe("paid");
    const ignored = await deliver({
      id: `evt_${hex32()}`,
      type: "customer.created",
      data: { object: { object: "customer" } },
    });
    expect(ignored.body.ignored).toBe(true);
    const missing = await deliver({
      id: `evt_${hex32()}`,
      type: "payment_intent.succeeded",
      data: { object: { ...intent, metadata: { order_id: `ord_${id}_${hex32()}` } } },
    });
    expect(missing.status).toBe(404);
    expect((await deliver({ id: "evt_x", type: "x" }, "t=1,v1=forged")).body.error.code).toBe(
      "invalid_stripe_signature",
    );
    const unconfigured = await check("POST", "/api/payments/stripe", "/api/payments/stripe", {
      body: "{}",
      headers: { "content-type": "application/json" },
    });
    expect(unconfigured.body.error.code).toBe("stripe_not_configured");
  });

  it("admin: products, restocks and metrics", async () => {
    const products = "/api/admin/products";
    const id = unknownProductId();
    const product = { id, name: "Conformance", price_cents: 100, currency: "EUR", stock: 3 };
    const create = (body: unknown, options: CallOptions = { headers: ADMIN }) =>
      check("POST", products, products, { ...options, ...json(body) });
    expect((await create(product)).status).toBe(201);
    expect((await create(product)).body.error.code).toBe("product_exists");
    const unauthorized = await create(product, {});
    expect(unauthorized.body.error.code).toBe("unauthorized");
    expect(unauthorized.headers.get("www-authenticate")).toContain("Bearer");
    expect((await create(product, { headers: { authorization: "Bearer wrong" } })).status).toBe(
      401,
    );
    expect(
      (await create(product, { headers: ADMIN, vars: { ADMIN_TOKEN: "" } })).body.error.code,
    ).toBe("admin_disabled");
    expect((await create({ ...product, id: "x" })).status).toBe(422);
    expect(
      (
        await create({
          ...product,
          id: unknownProductId(),
          sale_starts_at: "2030-01-02T00:00:00Z",
          sale_ends_at: "2030-01-01T00:00:00Z",
        })
      ).status,
    ).toBe(422);
    expect(
      (
        await create(
          { ...product, id: unknownProductId(), queue: { enabled: true } },
          { headers: ADMIN, vars: { QUEUE_SECRET: "" } },
        )
      ).body.error.code,
    ).toBe("queue_not_configured");
    expect(
      (
        await check("POST", products, products, {
          body: "{",
          headers: { ...ADMIN, "content-type": "application/json" },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await check("POST", products, products, {
          body: "x",
          headers: { ...ADMIN, "content-type": "text/plain" },
        })
      ).status,
    ).toBe(415);

    expect((await check("GET", products, products, { headers: ADMIN })).status).toBe(200);
    expect((await check("GET", products, `${products}?cursor=x`, { headers: ADMIN })).status).toBe(
      422,
    );
    expect((await check("GET", products, products)).status).toBe(401);

    const one = `${products}/{id}`;
    const patch = (target: number, body: unknown, vars?: CallOptions["vars"]) =>
      check("PATCH", one, `${products}/${target}`, { headers: ADMIN, ...json(body), vars });
    expect((await patch(id, { name: "Renamed", max_units_per_shopper: 3 })).body.name).toBe(
      "Renamed",
    );
    expect((await patch(unknownProductId(), { name: "x" })).status).toBe(404);
    expect((await patch(id, { name: "" })).status).toBe(422);
    expect((await patch(id, { queue: { enabled: true } }, { QUEUE_SECRET: "" })).status).toBe(503);

    const restock = `${products}/{id}/restock`;
    const key = uniqueKey();
    const add = (target: number, qty: number, headers: Record<string, string> = {}) =>
      check("POST", restock, `${products}/${target}/restock`, {
        headers: { ...ADMIN, ...headers },
        ...json({ qty }),
      });
    expect((await add(id, 2, { "idempotency-key": key })).body.stock).toBe(5);
    const replay = await add(id, 2, { "idempotency-key": key });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect((await add(id, 3, { "idempotency-key": key })).body.error.code).toBe(
      "idempotency_key_reused",
    );
    expect((await add(unknownProductId(), 1)).status).toBe(404);
    expect((await add(id, 0)).status).toBe(422);

    const metrics = `${products}/{id}/metrics`;
    expect(
      (await check("GET", metrics, `${products}/${id}/metrics?check=full`, { headers: ADMIN })).body
        .invariants.ok,
    ).toBe(true);
    expect(
      (await check("GET", metrics, `${products}/${id}/metrics?check=all`, { headers: ADMIN }))
        .status,
    ).toBe(422);
    expect(
      (await check("GET", metrics, `${products}/${unknownProductId()}/metrics`, { headers: ADMIN }))
        .status,
    ).toBe(404);
    expect(
      (await check("GET", metrics, `${products}/${id}/metrics`, { headers: ADMIN, app: busyApp() }))
        .status,
    ).toBe(503);
  });

  it("admin: refunds", async () => {
    const id = await newProduct(5);
    const o = await pendingOrder(id, 1);
    await webhook({ idempotency_key: uniqueKey(), order_id: o.order_id, status: "success" });
    await webhook({ idempotency_key: uniqueKey(), order_id: o.order_id, status: "success" });
    const list = "/api/admin/refunds";
    const page = await vi.waitFor(async () => {
      const res = await check("GET", list, `${list}?product_id=${id}`, { headers: ADMIN });
      expect(res.body.refunds).toHaveLength(1);
      return res;
    });
    expect((await check("GET", list, `${list}?cursor=not-ours`, { headers: ADMIN })).status).toBe(
      422,
    );
    expect((await check("GET", list, `${list}?status=done`, { headers: ADMIN })).status).toBe(422);
    const resolve = "/api/admin/refunds/{id}/resolve";
    const refundId = page.body.refunds[0].refund_id;
    const done = await check("POST", resolve, `/api/admin/refunds/${refundId}/resolve`, {
      headers: ADMIN,
      ...json({ note: "re_123" }),
    });
    expect(done.body.status).toBe("resolved");
    expect(
      (
        await check("POST", resolve, `/api/admin/refunds/${refundId}/resolve`, {
          headers: ADMIN,
          ...json({ note: "again" }),
        })
      ).status,
    ).toBe(200);
    expect(
      (await check("POST", resolve, `/api/admin/refunds/${refundId}/resolve`, { headers: ADMIN }))
        .status,
    ).toBe(422);
    expect(
      (
        await check("POST", resolve, `/api/admin/refunds/rfd_${id}_${hex32()}/resolve`, {
          headers: ADMIN,
          ...json({ note: "done" }),
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await check("POST", resolve, `/api/admin/refunds/${refundId}/resolve`, {
          headers: ADMIN,
          ...json({ note: 1 }),
        })
      ).status,
    ).toBe(422);
  });

  it("admin: dead letters", async () => {
    const id = await newProduct(5);
    await pendingOrder(id, 1);
    const list = "/api/admin/products/{id}/dead-letters";
    const retry = "/api/admin/products/{id}/dead-letters/{seq}/retry";
    expect(
      (await check("GET", list, `/api/admin/products/${id}/dead-letters`, { headers: ADMIN })).body
        .dead_letters,
    ).toEqual([]);
    expect(
      (
        await check("GET", list, `/api/admin/products/${unknownProductId()}/dead-letters`, {
          headers: ADMIN,
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await check("GET", list, `/api/admin/products/${id}/dead-letters?cursor=x`, {
          headers: ADMIN,
        })
      ).status,
    ).toBe(422);
    // A shard's own dead letters (one that never opened has none), and a shard out of range.
    expect(
      (
        await check("GET", list, `/api/admin/products/${id}/dead-letters?shard=0`, {
          headers: ADMIN,
        })
      ).body.dead_letters,
    ).toEqual([]);
    expect(
      (
        await check("POST", retry, `/api/admin/products/${id}/dead-letters/42/retry?shard=256`, {
          headers: ADMIN,
        })
      ).status,
    ).toBe(422);
    expect(
      (
        await check("POST", retry, `/api/admin/products/${id}/dead-letters/42/retry`, {
          headers: ADMIN,
        })
      ).body.error.code,
    ).toBe("dead_letter_not_found");
    expect(
      (
        await check("POST", retry, `/api/admin/products/${id}/dead-letters/x/retry`, {
          headers: ADMIN,
        })
      ).status,
    ).toBe(422);

    // A D1 that refuses every history write for good: the next event becomes a dead letter.
    const refusing = {
      prepare: (query: string) => ({ bind: () => ({ query }) }),
      batch: async () => {
        throw new Error("D1_ERROR: CHECK constraint failed: orders: SQLITE_CONSTRAINT");
      },
    };
    const useDb = (db: unknown) =>
      runInDurableObject(productObject(id), (instance: ProductObject) => {
        (instance as unknown as { env: object }).env = { ...env, DB: db };
      });
    await useDb(refusing);
    await pendingOrder(id, 1);
    const parked = await vi.waitFor(async () => {
      const res = await check("GET", list, `/api/admin/products/${id}/dead-letters`, {
        headers: ADMIN,
      });
      expect(res.body.dead_letters.length).toBeGreaterThan(0);
      return res;
    });
    await useDb(env.DB);
    const seq = parked.body.dead_letters[0].seq;
    const retried = await check(
      "POST",
      retry,
      `/api/admin/products/${id}/dead-letters/${seq}/retry`,
      { headers: ADMIN },
    );
    expect(retried.body.seq).toBe(seq);
  });
});

afterAll(() => {
  // Every operation of the document was called, and answered with one of its successes.
  const operations = Object.values(doc.paths as Record<string, Record<string, Operation>>).flatMap(
    (item) => Object.values(item),
  );
  const missing = operations
    .filter((op) => ![...(seen.get(op.operationId) ?? [])].some((status) => status < 300))
    .map((op) => op.operationId);
  expect(missing, "operations never answered with a success in this file").toEqual([]);
});
