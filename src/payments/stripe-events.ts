import Stripe from "stripe";
import type { PaymentStatus } from "../contract/shapes";

/**
 * Stripe's own webhooks, verified with the official package (its Web Crypto provider,
 * `constructEventAsync`) and turned into the same payment notice the generic webhook makes: the
 * event id is the idempotency key, and the payment intent's amount, currency and id are
 * reconciled against the order like any payment.
 */
const crypto = Stripe.createSubtleCryptoProvider();

export interface StripePayment {
  eventId: string;
  type: string;
  /** Null for events this service does not act on (other types, or no order in the metadata). */
  notice: null | {
    orderId: string;
    status: PaymentStatus;
    amountCents?: number;
    currency?: string;
    paymentId: string;
  };
}

const STATUS: Record<string, PaymentStatus> = {
  "payment_intent.succeeded": "success",
  "payment_intent.payment_failed": "failure",
};

/** The verified event's payment, or throws (a missing, wrong or stale signature). */
export async function readStripeEvent(
  body: string,
  signature: string,
  secret: string,
): Promise<StripePayment> {
  const event = await Stripe.webhooks.constructEventAsync(
    body,
    signature,
    secret,
    undefined,
    crypto,
  );
  const status = STATUS[event.type];
  const intent = event.data.object as {
    id?: unknown;
    object?: unknown;
    amount?: unknown;
    amount_received?: unknown;
    currency?: unknown;
    metadata?: Record<string, unknown> | null;
  };
  const orderId = intent.metadata?.order_id;
  if (!status || intent.object !== "payment_intent" || typeof orderId !== "string") {
    return { eventId: event.id, type: event.type, notice: null };
  }
  const amount = status === "success" ? (intent.amount_received ?? intent.amount) : undefined;
  return {
    eventId: event.id,
    type: event.type,
    notice: {
      orderId,
      status,
      amountCents: typeof amount === "number" ? amount : undefined,
      currency: typeof intent.currency === "string" ? intent.currency : undefined,
      paymentId: String(intent.id),
    },
  };
}
