import { errorBody, ERROR_STATUS, type ErrorCode } from "../contract/errors";

/**
 * The OpenAPI document's building blocks. Every route declares exactly the answers it can give:
 * its own successes, then `errorResponses(...codes)` with the error codes its middleware,
 * validators, handler and product object can answer (grouped by status, one example per code).
 * Three answers can come from any operation whatever it does, and are shared components referenced
 * from every operation: 405 (another method on a known path), 413 (any request body over the
 * limit: the body limit runs before routing, so even a GET with a large body gets it) and 500 (a
 * bug).
 */
interface HeaderDoc {
  description: string;
  required: boolean;
  schema: {
    type: "string" | "integer";
    enum?: string[];
    minimum?: number;
    example?: string | number;
  };
}

/** Response headers, documented once under components.headers. */
export const HEADER_COMPONENTS = {
  RequestId: {
    description:
      "The request's id: Cloudflare's `cf-ray` when there is one, else a UUID. Also in every error body and every log line the request causes.",
    required: true,
    schema: { type: "string", example: "8c3d0ed5-ab12-423d-acdb-ef958d0de74d" },
  },
  RetryAfter: {
    description:
      "Seconds to wait before retrying (RFC 9110): 10 after `rate_limited`, 30 after `live_full`, 1 on another 503.",
    required: true,
    schema: { type: "integer", minimum: 0, example: 1 },
  },
  IdempotentReplayed: {
    description:
      "`true` when this answer replays what an earlier request with the same `Idempotency-Key` got (nothing changed this time); absent otherwise.",
    required: false,
    schema: { type: "string", enum: ["true"] },
  },
  Allow: {
    description: "The methods this path answers, e.g. `GET` or `GET, POST`.",
    required: true,
    schema: { type: "string", example: "GET, POST" },
  },
  WWWAuthenticate: {
    description:
      'The bearer challenge (RFC 6750): `Bearer realm="flash-sale-admin"` without a token, `Bearer error="invalid_request"` for a malformed header, `Bearer error="invalid_token"` for a wrong token.',
    required: true,
    schema: { type: "string", example: 'Bearer realm="flash-sale-admin"' },
  },
  ETag: {
    description:
      "The entity tag of this exact answer; send it back as `If-None-Match` to be answered 304 while nothing changed.",
    required: true,
    schema: { type: "string", example: '"1k2j3h4g5f"' },
  },
  CacheControl: {
    description:
      "`no-cache`: ask again every time (the answer is exact stock), with `If-None-Match`.",
    required: true,
    schema: { type: "string", enum: ["no-cache"] },
  },
  Upgrade: {
    description: "The protocol to switch to.",
    required: true,
    schema: { type: "string", enum: ["websocket"] },
  },
} satisfies Record<string, HeaderDoc>;

type HeaderComponent = keyof typeof HEADER_COMPONENTS;
const headerRef = (name: HeaderComponent) => ({ $ref: `#/components/headers/${name}` });

/** `Request-Id`, on every answer but a WebSocket upgrade. */
const REQUEST_ID = { "Request-Id": headerRef("RequestId") };
/** `Request-Id` alone, for an answer with no body (a 304). */
export const REQUEST_ID_ONLY = REQUEST_ID;
/** For answers that carry an entity tag (product reads). */
export const ETAG = { ETag: headerRef("ETag"), "Cache-Control": headerRef("CacheControl") };
/** For answers that may replay an earlier request's (holds and restocks with a key). */
export const IDEMPOTENT_REPLAYED = { "Idempotent-Replayed": headerRef("IdempotentReplayed") };

