import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import pageHeaders from "../public/_headers?raw";
import { call, expectError, logLines } from "./helpers";

/** The Content-Security-Policy's directives, by name. */
function directives(policy: string | null): Map<string, string[]> {
  const parsed = new Map<string, string[]>();
  for (const part of (policy ?? "").split(";")) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) parsed.set(name, values);
  }
  return parsed;
}

describe("pages and operators", () => {
  it("the pages send a Content-Security-Policy that allows only this origin and forbids framing", () => {
    const rule = /^\/\*\n((?:[ \t]+.*\n?)+)/m.exec(pageHeaders);
    expect(rule, "a /* rule in public/_headers").not.toBeNull();
    const headers = new Map(
      rule![1]!
        .trim()
        .split("\n")
        .map((line) => {
          const at = line.indexOf(":");
          return [line.slice(0, at).trim(), line.slice(at + 1).trim()] as const;
        }),
    );
    const csp = directives(headers.get("Content-Security-Policy") ?? null);
    expect(csp.get("frame-ancestors")).toEqual(["'none'"]);
    expect(csp.get("script-src")).toEqual(["'self'"]);
    expect(csp.get("default-src")).toEqual(["'self'"]);
    expect(csp.get("connect-src")).toEqual(["'self'"]);
    expect(headers.get("X-Frame-Options")).toBe("DENY");
  });

  it("GET /docs forbids framing and loads its renderer from this origin only", async () => {
    const page = await exports.default.fetch(new Request("http://checkout.test/docs"));
    expect(page.status).toBe(200);
    const html = await page.text();
    const csp = directives(page.headers.get("content-security-policy"));
    expect(csp.get("frame-ancestors")).toEqual(["'none'"]);
    const scriptSrc = csp.get("script-src") ?? [];
    expect(scriptSrc[0]).toBe("'self'");
    expect(scriptSrc.slice(1).every((source) => source.startsWith("'nonce-"))).toBe(true);
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts.some((tag) => tag.includes('src="/vendor/scalar-api-reference.js"'))).toBe(true);
    // Every script is this origin's or carries the page's nonce; none names another host.
    const nonce = scriptSrc[1]!.slice("'nonce-".length, -1);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
    expect(html).not.toMatch(/<script[^>]+src="(https?:)?\/\//);
    expect(html).not.toContain("cdn.jsdelivr.net");
  });

  it("an ADMIN_TOKEN outside the bearer charset answers every admin request 503 with a clear code and log line", async () => {
    const errors = vi.spyOn(console, "error");
    const token = "secret with spaces é";
    const id = 2_070_000_000 + Math.floor(Math.random() * 10_000_000);
    const answers = [
      await call("GET", "/api/admin/products", {
        headers: { authorization: "Bearer anything" },
        vars: { ADMIN_TOKEN: token },
      }),
      await call("POST", "/api/admin/products", {
        headers: { authorization: `Bearer ${encodeURIComponent(token)}` },
        json: { id, name: "x", price_cents: 1, currency: "EUR", stock: 1 },
        vars: { ADMIN_TOKEN: token },
      }),
    ];
    for (const res of answers) expectError(res, 503, "admin_token_invalid");
    expect(
      logLines(
        errors,
        "Admin refused: ADMIN_TOKEN has characters outside the bearer token charset (A-Z a-z 0-9 - . _ ~ + / and = at the end); set a new one.",
      ),
    ).toHaveLength(2);
    // Nothing was created.
    expect(
      await env.DB.prepare("SELECT id FROM products WHERE id = ?").bind(id).first(),
    ).toBeNull();
  });
});
