import { Webhook } from "standardwebhooks";
import type { Env } from "../env";
import { failure, type Failure } from "../contract/errors";
import { logEvent } from "../log";

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

/** A verifier per secret, or the reason the secret is unusable (logged once per isolate). */
const verifiers = new Map<string, Webhook | Error>();

function verifierFor(secret: string): Webhook | Error {
  let verifier = verifiers.get(secret);
  if (!verifier) {
    try {
      verifier = new Webhook(secret);
    } catch (error) {
      verifier = error instanceof Error ? error : new Error(String(error));
      logEvent(
        "WEBHOOK_SECRET is malformed: every webhook is refused until it is fixed.",
        { error: verifier.message },
        "error",
      );
    }
    verifiers.set(secret, verifier);
  }
  return verifier;
}

/** Refused signatures are worth a warning, but a flood of forgeries must not flood the logs. */
const REJECTION_LOG_INTERVAL_MS = 1_000;
let lastRejectionLog = -Infinity;

function logRejection(reason: string, messageId: string | null, requestId: string): void {
  const now = Date.now();
  if (now - lastRejectionLog < REJECTION_LOG_INTERVAL_MS) return;
  lastRejectionLog = now;
  logEvent(
    "Webhook signature rejected.",
    { reason, webhook_id: messageId, request_id: requestId },
    "warn",
  );
}

export function authenticateWebhook(
  env: Env,
  headers: Headers,
  rawBody: string,
  requestId: string,
): WebhookAccepted | Failure {
  const messageId = headers.get("webhook-id");
  if (env.WEBHOOK_SECRET) {
    const verifier = verifierFor(env.WEBHOOK_SECRET);
    if (verifier instanceof Error) {
      return failure(
        "webhook_secret_invalid",
        "Webhooks are not accepted until WEBHOOK_SECRET is fixed (it is not a valid whsec_ secret).",
      );
    }
    try {
      // The body is parsed later, by the route: a correctly signed body that is not JSON is a
      // 400, not a bad signature.
      verifier.verify(
        rawBody,
        {
          "webhook-id": messageId ?? "",
          "webhook-timestamp": headers.get("webhook-timestamp") ?? "",
          "webhook-signature": headers.get("webhook-signature") ?? "",
        },
        { jsonParse: false },
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      logRejection(reason, messageId, requestId);
      return failure("invalid_signature", `Webhook signature rejected: ${reason}`);
    }
    return { ok: true, messageId };
  }
  if (env.ALLOW_UNSIGNED_WEBHOOKS === "true") return { ok: true, messageId };
  logEvent(
    "Webhook refused: WEBHOOK_SECRET is not set and ALLOW_UNSIGNED_WEBHOOKS is not true.",
    { request_id: requestId },
    "error",
  );
  return failure(
    "webhook_secret_not_configured",
    "Webhooks are not accepted until WEBHOOK_SECRET is configured.",
  );
}
