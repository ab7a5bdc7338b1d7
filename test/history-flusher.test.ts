import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { ProductObject } from "../src/product/product-object";
import {
  ADMIN,
  call,
  logLines,
  metrics,
  newProduct,
  pendingOrder,
  productObject,
  uniqueKey,
  webhook,
} from "./helpers";

interface Statement {
  query: string;
  args: unknown[];
}

/**
 * A D1 that passes batches on to the real one unless `refuse` returns an error for them, and
 * records every batch it was asked to write.
 */
function standIn(refuse: (statements: Statement[]) => Error | null) {
  const batches: Statement[][] = [];
  const statement = (
    query: string,
    args: unknown[] = [],
  ): Statement & { bind: (...a: unknown[]) => Statement } => ({
    query,
    args,
    bind: (...bound: unknown[]) => statement(query, bound),
  });
  const db = {
    prepare: (query: string) => statement(query),
    batch: async (statements: Statement[]) => {
      batches.push(statements);
      const error = refuse(statements);
      if (error) throw error;
      return env.DB.batch(statements.map((s) => env.DB.prepare(s.query).bind(...s.args)));
    },
  } as unknown as D1Database;
  return { db, batches, calls: () => batches.length };
}

const mentions = (statements: Statement[], orderId: string) =>
  statements.some((s) => s.args.includes(orderId));

async function useDb(productId: number, db: D1Database): Promise<void> {
  await runInDurableObject(productObject(productId), (instance: ProductObject) => {
    (instance as unknown as { env: object }).env = { ...env, DB: db };
  });
}

let clock = Date.now();
/** Move the clock (Worker and object) forward. */
function advance(ms: number) {
  clock = Math.max(clock, Date.now()) + ms;
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(clock);
}

const inD1 = async (orderId: string) =>
  (await env.DB.prepare("SELECT status FROM orders WHERE order_id = ?").bind(orderId).first())
    ?.status ?? null;

