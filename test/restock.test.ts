import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { productStub, type StubFor } from "../src/reach/product";
import { DEFAULT_RETRY } from "../src/reach/retry";
import { ADMIN, call, expectError, getProduct, metrics, newProduct, uniqueKey } from "./helpers";

const restock = (
  id: number,
  qty: number,
  headers: Record<string, string> = {},
  app?: { fetch: any },
) =>
  call("POST", `/api/admin/products/${id}/restock`, {
    headers: { ...ADMIN, ...headers },
    json: { qty },
    app,
  });

describe("POST /api/admin/products/:id/restock with Idempotency-Key", () => {
  it("the same key adds the units once and answers the same", async () => {
    const id = await newProduct(5);
    const key = { "idempotency-key": uniqueKey("restock") };
    const first = await restock(id, 10, key);
    const again = await restock(id, 10, key);
    expect(first.status).toBe(200);
    expect(first.body.stock).toBe(15);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    expect((await metrics(id)).body).toMatchObject({
      stock: 15,
      restocked: 10,
      invariants: { ok: true },
    });
  });

  it("the same key with another quantity is 409 idempotency_key_reused and adds nothing", async () => {
    const id = await newProduct(5);
    const key = { "idempotency-key": uniqueKey("restock") };
    await restock(id, 10, key);
    expectError(await restock(id, 11, key), 409, "idempotency_key_reused");
    expect((await getProduct(id)).body.stock).toBe(15);
  });

  it("with a key the Worker retries a restock whose answer was lost, and it is still applied once", async () => {
    const id = await newProduct(5);
    let calls = 0;
    const stubFor: StubFor = (e, productId) => {
      const real = productStub(e, productId);
      return new Proxy(real, {
        get:
          (target, method: keyof typeof real) =>
          async (...args: unknown[]) => {
            const answer = await (target[method] as (...a: unknown[]) => Promise<unknown>)(...args);
            if (method === "restock" && ++calls === 1) {
              throw Object.assign(new Error("Network connection lost."), { retryable: true });
            }
            return answer;
          },
      });
    };
    const app = createApp({ stubFor, retry: { ...DEFAULT_RETRY, sleep: async () => {} } });
    const res = await restock(id, 7, { "idempotency-key": uniqueKey("restock") }, app);
    expect(res.status).toBe(200);
    expect(calls).toBe(2);
    expect((await getProduct(id)).body.stock).toBe(12);
  });

  it("without a key a restock is never retried (it could add the units twice)", async () => {
    const id = await newProduct(5);
    let calls = 0;
    const stubFor: StubFor = () =>
      ({
        restock: async () => {
          calls++;
          throw Object.assign(new Error("Network connection lost."), { retryable: true });
        },
      }) as never;
    const app = createApp({ stubFor, retry: { ...DEFAULT_RETRY, sleep: async () => {} } });
    const res = await restock(id, 7, {}, app);
    expect(res.status).toBe(503);
    expect(calls).toBe(1);
    expect((await getProduct(id)).body.stock).toBe(5);
  });
});
