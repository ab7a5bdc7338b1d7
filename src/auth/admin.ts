import type { Context } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { createMiddleware } from "hono/factory";
import { HttpError, errorResponse, refuseMisconfigured } from "../http/error-answer";
import type { AppEnv } from "../http/context";

const encoder = new TextEncoder();

/**
 * What a bearer token can carry (RFC 6750's b64token, as Hono's bearer-auth matches it). An
 * ADMIN_TOKEN outside it could never be presented: the operator would be locked out for good.
 */
const BEARER_TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;

export const isBearerToken = (value: string): boolean => BEARER_TOKEN.test(value);

/** Constant-time comparison of a presented token with the admin token. */
export async function isAdminToken(given: string, expected: string | undefined): Promise<boolean> {
  if (!expected) return false;
  // Hash both sides so the constant-time compare sees equal lengths.
  const [a, b] = await Promise.all(
    [given, expected].map((s) => crypto.subtle.digest("SHA-256", encoder.encode(s))),
  );
  return crypto.subtle.timingSafeEqual(a!, b!);
}

/** Hono's bearer-auth refusals, in this API's JSON (it adds the WWW-Authenticate challenge). */
const refusal = (c: Context<AppEnv>) =>
  errorResponse(c, "unauthorized", "A valid admin bearer token is required.");

const checkToken = bearerAuth({
  realm: "flash-sale-admin",
  verifyToken: (token, c: Context<AppEnv>) => isAdminToken(token, c.env.ADMIN_TOKEN),
  noAuthenticationHeader: { message: refusal },
  invalidAuthenticationHeader: { message: refusal },
  invalidToken: { message: refusal },
});

/**
 * Operator routes need `Authorization: Bearer $ADMIN_TOKEN` (Hono's bearer-auth, answering 401
 * with `WWW-Authenticate`), and are off, 403, while ADMIN_TOKEN is unset.
 */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.env.ADMIN_TOKEN) {
    throw new HttpError(
      "admin_disabled",
      "Admin routes are disabled: set ADMIN_TOKEN to enable them.",
    );
  }
  // Workers have no start hook: the configuration is checked where it is read, every time.
  if (!isBearerToken(c.env.ADMIN_TOKEN)) {
    refuseMisconfigured(
      c,
      "admin_token_invalid",
      "Admin refused: ADMIN_TOKEN has characters outside the bearer token charset (A-Z a-z 0-9 - . _ ~ + / and = at the end); set a new one.",
      "ADMIN_TOKEN is misconfigured: it has characters a bearer token cannot carry. Set a new one.",
    );
  }
  return checkToken(c, next);
});
