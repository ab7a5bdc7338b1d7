import { describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { productStub, type ProductStub, type StubFor } from "../src/reach/product";
import {
  backoffMs,
  DEFAULT_RETRY,
  ProductUnavailable,
  withRetries,
  type RetryPolicy,
} from "../src/reach/retry";
import { getProduct, hold, newProduct } from "./helpers";

const transient = (message = "Network connection lost.") =>
  Object.assign(new Error(message), { retryable: true });
const overloaded = () =>
  Object.assign(new Error("Durable Object is overloaded."), { retryable: true, overloaded: true });

function policy(overrides: Partial<RetryPolicy> = {}): RetryPolicy & { delays: number[] } {
  const delays: number[] = [];
  return {
    ...DEFAULT_RETRY,
    random: () => 1,
    sleep: async (ms) => void delays.push(ms),
    ...overrides,
    delays,
  };
}

describe("withRetries", () => {
  it("retries retryable errors with growing backoff until one succeeds", async () => {
    const p = policy({ attempts: 5 });
    let calls = 0;
    const value = await withRetries(
      async () => (++calls < 3 ? Promise.reject(transient()) : "done"),
      p,
      () => {},
    );
    expect(value).toBe("done");
    expect(calls).toBe(3);
    expect(p.delays).toEqual([50, 100]);
  });

  it("gives up after its attempts in all", async () => {
    const p = policy({ attempts: 5 });
    let calls = 0;
    const error = await withRetries(
      async () => Promise.reject(transient(`attempt ${++calls}`)),
      p,
      () => {},
    ).catch((e) => e);
    expect(error).toBeInstanceOf(ProductUnavailable);
    expect(error).toMatchObject({ reason: "retries_exhausted", attempts: 5 });
    expect(calls).toBe(5);
    expect(p.delays).toEqual([50, 100, 200, 400]);
  });

  it("by default retries once: the runtime already retries calls that never reached the object", async () => {
    const p = policy();
    let calls = 0;
    const error = await withRetries(
      async () => Promise.reject(transient(`attempt ${++calls}`)),
      p,
      () => {},
    ).catch((e) => e);
    expect(error).toMatchObject({ reason: "retries_exhausted", attempts: 2 });
    expect(calls).toBe(2);
    expect(p.delays).toEqual([50]);
  });

  it("does not retry an overloaded object", async () => {
    let calls = 0;
    const error = await withRetries(
      async () => Promise.reject((++calls, overloaded())),
      policy(),
      () => {},
    ).catch((e) => e);
    expect(error).toMatchObject({ reason: "overloaded", attempts: 1 });
    expect(calls).toBe(1);
  });

  it("passes other errors through untouched, without retrying", async () => {
    let calls = 0;
    const bug = new TypeError("boom");
    await expect(
      withRetries(
        async () => Promise.reject((++calls, bug)),
        policy(),
        () => {},
      ),
    ).rejects.toBe(bug);
    expect(calls).toBe(1);
  });

  it("jitters each delay within its exponential cap", () => {
    for (const attempt of [1, 2, 3, 4, 5, 6, 7]) {
      const cap = Math.min(1_000, 50 * 2 ** (attempt - 1));
      expect(backoffMs(attempt, { ...DEFAULT_RETRY, random: () => 0 })).toBe(0);
      expect(backoffMs(attempt, { ...DEFAULT_RETRY, random: () => 0.999 })).toBeLessThan(cap);
      expect(backoffMs(attempt, { ...DEFAULT_RETRY, random: () => 0.5 })).toBe(Math.floor(cap / 2));
    }
  });
});

/** A stub whose calls misbehave as `fault` says, around the real object. */
function faultyStubs(fault: (call: number, real: () => Promise<unknown>) => Promise<unknown>): {
  stubFor: StubFor;
  calls: () => number;
} {
  let calls = 0;
  const stubFor: StubFor = (e, productId) => {
    const real = productStub(e, productId);
    return new Proxy(real, {
      get:
        (target, method: keyof ProductStub) =>
        (...args: unknown[]) =>
          fault(++calls, () => (target[method] as (...a: unknown[]) => Promise<unknown>)(...args)),
    });
  };
  return { stubFor, calls: () => calls };
}

describe("the Worker's calls to a product object", () => {
  it("a retry after a lost answer returns the hold that was made, never a second one", async () => {
    const id = await newProduct(10);
    // The first call commits, then its answer is lost on the way back.
    const { stubFor, calls } = faultyStubs(async (n, real) => {
      const answer = await real();
      if (n === 1) throw transient();
      return answer;
    });
    const warnings = vi.spyOn(console, "warn");
    const res = await hold(id, 2, {}, createApp({ stubFor, retry: policy() }));
    expect(res.status).toBe(201);
    // The replay was our own retry's, not the client's: no Idempotent-Replayed for them.
    expect(res.headers.get("idempotent-replayed")).toBeNull();
    expect(calls()).toBe(2);
    expect((await getProduct(id)).body).toMatchObject({ reserved: 2, available: 8 });
    const line = JSON.parse(
      String(
        warnings.mock.calls.find(([l]) => String(l).includes("Transient error, retrying"))![0],
      ),
    );
    expect(line).toMatchObject({
      product_id: id,
      attempt: 1,
      idempotency_key: expect.stringMatching(/^auto:/),
    });
  });

  it("keeps the client's Idempotency-Key across retries", async () => {
    const id = await newProduct(10);
    const { stubFor } = faultyStubs(async (n, real) => {
      const answer = await real();
      if (n === 1) throw transient();
      return answer;
    });
    const app = createApp({ stubFor, retry: policy() });
    const res = await hold(id, 2, { "idempotency-key": "client-key-1" }, app);
    expect(res.status).toBe(201);
    const again = await hold(id, 2, { "idempotency-key": "client-key-1" }, createApp());
    expect(again.body.hold_id).toBe(res.body.hold_id);
    expect((await getProduct(id)).body.reserved).toBe(2);
  });

  it("answers 503 with Retry-After after 2 failed attempts, having changed nothing", async () => {
    const id = await newProduct(10);
    const { stubFor, calls } = faultyStubs(async () => {
      throw transient();
    });
    const res = await hold(id, 2, {}, createApp({ stubFor, retry: policy() }));
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("service_unavailable");
    expect(res.headers.get("retry-after")).toBe("1");
    expect(calls()).toBe(2);
    expect((await getProduct(id)).body.reserved).toBe(0);
  });

  it("answers 503 at once when the object is overloaded", async () => {
    const id = await newProduct(10);
    const { stubFor, calls } = faultyStubs(async () => {
      throw overloaded();
    });
    const res = await hold(id, 2, {}, createApp({ stubFor, retry: policy() }));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(calls()).toBe(1);
  });

  it("answers 500 internal_error for a bug, not a retry storm", async () => {
    const id = await newProduct(10);
    const { stubFor, calls } = faultyStubs(async () => {
      throw new TypeError("unexpected");
    });
    const res = await hold(id, 2, {}, createApp({ stubFor, retry: policy() }));
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe("internal_error");
    expect(calls()).toBe(1);
  });
});
