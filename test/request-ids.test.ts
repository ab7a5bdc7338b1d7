import { describe, expect, it, vi } from "vitest";
import { call, getProduct, hold, logLines, newProduct, release } from "./helpers";

describe("request ids", () => {
  it("every answer carries Request-Id, and an error body names the same id", async () => {
    const ok = await call("GET", "/healthz");
    expect(ok.headers.get("request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const missing = await getProduct(1_999_999_997);
    expect(missing.status).toBe(404);
    expect(missing.body.error.request_id).toBe(missing.headers.get("request-id"));
    const notFound = await call("GET", "/nowhere");
    expect(notFound.body.error.request_id).toBe(notFound.headers.get("request-id"));
  });

  it("uses Cloudflare's cf-ray when there is one", async () => {
    const res = await call("GET", "/api/products/1", {
      headers: { "cf-ray": "8f1c2d3e4f5a6b7c-AMS" },
    });
    expect(res.headers.get("request-id")).toBe("8f1c2d3e4f5a6b7c-AMS");
  });

  it("every log line the request causes, in the Worker and in the product's object, names it", async () => {
    const id = await newProduct(5);
    const h = (await hold(id, 1)).body;
    const logs = vi.spyOn(console, "log");
    const res = await release(h.hold_id, { "cf-ray": "trace-me-1" });
    expect(res.headers.get("request-id")).toBe("trace-me-1");
    expect(logLines(logs, "Hold released by shopper.")).toEqual([
      expect.objectContaining({ request_id: "trace-me-1", hold_id: h.hold_id }),
    ]);
  });
});
