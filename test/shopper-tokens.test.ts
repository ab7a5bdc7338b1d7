import { sign } from "hono/jwt";
import { describe, expect, it, vi } from "vitest";
import {
  as,
  call,
  cancel,
  expectError,
  getProduct,
  hold,
  logLines,
  newProduct,
  newShopper,
  pendingOrder,
  readOrder,
  release,
} from "./helpers";

const SECRET = "test-shopper-secret-0123456789";
/** The Worker with shopper tokens required. */
const WITH_TOKENS = { SHOPPER_TOKEN_SECRET: SECRET };
const now = () => Math.floor(Date.now() / 1000);

const base64url = (value: unknown) =>
  btoa(JSON.stringify(value)).replaceAll("=", "").replaceAll("+", "-").replaceAll("/", "_");

async function token(
  claims: Record<string, unknown>,
  secret = SECRET,
  alg: "HS256" | "HS512" = "HS256",
) {
  return sign(claims, secret, alg);
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

const holdWithToken = (productId: number, headers: Record<string, string>) =>
  hold(productId, 1, headers, undefined, WITH_TOKENS);

describe("SHOPPER_TOKEN_SECRET set: shoppers show a token", () => {
  it("a valid token names the shopper; X-Shopper-Id is ignored", async () => {
    const id = await newProduct(5);
    const shopper = newShopper();
    const t = await token({ sub: shopper, exp: now() + 600 });
    const res = await holdWithToken(id, { ...bearer(t), ...as("someone-else") });
    expect(res.status).toBe(201);
    expect(res.body.shopper_id).toBe(shopper);
  });

  it("a token expired less than 60 s ago is still accepted (clock skew)", async () => {
    const id = await newProduct(5);
    const res = await holdWithToken(
      id,
      bearer(await token({ sub: newShopper(), exp: now() - 30 })),
    );
    expect(res.status).toBe(201);
  });

  it("no token is 401 shopper_token_required, on every route that takes or gives back stock", async () => {
    const id = await newProduct(5);
    const shopper = newShopper();
    const made = await pendingOrder(id, 1, as(shopper));
    for (const [method, path, json] of [
      ["POST", "/api/holds", { product_id: id, qty: 1 }],
      ["DELETE", `/api/holds/${made.hold_id}`, undefined],
      ["POST", "/api/orders", { hold_id: made.hold_id }],
      ["POST", `/api/orders/${made.order_id}/cancel`, undefined],
    ] as const) {
      const res = await call(method, path, { json, headers: as(shopper), vars: WITH_TOKENS });
      expectError(res, 401, "shopper_token_required");
    }
    expect((await getProduct(id)).body).toMatchObject({ reserved: 1, available: 4 });
    expect(
      (await call("GET", `/api/orders/${made.order_id}`, { headers: as(shopper) })).body.status,
    ).toBe("pending");
  });

  it.each([
    ["expired over a minute ago", () => token({ sub: "alice", exp: now() - 120 })],
    [
      "signed with another secret",
      () => token({ sub: "alice", exp: now() + 600 }, "another-secret"),
    ],
    [
      "alg none",
      async () =>
        `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ sub: "alice", exp: now() + 600 })}.`,
    ],
    ["alg HS512", () => token({ sub: "alice", exp: now() + 600 }, SECRET, "HS512")],
    ["no exp", () => token({ sub: "alice" })],
    ["exp not a number", () => token({ sub: "alice", exp: "tomorrow" })],
    ["no sub", () => token({ exp: now() + 600 })],
    ["a sub that is not printable ASCII", () => token({ sub: "ali\u0000ce", exp: now() + 600 })],
    ["a sub over 128 characters", () => token({ sub: "a".repeat(129), exp: now() + 600 })],
    ["a sub that is a number", () => token({ sub: 42, exp: now() + 600 })],
    [
      "not before a minute from now",
      () => token({ sub: "alice", exp: now() + 600, nbf: now() + 120 }),
    ],
    ["garbage", async () => "not.a.token"],
    [
      "a payload that is not JSON",
      async () => `${base64url({ alg: "HS256", typ: "JWT" })}.bm90IGpzb24.sig`,
    ],
  ])("a token %s is 401 invalid_shopper_token and changes nothing", async (_, make) => {
    const id = await newProduct(5);
    const res = await holdWithToken(id, bearer(await make()));
    expectError(res, 401, "invalid_shopper_token");
    expect((await getProduct(id)).body).toMatchObject({ reserved: 0, available: 5 });
  });

  it("a sub of exactly 128 printable characters is a shopper id", async () => {
    const id = await newProduct(5);
    const sub = `${"x".repeat(120)}-${crypto.randomUUID().slice(0, 7)}`;
    const res = await holdWithToken(id, bearer(await token({ sub, exp: now() + 600 })));
    expect(res.status).toBe(201);
    expect(res.body.shopper_id).toBe(sub);
  });
});

describe("SHOPPER_TOKEN_SECRET unset", () => {
  const closed = { ALLOW_ANONYMOUS_SHOPPERS: "false" };

  it("X-Shopper-Id names the shopper (a trusted storefront backend in front)", async () => {
    const id = await newProduct(5);
    const shopper = newShopper();
    const res = await hold(id, 1, as(shopper), undefined, closed);
    expect(res.status).toBe(201);
    expect(res.body.shopper_id).toBe(shopper);
  });

  it("a caller naming no shopper is refused with 503 and an error log unless anonymous shoppers are allowed", async () => {
    const id = await newProduct(5);
    const errors = vi.spyOn(console, "error");
    const res = await hold(id, 1, {}, undefined, closed);
    expectError(res, 503, "shopper_auth_not_configured");
    expect(
      logLines(
        errors,
        "Shopper refused: SHOPPER_TOKEN_SECRET is not set and ALLOW_ANONYMOUS_SHOPPERS is not true.",
      ),
    ).toHaveLength(1);
    expect((await getProduct(id)).body.reserved).toBe(0);
  });

  describe("X-Shopper-Id without TRUST_SHOPPER_HEADER=true", () => {
    const untrusted = { TRUST_SHOPPER_HEADER: "false" };

    it.each([
      ["anonymous shoppers refused", { ALLOW_ANONYMOUS_SHOPPERS: "false" }],
      ["anonymous shoppers allowed", { ALLOW_ANONYMOUS_SHOPPERS: "true" }],
    ])(
      "is refused 503 shopper_auth_not_configured on every shopper route (%s) and changes nothing",
      async (_, anonymous) => {
        const id = await newProduct(5);
        const victim = newShopper("victim");
        const h = await hold(id, 1, as(victim));
        const o = await pendingOrder(id, 1, as(victim));
        const vars = { ...untrusted, ...anonymous };
        const errors = vi.spyOn(console, "error");
        const answers = [
          await hold(id, 1, as(newShopper("script")), undefined, vars),
          await release(h.body.hold_id, as(victim), vars),
          await cancel(o.order_id, as(victim), vars),
          await call("GET", `/api/orders/${o.order_id}`, { headers: as(victim), vars }),
          await call("POST", "/api/orders", {
            json: { hold_id: h.body.hold_id },
            headers: as(victim),
            vars,
          }),
        ];
        for (const res of answers) expectError(res, 503, "shopper_auth_not_configured");
        expect(
          logLines(
            errors,
            "Shopper refused: X-Shopper-Id sent, but TRUST_SHOPPER_HEADER is not true and SHOPPER_TOKEN_SECRET is not set.",
          ),
        ).toHaveLength(answers.length);
        // Nothing changed: the victim's hold and order stand, and no new hold was made.
        expect((await getProduct(id)).body).toMatchObject({ reserved: 2, available: 3 });
        expect((await readOrder(o.order_id, as(victim))).body.status).toBe("pending");
      },
    );

    it("a caller sending no header is still anonymous where anonymous shoppers are allowed", async () => {
      const id = await newProduct(5);
      const res = await hold(id, 1, {}, undefined, {
        ...untrusted,
        ALLOW_ANONYMOUS_SHOPPERS: "true",
      });
      expect(res.status).toBe(201);
      expect(res.body).not.toHaveProperty("shopper_id");
    });

    it("a shopper token still names the shopper, and the header is ignored", async () => {
      const id = await newProduct(5);
      const sub = newShopper("tok");
      const res = await call("POST", "/api/holds", {
        json: { product_id: id, qty: 1 },
        headers: { ...bearer(await token({ sub, exp: now() + 600 })), ...as("someone-else") },
        vars: { ...untrusted, SHOPPER_TOKEN_SECRET: SECRET },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.shopper_id).toBe(sub);
    });
  });

  it("anonymous shoppers are allowed when ALLOW_ANONYMOUS_SHOPPERS=true, and their holds name no one", async () => {
    const id = await newProduct(5);
    const res = await hold(id, 1);
    expect(res.status).toBe(201);
    expect(res.body).not.toHaveProperty("shopper_id");
  });

  it.each([["a".repeat(129)], [""], ["tab\there"]])(
    "a malformed X-Shopper-Id (%j) is 422 and changes nothing",
    async (shopper) => {
      const id = await newProduct(5);
      expectError(await hold(id, 1, { "x-shopper-id": shopper }), 422, "invalid_request");
      expect((await getProduct(id)).body.reserved).toBe(0);
    },
  );
});
