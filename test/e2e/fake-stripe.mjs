// A small stand-in for Stripe on loopback, so the e2e run can follow the checkout hand-off to
// the end without the internet: the server under test creates Checkout Sessions here
// (STRIPE_API_BASE points its Stripe SDK at this server), the storefront sends the shopper to the
// session's `url`, and that "hosted page" plays the shopper paying: it sends the signed
// `checkout.session.completed` webhook to the server, as Stripe would, then redirects to the
// session's success URL.
import { createServer } from "node:http";
import Stripe from "stripe";

/**
 * A Checkout Session as far as the hand-off needs it.
 * @typedef {object} Session
 * @property {string} id
 * @property {string} orderId
 * @property {number} amountTotal
 * @property {string} currency
 * @property {string} successUrl
 * @property {string} cancelUrl
 * @property {number} expiresAt unix seconds
 */

/**
 * The request's body, read whole.
 * @param {import("node:http").IncomingMessage} req
 */
async function bodyOf(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * The session Stripe would make of a create request (form-encoded, as the SDK sends it:
 * `line_items[0][price_data][unit_amount]=…`).
 * @param {URLSearchParams} form
 * @param {string} id
 * @returns {Session}
 */
function sessionFrom(form, id) {
  let amountTotal = 0;
  let currency = form.get("currency") ?? "";
  for (let i = 0; form.has(`line_items[${i}][quantity]`); i++) {
    const unit = Number(form.get(`line_items[${i}][price_data][unit_amount]`) ?? 0);
    amountTotal += unit * Number(form.get(`line_items[${i}][quantity]`));
    currency ||= form.get(`line_items[${i}][price_data][currency]`) ?? "";
  }
  const expiresAt = Number(form.get("expires_at")) || Math.floor(Date.now() / 1000) + 1_800;
  return {
    id,
    orderId: form.get("metadata[order_id]") ?? form.get("client_reference_id") ?? "",
    amountTotal,
    currency: currency.toLowerCase(),
    successUrl: form.get("success_url") ?? "",
    cancelUrl: form.get("cancel_url") ?? "",
    expiresAt,
  };
}

/**
 * Start the fake on a free loopback port. `appBase()` is the server under test (known only once
 * it runs, after this fake); `webhookSecret` signs the webhooks as STRIPE_WEBHOOK_SECRET.
 * @param {{ webhookSecret: string, appBase: () => string }} options
 */
export async function startFakeStripe({ webhookSecret, appBase }) {
  /** @type {Map<string, Session>} */
  const sessions = new Map();
  /** @type {string[]} what the fake was asked, for the tests to see */
  const log = [];
  let next = 0;

  const server = createServer((req, res) => {
    void handle(req, res).catch((error) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: String(error) } }));
    });
  });

  /**
   * @param {import("node:http").IncomingMessage} req
   * @param {import("node:http").ServerResponse} res
   */
  async function handle(req, res) {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    log.push(`${req.method} ${url.pathname}`);
    if (req.method === "POST" && url.pathname === "/v1/checkout/sessions") {
      const form = new URLSearchParams(await bodyOf(req));
      const id = `cs_test_e2e_${++next}_${Date.now().toString(36)}`;
      const session = sessionFrom(form, id);
      sessions.set(id, session);
      res.writeHead(200, { "content-type": "application/json", "request-id": `req_${id}` });
      res.end(
        JSON.stringify({
          id,
          object: "checkout.session",
          url: `${base}/pay/${id}`,
          expires_at: session.expiresAt,
          amount_total: session.amountTotal,
          currency: session.currency,
          client_reference_id: session.orderId,
          metadata: { order_id: session.orderId },
          mode: "payment",
          payment_status: "unpaid",
          status: "open",
          success_url: session.successUrl,
          cancel_url: session.cancelUrl,
        }),
      );
      return;
    }
    const pay = url.pathname.match(/^\/pay\/([\w-]+)$/);
    if (req.method === "GET" && pay) {
      const session = sessions.get(pay[1] ?? "");
      if (!session) {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("No such session");
        return;
      }
      await sendCompleted(session);
      res.writeHead(303, { location: session.successUrl });
      res.end();
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { type: "invalid_request_error", message: "Not faked" } }));
  }

  /**
   * The webhook Stripe sends once the shopper has paid on the hosted page, signed with the
   * webhook secret as Stripe signs it.
   * @param {Session} session
   */
  async function sendCompleted(session) {
    const payload = JSON.stringify({
      id: `evt_${session.id}`,
      object: "event",
      type: "checkout.session.completed",
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      data: {
        object: {
          id: session.id,
          object: "checkout.session",
          amount_total: session.amountTotal,
          currency: session.currency,
          client_reference_id: session.orderId,
          metadata: { order_id: session.orderId },
          mode: "payment",
          payment_intent: `pi_${session.id}`,
          payment_status: "paid",
          status: "complete",
        },
      },
    });
    const signature = await Stripe.webhooks.generateTestHeaderStringAsync({
      payload,
      secret: webhookSecret,
    });
    const res = await fetch(`${appBase()}/api/payments/stripe`, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": signature },
      body: payload,
    });
    log.push(`webhook ${res.status}`);
    if (!res.ok) throw new Error(`the webhook was refused: ${res.status} ${await res.text()}`);
  }

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(undefined));
  });
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    log,
    stop: () => new Promise((resolve) => server.close(() => resolve(undefined))),
  };
}
