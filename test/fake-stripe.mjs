// A fake of the two things this service asks Stripe's API: create a Checkout Session. It runs
// in Node on loopback (workerd cannot listen), started by test/vitest.config.ts, and checks what
// the `stripe` package sends as Stripe would, refusing with Stripe's error shape otherwise.
// Tests read what it received from GET /__requests?order_id=<id>.
import { createServer } from "node:http";

export const FAKE_STRIPE_KEY = "sk_test_fake_0123456789";

/** @param {URLSearchParams} form */
function problems(form, now) {
  const out = [];
  const need = (name) => {
    const value = form.get(name);
    if (value === null || value === "") out.push(`missing ${name}`);
    return value ?? "";
  };
  if (need("mode") !== "payment") out.push("mode must be payment");
  const order = need("client_reference_id");
  if (need("metadata[order_id]") !== order) out.push("metadata[order_id] must be the order id");
  if (need("payment_intent_data[metadata][order_id]") !== order) {
    out.push("payment_intent_data[metadata][order_id] must be the order id");
  }
  if (!/^[a-z]{3}$/.test(need("line_items[0][price_data][currency]"))) {
    out.push("currency must be a lowercase ISO code");
  }
  if (!/^[1-9][0-9]*$/.test(need("line_items[0][price_data][unit_amount]"))) {
    out.push("unit_amount must be a positive integer");
  }
  if (!/^[1-9][0-9]*$/.test(need("line_items[0][quantity]"))) out.push("quantity must be >= 1");
  need("line_items[0][price_data][product_data][name]");
  if (form.has("line_items[1][quantity]")) out.push("one line item only");
  const expires = Number(need("expires_at"));
  // Stripe: "must be at least 30 minutes" (and at most 24 hours) after the session is created.
  if (!Number.isInteger(expires) || expires < now + 1_800 || expires > now + 86_400) {
    out.push("expires_at must be 30 minutes to 24 hours from now");
  }
  for (const name of ["success_url", "cancel_url"]) {
    try {
      new URL(need(name));
    } catch {
      out.push(`${name} must be an absolute URL`);
    }
  }
  return out;
}

/** Start the fake on a free loopback port; resolves with its base URL. */
export async function startFakeStripe() {
  /** @type {{ path: string, idempotencyKey: string | undefined, form: Record<string, string> }[]} */
  const received = [];
  /** @type {Map<string, Record<string, unknown>>} */
  const byKey = new Map();
  let next = 0;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const reply = (status, value) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      if (req.method === "GET" && url.pathname === "/__requests") {
        const order = url.searchParams.get("order_id");
        return reply(
          200,
          received.filter((r) => r.form.client_reference_id === order),
        );
      }
      if (req.method !== "POST" || url.pathname !== "/v1/checkout/sessions") {
        return reply(404, { error: { type: "invalid_request_error", message: "unknown path" } });
      }
      const form = new URLSearchParams(body);
      const key = req.headers["idempotency-key"];
      received.push({
        path: url.pathname,
        idempotencyKey: typeof key === "string" ? key : undefined,
        form: Object.fromEntries(form),
      });
      if (req.headers.authorization !== `Bearer ${FAKE_STRIPE_KEY}`) {
        return reply(401, { error: { type: "invalid_request_error", message: "Invalid API Key" } });
      }
      const now = Math.floor(Date.now() / 1000);
      const wrong = problems(form, now);
      if (wrong.length > 0) {
        return reply(400, { error: { type: "invalid_request_error", message: wrong.join("; ") } });
      }
      // Stripe answers a repeated idempotency key with the first answer.
      if (typeof key === "string" && byKey.has(key)) return reply(200, byKey.get(key));
      const id = `cs_test_fake${++next}`;
      const qty = Number(form.get("line_items[0][quantity]"));
      const unit = Number(form.get("line_items[0][price_data][unit_amount]"));
      const session = {
        id,
        object: "checkout.session",
        mode: "payment",
        url: `https://checkout.stripe.test/c/pay/${id}`,
        expires_at: Number(form.get("expires_at")),
        amount_total: qty * unit,
        currency: form.get("line_items[0][price_data][currency]"),
        client_reference_id: form.get("client_reference_id"),
        metadata: { order_id: form.get("metadata[order_id]") },
        payment_status: "unpaid",
        status: "open",
      };
      if (typeof key === "string") byKey.set(key, session);
      reply(200, session);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  // The test run ends when the tests do, whatever this server is doing.
  server.unref();
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return `http://127.0.0.1:${address.port}`;
}
