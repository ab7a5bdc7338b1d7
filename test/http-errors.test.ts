import { describe, expect, it } from "vitest";
import { call, getProduct, newProduct } from "./helpers";

describe("bad input gets a JSON error and changes nothing", () => {
  it("malformed JSON is 400 invalid_json", async () => {
    const id = await newProduct(5);
    const res = await call("POST", "/api/holds", {
      body: `{"product_id": ${id}, "qty": 1`,
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: { code: "invalid_json", message: expect.any(String), request_id: expect.any(String) },
    });
    expect((await getProduct(id)).body.reserved).toBe(0);
  });

  it("a body over 16 KiB is 413 payload_too_large", async () => {
    const id = await newProduct(5);
    const json = { product_id: id, qty: 1, padding: "x".repeat(17 * 1024) };
    const res = await call("POST", "/api/holds", { json });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("payload_too_large");
    expect((await getProduct(id)).body.reserved).toBe(0);
  });

  it("a body that is not JSON is 415 unsupported_media_type", async () => {
    const id = await newProduct(5);
    const res = await call("POST", "/api/holds", {
      body: `product_id=${id}&qty=1`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe("unsupported_media_type");
    expect((await getProduct(id)).body.reserved).toBe(0);
  });

  it("an empty JSON body is 400 invalid_json, never 500", async () => {
    const res = await call("POST", "/api/holds", {
      body: "",
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_json");
  });

  it("an unknown route is 404 not_found", async () => {
    const res = await call("GET", "/api/nothing-here");
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
  });

  it.each([
    ["GET", "/api/holds", "POST"],
    ["DELETE", "/api/products/1", "GET"],
    ["PUT", "/api/orders/ord_1_x", "GET"],
    ["GET", "/api/payments/webhook", "POST"],
  ])("%s %s is 405 method_not_allowed with Allow: %s", async (method, path, allowed) => {
    const res = await call(method, path);
    expect(res.status).toBe(405);
    expect(res.body.error.code).toBe("method_not_allowed");
    expect(res.headers.get("allow")).toBe(allowed);
  });
});

describe("GET /openapi.json", () => {
  it("documents every route, generated from the same schemas that validate requests", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe("3.1.0");
    expect(Object.keys(res.body.paths).sort()).toEqual(
      [
        "/api/admin/orders",
        "/api/admin/orders/{id}",
        "/api/admin/products",
        "/api/admin/products/{id}",
        "/api/admin/products/{id}/dead-letters",
        "/api/admin/products/{id}/dead-letters/{seq}/retry",
        "/api/admin/products/{id}/metrics",
        "/api/admin/products/{id}/restock",
        "/api/admin/refunds",
        "/api/admin/refunds/{id}/resolve",
        "/api/config",
        "/api/holds",
        "/api/holds/{id}",
        "/api/orders",
        "/api/orders/{id}",
        "/api/orders/{id}/cancel",
        "/api/orders/{id}/checkout",
        "/api/payments/stripe",
        "/api/payments/webhook",
        "/api/products/{id}",
        "/api/products/{id}/live",
        "/api/products/{id}/queue",
        "/api/queue/{ticket}",
        "/healthz",
      ].sort(),
    );
    expect(res.body.paths["/api/holds"].post.responses).toHaveProperty("409");
    expect(res.body.components.schemas.HoldRequest.required).toEqual(["product_id", "qty"]);
  });

  it("GET /healthz answers without touching a product", async () => {
    const res = await call("GET", "/healthz");
    expect(res).toMatchObject({ status: 200, body: { ok: true } });
  });
});
