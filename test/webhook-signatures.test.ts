import { describe, expect, it, vi } from "vitest";
import {
  call,
  getProduct,
  logLines,
  newProduct,
  pendingOrder,
  signatureHeaders,
  uniqueKey,
} from "./helpers";

/** Send an unsigned webhook through the Worker with some variables changed. */
const postWith = (vars: Partial<Cloudflare.Env>, body: string) =>
  call("POST", "/api/payments/webhook", {
    body,
    headers: { "content-type": "application/json" },
    vars,
  });

async function paymentFor(stock = 5) {
  const id = await newProduct(stock);
  const o = await pendingOrder(id, 1);
  const body = JSON.stringify({
    idempotency_key: uniqueKey(),
    order_id: o.order_id,
    status: "success",
  });
  return { id, o, body };
}

describe("webhook signatures (WEBHOOK_SECRET set)", () => {
  it("accepts a valid Standard Webhooks signature", async () => {
    const { id, body } = await paymentFor();
    const res = await call("POST", "/api/payments/webhook", {
      body,
      headers: signatureHeaders(body),
    });
    expect(res.status).toBe(200);
    expect((await getProduct(id)).body.stock).toBe(4);
  });

  it.each([
    ["no signature headers", (_body: string) => ({ "content-type": "application/json" })],
    [
      "a signature made with another secret",
      (body: string) =>
        signatureHeaders(body, { secret: "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY" }),
    ],
    [
      "a timestamp six minutes old",
      (body: string) => signatureHeaders(body, { at: new Date(Date.now() - 6 * 60_000) }),
    ],
    [
      "a timestamp six minutes ahead",
      (body: string) => signatureHeaders(body, { at: new Date(Date.now() + 6 * 60_000) }),
    ],
    [
      "a signature over a different body",
      (body: string) => signatureHeaders(body.replace("success", "failure")),
    ],
    [
      "a webhook-id other than the signed one",
      (body: string) => ({ ...signatureHeaders(body), "webhook-id": "msg_other" }),
    ],
  ])("answers 401 for %s and changes nothing", async (_, headersFor) => {
    const { id, o, body } = await paymentFor();
    const res = await call("POST", "/api/payments/webhook", { body, headers: headersFor(body) });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("invalid_signature");
    expect((await getProduct(id)).body).toMatchObject({ stock: 5, reserved: 1 });
    expect((await call("GET", `/api/orders/${o.order_id}`)).body.status).toBe("pending");
  });

  it("checks the signature before the body: a forged malformed body learns nothing", async () => {
    const res = await call("POST", "/api/payments/webhook", {
      body: "{not json",
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(401);
  });
});

describe("webhooks without a secret", () => {
  it("are refused (fail closed) unless unsigned webhooks are allowed", async () => {
    const { id, body } = await paymentFor();
    const errors = vi.spyOn(console, "error");
    const res = await postWith(
      { WEBHOOK_SECRET: undefined, ALLOW_UNSIGNED_WEBHOOKS: "false" },
      body,
    );
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("webhook_secret_not_configured");
    expect(res.headers.get("retry-after")).toBe("1");
    expect(errors).toHaveBeenCalled();
    expect((await getProduct(id)).body.stock).toBe(5);
  });

  it("are applied when ALLOW_UNSIGNED_WEBHOOKS=true (local development)", async () => {
    const { id, body } = await paymentFor();
    const res = await postWith(
      { WEBHOOK_SECRET: undefined, ALLOW_UNSIGNED_WEBHOOKS: "true" },
      body,
    );
    expect(res.status).toBe(200);
    expect(res.body.order_status).toBe("paid");
    expect((await getProduct(id)).body.stock).toBe(4);
  });

  it("still verify signatures when a secret is set, whatever ALLOW_UNSIGNED_WEBHOOKS says", async () => {
    const { id, body } = await paymentFor();
    const res = await postWith({ ALLOW_UNSIGNED_WEBHOOKS: "true" }, body);
    expect(res.status).toBe(401);
    expect((await getProduct(id)).body.stock).toBe(5);
  });
});

describe("webhook secret and signature problems an operator must see", () => {
  it("a malformed WEBHOOK_SECRET is 503 webhook_secret_invalid with an error log, not a silent 401", async () => {
    const { id, body } = await paymentFor();
    const errors = vi.spyOn(console, "error");
    const secret = `whsec_not*base64*${crypto.randomUUID()}`;
    const res = await call("POST", "/api/payments/webhook", {
      body,
      headers: signatureHeaders(body),
      vars: { WEBHOOK_SECRET: secret },
    });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("webhook_secret_invalid");
    expect(res.headers.get("retry-after")).toBe("1");
    const again = await call("POST", "/api/payments/webhook", {
      body,
      headers: signatureHeaders(body),
      vars: { WEBHOOK_SECRET: secret },
    });
    expect(again.status).toBe(503);
    // Logged at first use, once per isolate.
    expect(
      logLines(errors, "WEBHOOK_SECRET is malformed: every webhook is refused until it is fixed."),
    ).toHaveLength(1);
    expect((await getProduct(id)).body.stock).toBe(5);
  });

  it("a correctly signed body that is not JSON is 400 invalid_json", async () => {
    const body = "{not json";
    const res = await call("POST", "/api/payments/webhook", {
      body,
      headers: signatureHeaders(body),
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_json");
  });

  it("rejected signatures are logged at warn with the reason, at most about once a second", async () => {
    const { body } = await paymentFor();
    const warnings = vi.spyOn(console, "warn");
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // past any earlier test's line
    for (let i = 0; i < 5; i++) {
      const res = await call("POST", "/api/payments/webhook", {
        body,
        headers: signatureHeaders(body, { secret: "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY" }),
      });
      expect(res.status).toBe(401);
    }
    const lines = logLines(warnings, "Webhook signature rejected.");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      reason: "No matching signature found",
      request_id: expect.any(String),
    });
  });
});
