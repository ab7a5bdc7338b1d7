import { createMiddleware } from "hono/factory";
import { ApiFailure } from "./http";
import type { AppEnv } from "./routes/types";

const encoder = new TextEncoder();

/** Constant-time comparison of a presented token with the admin token. */
export async function isAdminToken(given: string, expected: string | undefined): Promise<boolean> {
  if (!expected) return false;
  // Hash both sides so the constant-time compare sees equal lengths.
  const [a, b] = await Promise.all(
    [given, expected].map((s) => crypto.subtle.digest("SHA-256", encoder.encode(s))),
  );
  return crypto.subtle.timingSafeEqual(a!, b!);
}

/** Operator routes need `Authorization: Bearer $ADMIN_TOKEN`, and are off while it is unset. */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.env.ADMIN_TOKEN;
  if (!expected) {
    throw new ApiFailure(
      "admin_disabled",
      "Admin routes are disabled: set ADMIN_TOKEN to enable them.",
    );
  }
  const given = /^Bearer (.+)$/.exec(c.req.header("authorization") ?? "")?.[1];
  if (!given || !(await isAdminToken(given, expected))) {
    throw new ApiFailure("unauthorized", "A valid admin bearer token is required.");
  }
  await next();
});
