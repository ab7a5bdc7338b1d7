import { Webhook } from "standardwebhooks";
import type { Env } from "./env";
import { failure, type Failure } from "./errors";
import { logEvent } from "./log";

/**
 * Webhook authenticity, per the Standard Webhooks spec: `webhook-id`, `webhook-timestamp` (within
 * five minutes) and a v1 HMAC-SHA256 `webhook-signature` over `id.timestamp.body`. The reference
 * `standardwebhooks` library does the verification (constant-time compare, tolerance, several
 * signatures during secret rotation). With no secret set, webhooks are refused unless unsigned
 * ones are explicitly allowed for local use.
 */
export interface WebhookAccepted {
  ok: true;
  /** The `webhook-id` header, which may stand in for the body's idempotency key. */
  messageId: string | null;
}

const verifiers = new Map<string, Webhook>();

function verifierFor(secret: string): Webhook {
  let verifier = verifiers.get(secret);
  if (!verifier) {
    verifier = new Webhook(secret);
    verifiers.set(secret, verifier);
  }
  return verifier;
}

export function authenticateWebhook(
  env: Env,
  headers: Headers,
  rawBody: string,
): WebhookAccepted | Failure {
  const messageId = headers.get("webhook-id");
  if (env.WEBHOOK_SECRET) {
    try {
      verifierFor(env.WEBHOOK_SECRET).verify(rawBody, {
        "webhook-id": messageId ?? "",
        "webhook-timestamp": headers.get("webhook-timestamp") ?? "",
        "webhook-signature": headers.get("webhook-signature") ?? "",
      });
    } catch (error) {
      return failure(
        "invalid_signature",
        `Webhook signature rejected: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    return { ok: true, messageId };
  }
  if (env.ALLOW_UNSIGNED_WEBHOOKS === "true") return { ok: true, messageId };
  logEvent(
    "Webhook refused: WEBHOOK_SECRET is not set and ALLOW_UNSIGNED_WEBHOOKS is not true.",
    {},
    "error",
  );
  return failure(
    "webhook_secret_not_configured",
    "Webhooks are not accepted until WEBHOOK_SECRET is configured.",
  );
}
