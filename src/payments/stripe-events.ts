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
    /** False for a failed attempt the customer may retry (the order stays pending). */
    final: boolean;
    amountCents?: number;
    currency?: string;
    paymentId: string;
  };
}

/**
 * What each event means for the order. A failed attempt is not the end: Stripe lets the customer
 * retry the same intent (another card), so the order stays pending until its window closes or
 * the intent is canceled, which is final.
 */
const STATUS: Record<string, { status: PaymentStatus; final: boolean }> = {
  "payment_intent.succeeded": { status: "success", final: true },
  "payment_intent.payment_failed": { status: "failure", final: false },
  "payment_intent.canceled": { status: "failure", final: true },
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
  if (event.type === "checkout.session.completed") return checkoutPayment(event);
  const meaning = STATUS[event.type];
  const intent = event.data.object as {
    id?: unknown;
    object?: unknown;
    amount?: unknown;
    amount_received?: unknown;
    currency?: unknown;
    metadata?: Record<string, unknown> | null;
  };
  const orderId = intent.metadata?.order_id;
  if (!meaning || intent.object !== "payment_intent" || typeof orderId !== "string") {
    return { eventId: event.id, type: event.type, notice: null };
  }
  const { status, final } = meaning;
  const amount = status === "success" ? (intent.amount_received ?? intent.amount) : undefined;
  return {
    eventId: event.id,
    type: event.type,
    notice: {
      orderId,
      status,
      final,
      amountCents: typeof amount === "number" ? amount : undefined,
      currency: typeof intent.currency === "string" ? intent.currency : undefined,
      paymentId: String(intent.id),
    },
  };
}

/**
 * A Checkout Session completed: paid when its payment_status says so (a delayed method completes
 * unpaid, and its payment intent's own events say how it ends). The payment id is the session's
 * payment intent, so this and the intent's `payment_intent.succeeded` are one payment: whichever
 * arrives second is a duplicate, never a double charge.
 */
function checkoutPayment(event: { id: string; type: string; data: { object: unknown } }) {
  const session = event.data.object as {
    object?: unknown;
    payment_status?: unknown;
    payment_intent?: unknown;
    amount_total?: unknown;
    currency?: unknown;
    client_reference_id?: unknown;
    metadata?: Record<string, unknown> | null;
  };
  const orderId = session.metadata?.order_id ?? session.client_reference_id;
  const intent =
    typeof session.payment_intent === "string"
      ? session.payment_intent
      : (session.payment_intent as { id?: unknown } | null)?.id;
  if (
    session.object !== "checkout.session" ||
    session.payment_status !== "paid" ||
    typeof orderId !== "string" ||
    typeof intent !== "string"
  ) {
    return { eventId: event.id, type: event.type, notice: null };
  }
  return {
    eventId: event.id,
    type: event.type,
    notice: {
      orderId,
      status: "success" as const,
      final: true,
      amountCents: typeof session.amount_total === "number" ? session.amount_total : undefined,
      currency: typeof session.currency === "string" ? session.currency : undefined,
      paymentId: intent,
    },
  };
}
