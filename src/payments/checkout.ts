import Stripe from "stripe";

/**
 * The hand-off to Stripe Checkout: one hosted payment page per order, made with the official
 * package over fetch (Workers have no node:https). STRIPE_API_BASE points the package elsewhere
 * (the tests' fake Stripe); by default it talks to api.stripe.com.
 */

/** Stripe refuses a session that ends sooner than this after it is made. */
export const STRIPE_MIN_SESSION_SECONDS = 1_800;

export interface CheckoutRequest {
  orderId: string;
  productName: string;
  /** Absolute URL, or null. */
  imageUrl: string | null;
  qty: number;
  amountCents: number;
  /** ISO 4217, upper case as orders keep it. */
  currency: string;
  /** Epoch seconds: the order's pay_by or earlier. */
  expiresAt: number;
  successUrl: string;
  cancelUrl: string;
  /** The same key gets the same session back from Stripe (two clicks at once make one). */
  idempotencyKey: string;
}

export interface OpenedSession {
  sessionId: string;
  url: string;
  /** Epoch ms. */
  expiresAt: number;
}

function client(secretKey: string, apiBase: string | undefined): Stripe {
  const base = new URL(apiBase && apiBase.trim() !== "" ? apiBase : "https://api.stripe.com");
  const protocol = base.protocol === "http:" ? "http" : "https";
  return new Stripe(secretKey, {
    httpClient: Stripe.createFetchHttpClient(),
    host: base.hostname,
    port: base.port || (protocol === "http" ? 80 : 443),
    protocol,
    maxNetworkRetries: 1,
    timeout: 10_000,
  });
}

/** Open a Checkout Session for one order; throws what Stripe (or the network) said. */
export async function openCheckoutSession(
  config: { secretKey: string; apiBase: string | undefined },
  request: CheckoutRequest,
): Promise<OpenedSession> {
  // One line item: the product, at the price the hold was made at (quantity 1 for the whole
  // amount if it does not divide, so the total is always exactly the order's).
  const perUnit = request.amountCents % request.qty === 0;
  const session = await client(config.secretKey, config.apiBase).checkout.sessions.create(
    {
      mode: "payment",
      client_reference_id: request.orderId,
      metadata: { order_id: request.orderId },
      payment_intent_data: { metadata: { order_id: request.orderId } },
      line_items: [
        {
          quantity: perUnit ? request.qty : 1,
          price_data: {
            currency: request.currency.toLowerCase(),
            unit_amount: perUnit ? request.amountCents / request.qty : request.amountCents,
            product_data: {
              name: perUnit ? request.productName : `${request.productName} × ${request.qty}`,
              ...(request.imageUrl ? { images: [request.imageUrl] } : {}),
            },
          },
        },
      ],
      expires_at: request.expiresAt,
      success_url: request.successUrl,
      cancel_url: request.cancelUrl,
    },
    { idempotencyKey: request.idempotencyKey },
  );
  if (!session.url) throw new Error(`Stripe gave session ${session.id} no URL`);
  return { sessionId: session.id, url: session.url, expiresAt: session.expires_at * 1000 };
}
