import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { isAdminToken } from "./admin";
import { hmacKey } from "../contract/hmac-key";
import { verify } from "hono/jwt";
import type { Env } from "../env";
import type { ErrorCode } from "../contract/errors";
import { HttpError, refuseMisconfigured } from "../http/error-answer";
import type { AppEnv } from "../http/context";

/**
 * Who is shopping. With SHOPPER_TOKEN_SECRET set, a shopper proves who they are with a JWT their
 * storefront backend minted (HS256, `sub` = shopper id, `exp` required, verified with Hono's JWT
 * helper); an `X-Shopper-Id` header is then ignored. Without the secret, `X-Shopper-Id` names
 * the shopper only with TRUST_SHOPPER_HEADER=true (a storefront backend in front sets it; a
 * request that sends it otherwise is refused 503), and a caller naming no one is an
 * anonymous shopper (unlimited) only while ALLOW_ANONYMOUS_SHOPPERS=true, which only `npm start`
 * sets: a deploy without the secret refuses anonymous shoppers rather than run uncapped.
 */
const SHOPPER_ID = /^[\x21-\x7e](?:[\x20-\x7e]{0,126}[\x21-\x7e])?$/;
/** Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds. */
const LEEWAY_S = 60;

export const isShopperId = (value: string): boolean => SHOPPER_ID.test(value);

function invalid(reason: string): HttpError {
  return new HttpError("invalid_shopper_token", `The shopper token is not valid: ${reason}.`);
}

const isTime = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value);

/**
 * Tokens this isolate has verified, with the times they are good between: a shopper sends the same
 * token with every request, and its signature need only be checked once. Keyed by the whole token
 * (signature included) and the secret, so only what verified is ever found here; bounded, oldest
 * first out.
 */
const VERIFIED_MAX = 10_000;
const verified = new Map<string, { sub: string; fromMs: number; untilMs: number }>();

/** The shopper id a token names, once its signature, algorithm, times and subject check out. */
export async function verifyShopperToken(
  token: string,
  secret: string,
  nowMs = Date.now(),
): Promise<string> {
  const cacheKey = `${secret.length}:${secret}:${token}`;
  const known = verified.get(cacheKey);
  if (known) {
    if (nowMs < known.untilMs && nowMs >= known.fromMs) return known.sub;
    verified.delete(cacheKey);
  }
  return checkShopperToken(token, secret, cacheKey, nowMs);
}

async function checkShopperToken(
  token: string,
  secret: string,
  cacheKey: string,
  nowMs: number,
): Promise<string> {
  let payload: Record<string, unknown>;
  try {
    // Hono checks the header (alg must be HS256: `none` and others are refused) and the signature;
    // times are checked below, with leeway and `exp` required, which Hono does not do.
    payload = await verify(token, await hmacKey(secret), {
      alg: "HS256",
      exp: false,
      nbf: false,
      iat: false,
    });
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : "malformed");
  }
  const now = nowMs / 1000;
  if (!isTime(payload.exp)) throw invalid("exp (a NumericDate) is required");
  if (payload.exp + LEEWAY_S <= now) throw invalid("it has expired");
  if (payload.nbf !== undefined && (!isTime(payload.nbf) || payload.nbf - LEEWAY_S > now)) {
    throw invalid("it is not valid yet (nbf)");
  }
  if (payload.iat !== undefined && (!isTime(payload.iat) || payload.iat - LEEWAY_S > now)) {
    throw invalid("it was issued in the future (iat)");
  }
  if (typeof payload.sub !== "string" || !isShopperId(payload.sub)) {
    throw invalid("sub must be the shopper id, 1 to 128 printable ASCII characters");
  }
  remember(cacheKey, {
    sub: payload.sub,
    fromMs: Math.max(
      isTime(payload.nbf) ? (payload.nbf - LEEWAY_S) * 1000 : -Infinity,
      isTime(payload.iat) ? (payload.iat - LEEWAY_S) * 1000 : -Infinity,
    ),
    untilMs: (payload.exp + LEEWAY_S) * 1000,
  });
  return payload.sub;
}

