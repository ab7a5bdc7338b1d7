/** Every error the API answers with, and the HTTP status it travels with. */
export const ERROR_STATUS = {
  invalid_json: 400,
  invalid_stripe_signature: 400,
  unauthorized: 401,
  invalid_signature: 401,
  shopper_token_required: 401,
  invalid_shopper_token: 401,
  admin_disabled: 403,
  not_your_hold: 403,
  not_your_order: 403,
  invalid_ticket: 403,
  admission_required: 403,
  invalid_admission: 403,
  admission_used: 403,
  left_queue: 403,
  not_your_ticket: 403,
  not_found: 404,
  product_not_found: 404,
  hold_not_found: 404,
  order_not_found: 404,
  refund_not_found: 404,
  dead_letter_not_found: 404,
  method_not_allowed: 405,
  insufficient_stock: 409,
  shopper_limit_reached: 409,
  sale_not_started: 409,
  sale_ended: 409,
  hold_already_ordered: 409,
  order_not_pending: 409,
  checkout_too_late: 409,
  idempotency_key_reused: 409,
  product_exists: 409,
  queue_disabled: 409,
  queue_has_tickets: 409,
  shards_busy: 409,
  hold_expired: 410,
  hold_released: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  upgrade_required: 426,
  invalid_request: 422,
  rate_limited: 429,
  internal_error: 500,
  payment_provider_error: 502,
  service_unavailable: 503,
  webhook_secret_not_configured: 503,
  webhook_secret_invalid: 503,
  admin_token_invalid: 503,
  stripe_not_configured: 503,
  payments_not_configured: 503,
  payments_misconfigured: 503,
  shopper_auth_not_configured: 503,
  queue_not_configured: 503,
  live_full: 503,
  configuration_invalid: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; request_id: string };
}

export function errorBody(code: ErrorCode, message: string, requestId: string): ErrorBody {
  return { error: { code, message, request_id: requestId } };
}

/** Domain failures travel as values (not exceptions) from the product object to the router. */
export interface Failure {
  ok: false;
  code: ErrorCode;
  message: string;
}

/**
 * Every answer of the product object has one shape: its success fields with `ok: true`, or a
 * failure (`F` names a failure that carries more, as a refused hold tells what is available).
 */
export type Answer<T extends object, F extends Failure = never> = ({ ok: true } & T) | Failure | F;

export function failure(code: ErrorCode, message: string): Failure {
  return { ok: false, code, message };
}
