import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./context";

/**
 * CORS for storefronts on other origins: the origins listed in CORS_ORIGINS (comma-separated, e.g.
 * `https://shop.example.com`) get Hono's CORS answers, preflights included, for the headers a
 * storefront sends; every other origin gets no CORS headers at all, so browsers keep it out.
 */
const ALLOWED_HEADERS = ["content-type", "authorization", "idempotency-key"];
const EXPOSED_HEADERS = ["Request-Id", "Idempotent-Replayed", "Retry-After"];
const METHODS = ["GET", "POST", "PATCH", "DELETE", "OPTIONS"];

const parsed = new Map<string, Set<string>>();
function originsOf(list: string | undefined): Set<string> {
  const raw = list ?? "";
  let origins = parsed.get(raw);
  if (!origins) {
    origins = new Set(
      raw
        .split(",")
        .map((origin) => origin.trim().replace(/\/$/, ""))
        .filter(Boolean),
    );
    parsed.set(raw, origins);
  }
  return origins;
}

const allowCors = cors({
  origin: (origin) => origin,
  allowHeaders: ALLOWED_HEADERS,
  allowMethods: METHODS,
  exposeHeaders: EXPOSED_HEADERS,
  maxAge: 600,
});

export const corsForStorefronts = createMiddleware<AppEnv>(async (c, next) => {
  const origin = c.req.header("origin");
  if (origin && originsOf(c.env.CORS_ORIGINS).has(origin)) return allowCors(c, next);
  // A preflight from anywhere else: answered, but with nothing that would let the browser through.
  if (c.req.method === "OPTIONS") return c.body(null, 204, { Allow: METHODS.join(", ") });
  await next();
});