function remember(key: string, entry: { sub: string; fromMs: number; untilMs: number }): void {
  if (verified.size >= VERIFIED_MAX) {
    const oldest = verified.keys().next();
    if (!oldest.done) verified.delete(oldest.value);
  }
  verified.set(key, entry);
}

function bearer(c: Context): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1];
}

/**
 * The shopper an `X-Shopper-Id` header names (null: none sent). The header is only believed with
 * TRUST_SHOPPER_HEADER=true (a storefront backend in front sets it); otherwise anyone could name
 * anyone, so a request sending it is refused rather than served as somebody else or as nobody.
 */
function headerShopper(c: Context<AppEnv>): string | null {
  const named = c.req.header("x-shopper-id");
  if (named === undefined) return null;
  if (c.env.TRUST_SHOPPER_HEADER !== "true") {
    refuseMisconfigured(
      c,
      "shopper_auth_not_configured",
      "Shopper refused: X-Shopper-Id sent, but TRUST_SHOPPER_HEADER is not true and SHOPPER_TOKEN_SECRET is not set.",
      "X-Shopper-Id is not trusted by this deployment: it has no SHOPPER_TOKEN_SECRET and TRUST_SHOPPER_HEADER is not true.",
    );
  }
  if (!isShopperId(named)) {
    throw new HttpError("invalid_request", "X-Shopper-Id: 1 to 128 printable ASCII characters");
  }
  return named;
}

/** The shopper making a request that takes or gives back stock; throws 401/503 as documented. */
export async function identifyShopper(c: Context<AppEnv>): Promise<string | null> {
  const env: Env = c.env;
  if (env.SHOPPER_TOKEN_SECRET) {
    const token = bearer(c);
    if (!token) {
      throw new HttpError(
        "shopper_token_required",
        "Send the shopper's token as Authorization: Bearer <JWT>.",
      );
    }
    return verifyShopperToken(token, env.SHOPPER_TOKEN_SECRET);
  }
  // A caller who sends the header believes it names a shopper: never serve it as anonymous.
  const named = headerShopper(c);
  if (named !== null) return named;
  if (env.ALLOW_ANONYMOUS_SHOPPERS === "true") return null;
  refuseMisconfigured(
    c,
    "shopper_auth_not_configured",
    "Shopper refused: SHOPPER_TOKEN_SECRET is not set and ALLOW_ANONYMOUS_SHOPPERS is not true.",
    "Shoppers cannot be identified: this deployment has no SHOPPER_TOKEN_SECRET.",
  );
}

/** Routes that take or give back stock know their shopper before anything else happens. */
export const requireShopper = createMiddleware<AppEnv>(async (c, next) => {
  c.set("shopperId", await identifyShopper(c));
  await next();
});

/**
 * Who may read an order: the admin token sees every order; otherwise the shopper as above, except
 * that a reader without identity is simply anonymous (they see only orders that have no shopper).
 */
export async function identifyReader(
  c: Context<AppEnv>,
): Promise<{ shopperId: string | null; admin: boolean }> {
  const token = bearer(c);
  if (token !== undefined && (await isAdminToken(token, c.env.ADMIN_TOKEN))) {
    return { shopperId: null, admin: true };
  }
  const secret = c.env.SHOPPER_TOKEN_SECRET;
  if (secret) {
    return { shopperId: token ? await verifyShopperToken(token, secret) : null, admin: false };
  }
  return { shopperId: headerShopper(c), admin: false };
}

/** What a route that identifies its shopper can answer before anything else happens. */
export const SHOPPER_ERRORS = [
  "shopper_token_required",
  "invalid_shopper_token",
  "shopper_auth_not_configured",
] as const satisfies readonly ErrorCode[];
