import { describe, expect, it } from "vitest";
import { ProductReads } from "../src/reach/product-reads";

/** A call the test settles by hand, numbered in the order calls were made. */
function calls() {
  const made: { n: number; settle: (value: number) => void; fail: (error: Error) => void }[] = [];
  const call = () =>
    new Promise<number>((settle, fail) => {
      made.push({ n: made.length + 1, settle, fail });
    });
  return { made, call };
}

const tick = () => new Promise<void>((wake) => setTimeout(wake, 0));
async function until(check: () => boolean) {
  for (let i = 0; i < 1_000 && !check(); i++) await tick();
  expect(check()).toBe(true);
}

describe("ProductReads: concurrent reads share object calls that started after they arrived", () => {
  it("a read never takes the answer of a call already under way; the reads waiting share the next", async () => {
    const reads = new ProductReads<number>({ sleep: tick });
    const { made, call } = calls();
    const first = reads.read("1", call);
    expect(made).toHaveLength(1);
    // Ten reads arrive while call 1 is under way (it may predate a write they made).
    const later = Array.from({ length: 10 }, () => reads.read("1", call));
    await tick();
    expect(made).toHaveLength(1);
    made[0]!.settle(1);
    expect(await first).toBe(1);
    // They share one new call, made once the first one ended.
    await until(() => made.length === 2);
    made[1]!.settle(2);
    expect(await Promise.all(later)).toEqual(Array(10).fill(2));
    expect(made).toHaveLength(2);
    expect(reads.calls).toBe(2);
    // A lone read finds no call under way and makes its own.
    const lone = reads.read("1", call);
    expect(made).toHaveLength(3);
    made[2]!.settle(3);
    expect(await lone).toBe(3);
  });

  it("reads that arrive while a call they may use is under way take its answer", async () => {
    const reads = new ProductReads<number>({ sleep: tick });
    const { made, call } = calls();
    const first = reads.read("1", call);
    made[0]!.settle(1);
    await first;
    // Call 2 starts for a waiting read; reads arriving after it started share it.
    const leader = reads.read("1", call);
    const joined = Array.from({ length: 5 }, () => reads.read("1", call));
    expect(made).toHaveLength(2);
    made[1]!.settle(2);
    expect(await leader).toBe(2);
    // These arrived after call 2 started, so it is not fresh enough for them: one more call.
    await until(() => made.length === 3);
    made[2]!.settle(3);
    expect(await Promise.all(joined)).toEqual(Array(5).fill(3));
  });

  it("keys are products: a read of another product never waits for this one's call", async () => {
    const reads = new ProductReads<number>({ sleep: tick });
    const { made, call } = calls();
    const a = reads.read("1", call);
    // Product 1's call is under way; a read of product 2 makes its own call at once.
    const b = reads.read("2", call);
    expect(made).toHaveLength(2);
    made[0]!.settle(1);
    made[1]!.settle(2);
    expect([await a, await b]).toEqual([1, 2]);
  });

  it("a failed call is not shared: the reads that waited make a call of their own", async () => {
    const reads = new ProductReads<number>({ sleep: tick });
    const { made, call } = calls();
    const first = reads.read("1", call);
    const waiting = Array.from({ length: 3 }, () => reads.read("1", call));
    made[0]!.fail(new Error("object went away"));
    await expect(first).rejects.toThrow("object went away");
    await until(() => made.length === 2);
    made[1]!.settle(7);
    expect(await Promise.all(waiting)).toEqual([7, 7, 7]);
  });

  it("a call under way too long (its request went away) is taken over by a waiting read", async () => {
    let now = 0;
    const reads = new ProductReads<number>({
      sleep: async (ms) => {
        now += ms;
        await tick();
      },
      now: () => now,
      abandonedAfterMs: 100,
    });
    const { made, call } = calls();
    void reads.read("1", call); // never settles
    const waiting = reads.read("1", call);
    await until(() => made.length === 2);
    expect(now).toBeGreaterThanOrEqual(100);
    made[1]!.settle(5);
    expect(await waiting).toBe(5);
  });
});