describe("copying order history to D1", () => {
  it("while D1 is down, writes start no copies; the alarm tries again at the backoff time", async () => {
    const id = await newProduct(20);
    await pendingOrder(id, 1); // opens the object with the real D1
    const down = standIn(() => new Error("D1_ERROR: Network connection lost."));
    await useDb(id, down.db);
    const warnings = vi.spyOn(console, "warn");

    const first = await pendingOrder(id, 1);
    const afterFirstFailure = down.calls();
    expect(afterFirstFailure).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) {
      await webhook({
        idempotency_key: uniqueKey(),
        order_id: (await pendingOrder(id, 1)).order_id,
        status: "success",
      });
    }
    expect(down.calls()).toBe(afterFirstFailure); // no attempt per write while backing off
    const failed = logLines(warnings, "Order history write to D1 failed, will retry.");
    expect(failed).toHaveLength(1);
    expect(failed[0]!.retry_in_ms).toBeGreaterThanOrEqual(2_500);
    expect(failed[0]!.retry_in_ms).toBeLessThanOrEqual(5_000);
    expect((await metrics(id)).body).toMatchObject({
      history_failing_attempts: 1,
      history_dead_letters: 0,
    });

    // The alarm before the backoff has passed does not try; after it, it does, and backs off more.
    await runDurableObjectAlarm(productObject(id));
    expect(down.calls()).toBe(afterFirstFailure);
    advance(5_001);
    await runDurableObjectAlarm(productObject(id));
    expect(down.calls()).toBeGreaterThan(afterFirstFailure);
    const second = logLines(warnings, "Order history write to D1 failed, will retry.")[1]!;
    expect(second.retry_in_ms).toBeGreaterThanOrEqual(5_000);
    expect(second.retry_in_ms).toBeLessThanOrEqual(10_000);
    const backlog = (await metrics(id)).body.history_outbox_backlog;
    expect(backlog).toBe(11);

    await useDb(id, env.DB);
    advance(10_001);
    await runDurableObjectAlarm(productObject(id));
    expect(await inD1(first.order_id)).toBe("pending");
    expect((await metrics(id)).body).toMatchObject({
      history_outbox_backlog: 0,
      history_failing_attempts: 0,
      history_dead_letters: 0,
      invariants: { ok: true },
    });
  });

  it("an event D1 rejects for good goes to the dead letters; the rest flows; a retry puts it back", async () => {
    const id = await newProduct(20);
    const before = await pendingOrder(id, 1);
    let poison = "";
    const picky = standIn((statements) =>
      poison && mentions(statements, poison)
        ? new Error("D1_ERROR: CHECK constraint failed: orders: SQLITE_CONSTRAINT")
        : null,
    );
    await useDb(id, picky.db);
    const errors = vi.spyOn(console, "error");
    const bad = await pendingOrder(id, 1);
    poison = bad.order_id;
    // The order's first event is already in D1 or queued; pay it so its next event is refused.
    await webhook({ idempotency_key: uniqueKey(), order_id: bad.order_id, status: "success" });
    const after = await pendingOrder(id, 1);

    await vi.waitFor(async () => expect((await metrics(id)).body.history_outbox_backlog).toBe(0));
    expect(await inD1(before.order_id)).toBe("pending");
    expect(await inD1(after.order_id)).toBe("pending");
    const parked = logLines(errors, "Order history event moved to dead letters.");
    expect(parked.length).toBeGreaterThanOrEqual(1);
    expect(parked[0]).toMatchObject({
      product_id: id,
      error: expect.stringContaining("CHECK constraint failed"),
    });
    expect(String(parked[0]!.event)).toContain(bad.order_id);

    const list = await call("GET", `/api/admin/products/${id}/dead-letters`, { headers: ADMIN });
    expect(list.status).toBe(200);
    expect(list.body.next_cursor).toBeNull();
    expect(list.body.dead_letters.map((d: any) => d.order_id)).toEqual(
      list.body.dead_letters.map(() => bad.order_id),
    );
    expect((await metrics(id)).body).toMatchObject({
      history_dead_letters: list.body.dead_letters.length,
      invariants: { ok: true },
    });

    // Fixed: each dead letter goes back to the outbox under its own seq and reaches D1.
    poison = "";
    for (const letter of list.body.dead_letters) {
      const retried = await call(
        "POST",
        `/api/admin/products/${id}/dead-letters/${letter.seq}/retry`,
        { headers: ADMIN },
      );
      expect(retried.status).toBe(200);
      expect(retried.body.seq).toBe(letter.seq);
    }
    await vi.waitFor(async () => expect(await inD1(bad.order_id)).toBe("paid"));
    expect(
      (await call("GET", `/api/admin/products/${id}/dead-letters`, { headers: ADMIN })).body
        .dead_letters,
    ).toEqual([]);
    const again = await call(
      "POST",
      `/api/admin/products/${id}/dead-letters/${list.body.dead_letters[0].seq}/retry`,
      {
        headers: ADMIN,
      },
    );
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe("dead_letter_not_found");
    expect((await metrics(id)).body).toMatchObject({
      history_dead_letters: 0,
      history_outbox_backlog: 0,
      invariants: { ok: true },
    });
  });

  it("an event that keeps failing while the others get through is parked after 5 attempts", async () => {
    const id = await newProduct(50);
    await pendingOrder(id, 1);
    let poison = "";
    const flaky = standIn((statements) =>
      poison && mentions(statements, poison)
        ? new Error("D1_ERROR: Network connection lost.")
        : null,
    );
    await useDb(id, flaky.db);
    const bad = await pendingOrder(id, 1);
    poison = bad.order_id;
    await webhook({ idempotency_key: uniqueKey(), order_id: bad.order_id, status: "failure" });
    for (let round = 0; round < 6; round++) {
      advance(61_000); // past any backoff
      await pendingOrder(id, 1); // another event that gets through
      await runDurableObjectAlarm(productObject(id));
    }
    const m = (await metrics(id)).body;
    expect(m).toMatchObject({
      history_dead_letters: 1,
      history_outbox_backlog: 0,
      invariants: { ok: true },
    });
    const [letter] = (
      await call("GET", `/api/admin/products/${id}/dead-letters`, { headers: ADMIN })
    ).body.dead_letters;
    expect(letter).toMatchObject({ order_id: bad.order_id, attempts: 5, event: "order_failed" });
  });

  it("copies a backlog in batches within D1's limits (at most 50 statements each)", async () => {
    const id = await newProduct(100);
    await pendingOrder(id, 1);
    let down = true;
    const counting = standIn(() => (down ? new Error("D1_ERROR: Network connection lost.") : null));
    await useDb(id, counting.db);
    const orders = [];
    for (let i = 0; i < 30; i++) orders.push(await pendingOrder(id, 1));
    down = false;
    advance(61_000);
    const copiedFrom = counting.batches.length;
    await runDurableObjectAlarm(productObject(id));
    const batches = counting.batches.slice(copiedFrom);
    expect(batches.length).toBeGreaterThanOrEqual(2);
    for (const batch of batches) {
      expect(batch.length).toBeLessThanOrEqual(50);
      for (const s of batch) expect(s.args.length).toBeLessThanOrEqual(100);
    }
    for (const o of orders) expect(await inD1(o.order_id)).toBe("pending");
  });
});