/** What a typical answer with each code says; `examples` in the document, one per code. */
const EXAMPLE_MESSAGES: Record<ErrorCode, string> = {
  invalid_json: "The request body is not valid JSON.",
  invalid_stripe_signature:
    "Stripe signature rejected: No signatures found matching the expected signature for payload.",
  unauthorized: "A valid admin bearer token is required.",
  invalid_signature: "Webhook signature rejected: No matching signature found",
  shopper_token_required: "Send the shopper's token as Authorization: Bearer <JWT>.",
  invalid_shopper_token: "The shopper token is not valid: it has expired.",
  admin_disabled: "Admin routes are disabled: set ADMIN_TOKEN to enable them.",
  admin_token_invalid:
    "ADMIN_TOKEN has characters a bearer token cannot carry, so no request could ever match it: set one of A-Z a-z 0-9 - . _ ~ + / (and = at the end).",
  not_your_hold: "Hold hld_1_3b8e… belongs to another shopper.",
  not_your_order: "Order ord_1_9f1c… belongs to another shopper.",
  invalid_ticket: "This ticket was not issued by this service.",
  admission_required: "This product has a queue: join it, and send the admission_token you get.",
  invalid_admission: "This admission token is not valid: it is another shopper's.",
  admission_used: "This admission was already used for a hold.",
  left_queue: "This ticket left the line; join the queue again.",
  not_your_ticket: "This ticket belongs to another shopper.",
  not_found: "No route for GET /api/nothing-here.",
  product_not_found: "No product 42.",
  hold_not_found: "No hold hld_1_3b8e….",
  order_not_found: "No order ord_1_9f1c….",
  refund_not_found: "No refund rfd_1_7c0e….",
  dead_letter_not_found: "No dead letter 42.",
  method_not_allowed: "DELETE is not allowed here; use GET.",
  insufficient_stock: "Only 0 unit(s) available, 1 requested.",
  shopper_limit_reached:
    "You already have 2 unit(s) of this product in holds and orders; the limit is 2 per shopper, so 1 more cannot be held.",
  sale_not_started: "The sale starts at 2026-12-01T09:00:00.000Z.",
  sale_ended: "The sale ended at 2026-12-01T10:00:00.000Z.",
  hold_already_ordered: "Hold hld_1_3b8e… became order ord_1_9f1c…; cancel the order instead.",
  order_not_pending: "Order ord_1_9f1c… is paid; it can no longer be cancelled.",
  checkout_too_late:
    "Order ord_1_9f1c… must be paid by 2026-12-01T09:15:00.000Z: too soon for a Stripe Checkout, which stays open at least 30 minutes.",
  idempotency_key_reused:
    "This Idempotency-Key was used for another hold (a different quantity or shopper).",
  product_exists: "Product 42 already exists.",
  queue_disabled: "This product has no queue right now: hold directly.",
  queue_has_tickets:
    "The queue has tickets: sale_starts_at can only be cleared (to open the line now, shuffled first), not moved.",
  shards_busy:
    "The number of shards changes only while nothing is held or pending on any shard; retry once they have settled.",
  hold_expired: "Hold hld_1_3b8e… expired at 2026-12-01T09:02:00.000Z; its units were released.",
  hold_released: "Hold hld_1_3b8e… was released; its units are on sale again.",
  payload_too_large: "Request bodies are limited to 16384 bytes.",
  unsupported_media_type: "Send the body as JSON with Content-Type: application/json.",
  upgrade_required: "Open this URL as a WebSocket (Upgrade: websocket).",
  invalid_request: "qty: Too small: expected number to be >=1",
  rate_limited: "Too many requests from this shopper; retry in 10 s.",
  internal_error: "Something went wrong on our side.",
  payment_provider_error: "Stripe could not open a checkout right now; retry shortly.",
  service_unavailable: "The product is busy or briefly unavailable; retry shortly.",
  webhook_secret_not_configured: "Webhooks are not accepted until WEBHOOK_SECRET is configured.",
  webhook_secret_invalid:
    "Webhooks are not accepted until WEBHOOK_SECRET is fixed (it is not a valid whsec_ secret).",
  stripe_not_configured:
    "Stripe webhooks are not accepted until STRIPE_WEBHOOK_SECRET is configured.",
  payments_not_configured: "Payments are not set up: this deployment has no STRIPE_SECRET_KEY.",
  payments_misconfigured:
    "PAYMENT_TTL_SECONDS is 900, but Stripe Checkout needs at least 1800: payments are off until it is raised.",
  shopper_auth_not_configured:
    "Shoppers cannot be identified: this deployment has no SHOPPER_TOKEN_SECRET.",
  queue_not_configured: "The queue is not available: this deployment has no QUEUE_SECRET.",
  live_full:
    "This product has as many live sockets open as it allows; poll GET /api/products/{id} instead.",
  configuration_invalid:
    'Configuration RATE_LIMITS must be on or off, got "yes"; fix it and deploy again.',
};

const EXAMPLE_REQUEST_ID = "8c3d0ed5-ab12-423d-acdb-ef958d0de74d";
/** The Error schema (ErrorBody in src/contract/shapes.ts), registered by src/routes/docs.ts. */
const ERROR_SCHEMA_REF = { $ref: "#/components/schemas/Error" };

/** Headers an error answer with this status carries, besides Request-Id. */
function errorHeaders(status: number, codes: readonly ErrorCode[]) {
  return {
    ...REQUEST_ID,
    ...(status === 429 || status === 503 ? { "Retry-After": headerRef("RetryAfter") } : {}),
    ...(codes.includes("unauthorized") ? { "WWW-Authenticate": headerRef("WWWAuthenticate") } : {}),
    ...(codes.includes("upgrade_required") ? { Upgrade: headerRef("Upgrade") } : {}),
    ...(status === 405 ? { Allow: headerRef("Allow") } : {}),
  };
}

/**
 * An example answer for every code an operation can give, documented once under
 * components.examples (`not_found` answers no operation: it is for unknown paths).
 */
