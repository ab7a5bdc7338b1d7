import type { Context } from "hono";
import { errorBody, ERROR_STATUS, type ErrorCode } from "../contract/errors";
import type { AppEnv } from "./context";

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
