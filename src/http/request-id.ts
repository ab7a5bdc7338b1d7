import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./context";

/**
 * Every request gets an id: Cloudflare's `cf-ray` when there is one, else a new UUID. It is sent
 * back as `Request-Id`, put in every error body and every log line the request causes (in the
 * Worker and in the product's object), so one shopper's complaint can be traced through the logs.
 */
export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  const id = c.req.header("cf-ray") || crypto.randomUUID();
  c.set("requestId", id);
  await next();
  try {
    c.res.headers.set("Request-Id", id);
  } catch {
    // An answer passed through with immutable headers (a WebSocket upgrade) goes out as it is.
  }
});