export const EXAMPLE_COMPONENTS = Object.fromEntries(
  (Object.keys(EXAMPLE_MESSAGES) as ErrorCode[])
    .filter((code) => code !== "not_found")
    .map((code) => [
      code,
      { summary: code, value: errorBody(code, EXAMPLE_MESSAGES[code], EXAMPLE_REQUEST_ID) },
    ]),
);

/** The JSON error answer for some codes of one status: the Error schema, an example per code. */
function errorResponseDoc(status: number, codes: readonly ErrorCode[], description: string) {
  return {
    description,
    headers: errorHeaders(status, codes),
    content: {
      "application/json": {
        schema: ERROR_SCHEMA_REF,
        examples: Object.fromEntries(
          codes.map((code) => [code, { $ref: `#/components/examples/${code}` }]),
        ),
      },
    },
  };
}

/** Answers any operation can give, documented once under components.responses. */
export const RESPONSE_COMPONENTS = {
  MethodNotAllowed: errorResponseDoc(
    405,
    ["method_not_allowed"],
    "`method_not_allowed`: this path does not answer the method used (a method other than this operation's); `Allow` lists those it does.",
  ),
  PayloadTooLarge: errorResponseDoc(
    413,
    ["payload_too_large"],
    "`payload_too_large`: the request had a body over 16 KiB (512 KiB for Stripe's webhook). Checked before routing, so it applies to any request that sends one, even where the operation reads no body.",
  ),
  InternalError: errorResponseDoc(
    500,
    ["internal_error"],
    "`internal_error`: a bug on our side, never a client mistake; logged with the request id.",
  ),
};

type ResponseComponent = keyof typeof RESPONSE_COMPONENTS;
const responseRef = (name: ResponseComponent) => ({ $ref: `#/components/responses/${name}` });

/** Codes that every operation can answer, through the shared components. */
type SharedCode =
  | "method_not_allowed"
  | "payload_too_large"
  | "internal_error"
  | "not_found"
  | "configuration_invalid";
export type RouteErrorCode = Exclude<ErrorCode, SharedCode>;

/**
 * OpenAPI `responses` entries for the errors a route can answer with, grouped by status (one
 * example per code), plus the answers every operation can give (405, 413, 500).
 */
export function errorResponses(...codes: RouteErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  // Any operation answers configuration_invalid while the deployment's settings are refused.
  for (const code of new Set<ErrorCode>([...codes, "configuration_invalid"])) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<
    number,
    ReturnType<typeof errorResponseDoc> | ReturnType<typeof responseRef>
  > = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[status] = errorResponseDoc(
      status,
      group,
      group.map((code) => `\`${code}\``).join(", "),
    );
  }
  responses[405] = responseRef("MethodNotAllowed");
  responses[413] = responseRef("PayloadTooLarge");
  responses[500] = responseRef("InternalError");
  return responses;
}

/** What a route with a JSON body can answer about it: malformed, not JSON, or not valid. */
export const BODY_ERRORS = [
  "invalid_json",
  "unsupported_media_type",
  "invalid_request",
] as const satisfies readonly RouteErrorCode[];

/** What every operator route can answer before it runs (src/admin-auth.ts). */
export const ADMIN_ERRORS = [
  "unauthorized",
  "admin_disabled",
  "admin_token_invalid",
] as const satisfies readonly RouteErrorCode[];

export function jsonBody<T>(schema: T, description: string) {
  return { required: true, description, content: { "application/json": { schema } } };
}

/** A JSON success answer, with `Request-Id` and any other headers it carries. */
export function jsonResponse<T>(
  schema: T,
  description: string,
  headers: Record<string, { $ref: string }> = {},
) {
  return {
    description,
    headers: { ...REQUEST_ID, ...headers },
    content: { "application/json": { schema } },
  };
}

/** One way to be allowed in: the security schemes it needs together (none: anyone). */
type SecurityRequirement = Record<string, string[]>;

/** Who may call an operation: its `security`, as alternatives (any one of them is enough). */
export const SECURITY: Record<
  "public" | "admin" | "shopper" | "reader" | "webhook" | "stripe",
  SecurityRequirement[]
> = {
  /** Anyone. */
  public: [],
  admin: [{ AdminToken: [] }],
  /**
   * Routes that take or give back stock: the shopper's token, or a trusted backend's
   * X-Shopper-Id, or no one while anonymous shoppers are allowed (local use).
   */
  shopper: [{ ShopperToken: [] }, { ShopperId: [] }, {}],
  /** Reading an order: its shopper, the admin token, or anyone for an order that has no shopper. */
  reader: [{ ShopperToken: [] }, { ShopperId: [] }, { AdminToken: [] }, {}],
  /** Signed per Standard Webhooks; unsigned only while ALLOW_UNSIGNED_WEBHOOKS=true (local use). */
  webhook: [{ WebhookSignature: [] }, {}],
  stripe: [{ StripeSignature: [] }],
};
