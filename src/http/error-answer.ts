import type { Context } from "hono";
import { errorBody, ERROR_STATUS, type ErrorCode } from "../contract/errors";
import type { AppEnv } from "./context";
import { logEvent } from "../log";

/** A request that ends in an API error; the app's error handler turns it into the JSON answer. */
export class HttpError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Headers the answer carries, e.g. Retry-After on a 429. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function errorResponse(
  c: Context<AppEnv>,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const status = ERROR_STATUS[code];
  if (status === 503) c.header("Retry-After", "1");
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  // Errors raised before the request-id middleware ran (none today) still get an id.
  const requestId = c.get("requestId") ?? crypto.randomUUID();
  return c.json(errorBody(code, message, requestId), status);
}

/**
 * Refuse a request because the deployment is misconfigured (a setting missing or malformed), not
 * because of anything the client sent. Workers have no start hook to refuse a bad setting at, so
 * every request it stops says so in its answer and logs it as an error for the operator.
 */
export function refuseMisconfigured(
  c: Context<AppEnv>,
  code: ErrorCode,
  log: string,
  message: string,
  fields: Record<string, unknown> = {},
): never {
  logEvent(log, { request_id: c.get("requestId"), path: c.req.path, ...fields }, "error");
  throw new HttpError(code, message);
}
