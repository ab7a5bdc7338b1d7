import { describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { productStub } from "../src/reach/product";
import {
  as,
  call,
  expectError,
  getProduct,
  hold,
  logLines,
  newProduct,
  newShopper,
  patchProduct,
  release,
} from "./helpers";

/** The deployed limit (wrangler.toml): 20 requests per 10 s per client. */
const LIMIT = 20;
const ON = { RATE_LIMITS: "on" };

/**
 * The limiter counts in windows aligned to the wall clock (every 10 s): start a burst early in
 * one, so the burst does not straddle two and see a fresh budget halfway.
 */
async function earlyInWindow(): Promise<void> {
  const left = 10_000 - (Date.now() % 10_000);
  if (left < 6_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

describe("rate limits (Workers Rate Limiting binding)", () => {
  it("past the limit a shopper gets 429 rate_limited with Retry-After, and the object never sees it", async () => {
    const id = await newProduct(1_000);
    await patchProduct(id, { max_units_per_shopper: 1_000 });
    let objectCalls = 0;
    const app = createApp({
      stubFor: (e, productId) => {
        objectCalls++;
        return productStub(e, productId);
      },
    });
    const shopper = as(newShopper());
    await earlyInWindow();
    const answers = [];
    for (let i = 0; i < LIMIT + 5; i++) answers.push(await hold(id, 1, shopper, app, ON));
    expect(answers.slice(0, LIMIT).every((a) => a.status === 201)).toBe(true);
    for (const limited of answers.slice(LIMIT)) {
      expectError(limited, 429, "rate_limited");
      expect(limited.headers.get("retry-after")).toBe("10");
    }
    expect(objectCalls).toBe(LIMIT);
    expect((await getProduct(id)).body.reserved).toBe(LIMIT);
  });

  it("counts holds, orders and releases together, per shopper: another shopper is not limited", async () => {
    const id = await newProduct(1_000);
    const shopper = as(newShopper());
    await earlyInWindow();
    const h = (await hold(id, 1, shopper, undefined, ON)).body;
    for (let i = 0; i < LIMIT - 1; i++) await release(h.hold_id, shopper, ON);
    expectError(await release(h.hold_id, shopper, ON), 429, "rate_limited");
    expectError(
      await call("POST", "/api/orders", {
        json: { hold_id: h.hold_id },
        headers: shopper,
        vars: ON,
      }),
      429,
      "rate_limited",
    );
    expect((await hold(id, 1, as(newShopper()), undefined, ON)).status).toBe(201);
  });

  it("anonymous callers are limited by CF-Connecting-IP", async () => {
    const id = await newProduct(1_000);
    await earlyInWindow();
    const ip = {
      "cf-connecting-ip": `198.51.100.${Math.floor(Math.random() * 250)}-${crypto.randomUUID()}`,
    };
    for (let i = 0; i < LIMIT; i++) expect((await hold(id, 1, ip, undefined, ON)).status).toBe(201);
    expectError(await hold(id, 1, ip, undefined, ON), 429, "rate_limited");
    expect((await hold(id, 1, { "cf-connecting-ip": "203.0.113.7" }, undefined, ON)).status).toBe(
      201,
    );
  });

  it("RATE_LIMITS=off (npm start) applies no limit", async () => {
    const id = await newProduct(1_000);
    for (let i = 0; i < LIMIT + 5; i++) expect((await hold(id, 1)).status).toBe(201);
  });
});

/** A limiter that refuses everyone, and remembers the keys it was asked about. */
function refusing(keys: string[]): RateLimit {
  return {
    limit: ({ key }: { key: string }) => {
      keys.push(key);
      return Promise.resolve({ success: false });
    },
  };
}

describe("every route that reaches an object is rate limited, before the object is called", () => {
  it("public reads, ticket polls and upgrades by address; shopper routes by shopper; 429 with Retry-After", async () => {
    const id = await newProduct(10);
    await patchProduct(id, { queue: { enabled: true } });
    const shopper = as(newShopper());
    const ticket = (await call("POST", `/api/products/${id}/queue`, { headers: shopper })).body
      .ticket;
    await patchProduct(id, { queue: { enabled: false } });
    const h = (await hold(id, 1, shopper)).body;
    const o = (
      await call("POST", "/api/orders", { json: { hold_id: h.hold_id }, headers: shopper })
    ).body;
    let objectCalls = 0;
    const app = createApp({
      stubFor: (e, productId) => {
        objectCalls++;
        return productStub(e, productId);
      },
    });
    const publicKeys: string[] = [];
    const shopperKeys: string[] = [];
    const vars = {
      RATE_LIMITS: "on",
      PUBLIC_RATE_LIMITER: refusing(publicKeys),
      SHOPPER_RATE_LIMITER: refusing(shopperKeys),
    };
    const ip = { "cf-connecting-ip": "192.0.2.44" };
    const who = { ...ip, ...shopper };
    const requests: [string, string, Record<string, string>, unknown?][] = [
      ["GET", `/api/products/${id}`, ip],
      ["GET", `/api/products/${id}/live`, { ...ip, upgrade: "websocket" }],
      ["GET", `/api/queue/${ticket}`, ip],
      ["GET", `/api/orders/${o.order_id}`, ip],
      ["GET", `/api/orders/${o.order_id}`, who],
      ["POST", `/api/orders/${o.order_id}/cancel`, who],
      ["POST", `/api/products/${id}/queue`, who],
      ["POST", "/api/holds", who, { product_id: id, qty: 1 }],
      ["POST", "/api/orders", who, { hold_id: h.hold_id }],
      ["DELETE", `/api/holds/${h.hold_id}`, who],
    ];
    for (const [method, path, headers, json] of requests) {
      const res = await call(method, path, { headers, json, app, vars });
      expectError(res, 429, "rate_limited");
      expect(res.headers.get("retry-after"), `${method} ${path}`).toBe("10");
    }
    expect(objectCalls).toBe(0);
    expect(publicKeys).toEqual(Array(4).fill("ip:192.0.2.44"));
    expect(shopperKeys).toEqual(Array(6).fill(`shopper:${shopper["x-shopper-id"]}`));
    // Nothing changed: the hold and the order are as they were.
    expect((await getProduct(id)).body.reserved).toBe(1);
  });

  it("RATE_LIMITS other than on or off: every request is 503 configuration_invalid, logged", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      for (const value of ["yes", "On", "", "true"]) {
        for (const path of ["/healthz", "/api/products/1"]) {
          const res = await call("GET", path, { vars: { RATE_LIMITS: value } });
          expectError(res, 503, "configuration_invalid");
          expect(res.body.error.message).toContain("RATE_LIMITS must be on or off");
        }
      }
      expect(logLines(errors, "Configuration refused.").length).toBeGreaterThan(0);
    } finally {
      errors.mockRestore();
    }
    expect((await call("GET", "/healthz", { vars: { RATE_LIMITS: "off" } })).status).toBe(200);
    expect((await call("GET", "/healthz", { vars: { RATE_LIMITS: "on" } })).status).toBe(200);
  });
});
