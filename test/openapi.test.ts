import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ERROR_STATUS, type ErrorCode } from "../src/contract/errors";
import committed from "../src/contract/openapi.json?raw";
import { getProduct, holdUnits, orderHold, storefrontClient } from "./typed-client/example";
import { call, newProduct, uniqueKey } from "./helpers";

/**
 * The document's shape: what every operation must say (test/openapi-conformance.test.ts checks
 * live answers against it; test/typed-client/openapi.spec.mjs lints it with Redocly in Node).
 */
let doc: any;
const operations: { method: string; path: string; op: any }[] = [];

beforeAll(async () => {
  const res = await call("GET", "/openapi.json");
  expect(res.status).toBe(200);
  doc = res.body;
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries(item)) operations.push({ method, path, op });
  }
});

const resolve = (node: any): any =>
  node?.$ref
    ? resolve(
        node.$ref
          .slice(2)
          .split("/")
          .reduce((at: any, key: string) => at?.[key], doc),
      )
    : node;

describe("GET /openapi.json", () => {
  it("is the committed src/contract/openapi.json, which the typed client is generated from", () => {
    expect(
      doc,
      "The API's document changed: run `npm run openapi:types` (it rewrites src/contract/openapi.json and openapi.d.ts) and commit the result",
    ).toEqual(JSON.parse(committed));
  });

  it("names servers, and has neither /docs nor itself among the operations", () => {
    expect(doc.servers.map((s: any) => s.url)).toEqual(["http://127.0.0.1:8787", "https://{host}"]);
    expect(Object.keys(doc.paths)).not.toContain("/docs");
    expect(Object.keys(doc.paths)).not.toContain("/openapi.json");
  });

  it("gives every operation a unique camelCase operationId, a tag, a summary and its security", () => {
    const ids = operations.map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const tags = doc.tags.map((t: any) => t.name);
    const schemes = Object.keys(doc.components.securitySchemes);
    for (const { method, path, op } of operations) {
      const what = `${method.toUpperCase()} ${path}`;
      expect(op.operationId, what).toMatch(/^[a-z][a-zA-Z]+$/);
      expect(op.summary, what).toBeTruthy();
      expect(op.tags, what).toHaveLength(1);
      expect(tags, what).toContain(op.tags[0]);
      expect(Array.isArray(op.security), `${what}: security`).toBe(true);
      for (const requirement of op.security) {
        for (const name of Object.keys(requirement)) expect(schemes, what).toContain(name);
      }
    }
    expect(schemes.sort()).toEqual(
      ["AdminToken", "ShopperId", "ShopperToken", "StripeSignature", "WebhookSignature"].sort(),
    );
    const admin = operations.filter(({ path }) => path.startsWith("/api/admin/"));
    expect(admin.length).toBeGreaterThan(0);
    for (const { op } of admin) expect(op.security).toEqual([{ AdminToken: [] }]);
  });

  it("documents the answers any operation can give once, and refers to them from each", () => {
    for (const { op } of operations) {
      expect(op.responses["405"]).toEqual({ $ref: "#/components/responses/MethodNotAllowed" });
      expect(op.responses["413"]).toEqual({ $ref: "#/components/responses/PayloadTooLarge" });
      expect(op.responses["500"]).toEqual({ $ref: "#/components/responses/InternalError" });
    }
    expect(Object.keys(resolve(doc.components.responses.MethodNotAllowed).headers)).toContain(
      "Allow",
    );
  });

  it("lists each error code under its status, with the headers that status carries", () => {
    for (const { method, path, op } of operations) {
      for (const [status, documented] of Object.entries<any>(op.responses)) {
        const what = `${method.toUpperCase()} ${path} ${status}`;
        const response = resolve(documented);
        const headers = Object.keys(response.headers ?? {});
        if (status !== "101") expect(headers, what).toContain("Request-Id");
        if (status === "429" || status === "503") expect(headers, what).toContain("Retry-After");
        if (Number(status) < 400) continue;
        const media = response.content["application/json"];
        expect(media.schema, what).toEqual({ $ref: "#/components/schemas/Error" });
        const codes = Object.keys(media.examples) as ErrorCode[];
        expect(codes.length, what).toBeGreaterThan(0);
        for (const code of codes)
          expect(ERROR_STATUS[code], `${what} ${code}`).toBe(Number(status));
        if (codes.includes("unauthorized")) expect(headers, what).toContain("WWW-Authenticate");
      }
    }
  });

  it("marks the answers that can replay an earlier request's with Idempotent-Replayed", () => {
    const replaying = operations
      .filter(({ op }) =>
        Object.values<any>(op.responses).some((r) => r.headers?.["Idempotent-Replayed"]),
      )
      .map(({ op }) => op.operationId);
    expect(replaying.sort()).toEqual(["createHold", "restockProduct"]);
  });
});

describe("GET /docs", () => {
  it("answers Scalar's API reference, reading /openapi.json", async () => {
    const res = await exports.default.fetch(new Request("http://checkout.test/docs"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("request-id")).toBeTruthy();
    const html = await res.text();
    expect(html).toContain("/openapi.json");
    // The renderer comes from this origin (test/trust-headers.test.ts checks the policy).
    expect(html).toContain('src="/vendor/scalar-api-reference.js"');
  });

  it("is 405 for other methods, like any known path", async () => {
    const res = await call("POST", "/docs");
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET");
  });
});

describe("the typed storefront client (test/typed-client/example.ts)", () => {
  it("holds, replays and orders against the Worker, with typed answers and errors", async () => {
    const client = storefrontClient({
      baseUrl: "http://checkout.test",
      fetch: (request) => exports.default.fetch(request),
    });
    const id = await newProduct(3);
    expect((await getProduct(client, id)).available).toBe(3);
    const key = uniqueKey();
    const { hold, replayed } = await holdUnits(client, id, 2, key);
    expect(replayed).toBe(false);
    expect(await holdUnits(client, id, 2, key)).toEqual({ hold, replayed: true });
    const order = await orderHold(client, hold.hold_id);
    expect(order).toMatchObject({ hold_id: hold.hold_id, qty: 2, status: "pending" });
    await expect(holdUnits(client, id, 2)).rejects.toMatchObject({
      status: 409,
      error: { code: "insufficient_stock" },
    });
  });
});
