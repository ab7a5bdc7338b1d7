// Shopper tokens for the rows that run against the Worker with SHOPPER_TOKEN_SECRET set (tokens,
// bot): minted here as a storefront backend mints them (HS256, sub = shopper id, exp required),
// before any clock starts, so that signing costs the load generator nothing during a row.
import { sign } from "hono/jwt";
import { JSON_HEADERS } from "./http.mjs";

/** The secret of the bench's second workerd server (targets/workerd-direct.mjs). */
export const SHOPPER_TOKEN_SECRET = "bench-shopper-secret";

/** Valid for longer than any run. */
const TOKEN_TTL_S = 6 * 3600;

/**
 * Request headers for `count` shoppers named `<prefix>-0`, `<prefix>-1`…, each with its own token.
 * @returns {Promise<Record<string, string>[]>}
 */
export async function shopperHeaders(count, prefix) {
  const exp = Math.floor(Date.now() / 1000) + TOKEN_TTL_S;
  return Promise.all(
    Array.from({ length: count }, async (_, i) => ({
      ...JSON_HEADERS,
      authorization: `Bearer ${await sign({ sub: `${prefix}-${i}`, exp }, SHOPPER_TOKEN_SECRET, "HS256")}`,
    })),
  );
}
