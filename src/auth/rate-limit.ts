import { createMiddleware } from "hono/factory";
import { HttpError } from "../http/error-answer";
import type { AppEnv } from "../http/context";

/**
 * Per-client rate limit on the routes that take or give back stock, with the Workers Rate
 * Limiting binding (SHOPPER_RATE_LIMITER in wrangler.toml): keyed by the shopper when there is
 * one, else by the client's IP. A limited request is answered here and never reaches the
 * product's object. RATE_LIMITS=off (what `npm start` sets) turns it off.
 */

/** The binding's window (wrangler.toml `period`), which is how long a limited client waits at most. */
export const RATE_LIMIT_PERIOD_S = 10;

export const rateLimited = createMiddleware<AppEnv>(async (c, next) => {
  if (c.env.RATE_LIMITS === "on") {
    const shopperId = c.get("shopperId");
    const key =
      shopperId !== null
        ? `shopper:${shopperId}`
        : `ip:${c.req.header("cf-connecting-ip") ?? "unknown"}`;
    const { success } = await c.env.SHOPPER_RATE_LIMITER.limit({ key });
    if (!success) {
      throw new HttpError(
        "rate_limited",
        `Too many requests from this ${shopperId !== null ? "shopper" : "client"}; retry in ${RATE_LIMIT_PERIOD_S} s.`,
        { "Retry-After": String(RATE_LIMIT_PERIOD_S) },
      );
    }
  }
  await next();
});
