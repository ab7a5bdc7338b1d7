import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { configFrom } from "../config";
import { HttpError } from "../http/error-answer";
import type { AppEnv } from "../http/context";

/**
 * Per-client rate limits in front of every route that reaches a product's object, with the
 * Workers Rate Limiting binding: a limited request is answered here (429 `rate_limited` with
 * Retry-After) and never reaches the object. Two budgets, both in wrangler.toml:
 *
 * - `shopper`: SHOPPER_RATE_LIMITER (20 per 10 s), keyed by the shopper, or by the client's IP for
 *   an anonymous caller: holds, releases, orders, cancels, queue joins, and order reads by their
 *   shopper. Far above what a person clicks, far below what a script sends.
 * - `ip`: PUBLIC_RATE_LIMITER (1,000 per 10 s), keyed by CF-Connecting-IP: product reads, ticket
 *   polls, live-socket upgrades, and order reads that name no shopper. Generous, because shoppers
 *   behind one carrier NAT share an address.
 *
 * The binding counts per Cloudflare location and is eventually consistent: a coarse throttle
 * against floods, never an exact budget. RATE_LIMITS=off (what `npm start` sets) turns both off;
 * any value but `on` or `off` is refused (src/config.ts).
 */

/** The bindings' window (wrangler.toml `period`), which is how long a limited client waits at most. */
export const RATE_LIMIT_PERIOD_S = 10;

export type RateLimitKey = "shopper" | "ip";

/** Count this request against its client's budget; throws 429 `rate_limited` past it. */
export async function limitRate(c: Context<AppEnv>, by: RateLimitKey): Promise<void> {
  if (!configFrom(c.env).rateLimits) return;
  const shopperId = by === "shopper" ? c.get("shopperId") : null;
  const ip = c.req.header("cf-connecting-ip") ?? "unknown";
  const limiter = by === "shopper" ? c.env.SHOPPER_RATE_LIMITER : c.env.PUBLIC_RATE_LIMITER;
  const key = shopperId !== null ? `shopper:${shopperId}` : `ip:${ip}`;
  const { success } = await limiter.limit({ key });
  if (!success) {
    const who = shopperId !== null ? "shopper" : "address";
    throw new HttpError(
      "rate_limited",
      `Too many requests from this ${who}; retry in ${RATE_LIMIT_PERIOD_S} s.`,
      { "Retry-After": String(RATE_LIMIT_PERIOD_S) },
    );
  }
}

/** The limit as a route middleware (after requireShopper for `shopper`, so it knows who). */
export const rateLimited = (by: RateLimitKey) =>
  createMiddleware<AppEnv>(async (c, next) => {
    await limitRate(c, by);
    await next();
  });
