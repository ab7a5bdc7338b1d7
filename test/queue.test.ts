import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { productStub } from "../src/reach/product";
import {
  ADMIN,
  as,
  call,
  expectError,
  getProduct,
  logLines,
  newProduct,
  newShopper,
  order,
  patchProduct,
  pendingOrder,
  productObject,
  release,
  uniqueKey,
  webhook,
} from "./helpers";
import { QUEUE_ON, holdWith, join, line, poll } from "./queue-helpers";

async function queuedProduct(stock: number, queue: Record<string, unknown> = {}): Promise<number> {
  const id = await newProduct(stock);
  const res = await patchProduct(id, { queue: { ...QUEUE_ON.queue, ...queue } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return id;
}

function travelTo(at: number) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
}

describe("joining the queue", () => {
  it("is 409 queue_disabled while the queue is off, and turning it on needs QUEUE_SECRET", async () => {
    const id = await newProduct(5);
    expectError(await join(id, as(newShopper())), 409, "queue_disabled");
    const res = await call("PATCH", `/api/admin/products/${id}`, {
      headers: { authorization: "Bearer test-admin-token" },
      json: QUEUE_ON,
      vars: { QUEUE_SECRET: undefined },
    });
    expectError(res, 503, "queue_not_configured");
    expect((await getProduct(id)).body.queue.enabled).toBe(false);
  });

  it("gives a signed ticket; the same shopper joining again gets the same one, anonymous ones a new one", async () => {
    const id = await queuedProduct(0 + 5);
    expect((await getProduct(id)).body.queue).toEqual({
      enabled: true,
      admit_per_second: 1_000,
      admission_ttl_seconds: 60,
    });
    const shopper = as(newShopper());
    const first = await join(id, shopper);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ product_id: id, state: "admitted", position: null });
    expect(first.body.ticket).toMatch(/^qt1\./);
    const again = await join(id, shopper);
    expect(again.status).toBe(200);
    expect(again.body.ticket).toBe(first.body.ticket);
    const a = await join(id);
    const b = await join(id);
    expect(a.status).toBe(201);
    expect(b.body.ticket).not.toBe(a.body.ticket);
    expect((await call("POST", `/api/products/${id}/queue`, { json: { extra: 1 } })).status).toBe(
      422,
    );
  });

  it("admits in arrival order, never more than the units that can still be sold", async () => {
    const id = await queuedProduct(3);
    const joined = await line(id, 8);
    const states = await Promise.all(joined.map((j) => poll(j.ticket, j.shopper)));
    expect(states.map((s) => s.body.state)).toEqual([
      "admitted",
      "admitted",
      "admitted",
      "waiting",
      "waiting",
      "waiting",
      "waiting",
      "waiting",
    ]);
    expect(states.slice(3).map((s) => s.body.position)).toEqual([1, 2, 3, 4, 5]);
    // They wait for units to come back, not for the rate: no estimate to give.
    expect(states[3]!.body).not.toHaveProperty("estimated_wait_seconds");
    for (const s of states.slice(0, 3)) {
      expect(s.body.admission_token).toMatch(/^qa1\./);
      expect(Date.parse(s.body.admission_expires_at)).toBeGreaterThan(Date.now());
    }
    const m = (
      await call("GET", `/api/admin/products/${id}/metrics`, {
        headers: { authorization: "Bearer test-admin-token" },
      })
    ).body;
    expect(m.queue).toMatchObject({
      enabled: true,
      issued: 8,
      waiting: 5,
      admitted_unused: 3,
      frontier: 3,
    });
  });

  it("admits at most admit_per_second a second", async () => {
    const id = await queuedProduct(100, { admit_per_second: 2 });
    const joined = await line(id, 6);
    const admittedNow = async () =>
      (await Promise.all(joined.map((j) => poll(j.ticket, j.shopper)))).filter(
        (s) => s.body.state === "admitted",
      ).length;
    expect(await admittedNow()).toBe(2);
    // Units are there; only the rate holds them back: 2 a second, the last is 2 s away.
    expect((await poll(joined[5]!.ticket, joined[5]!.shopper)).body).toMatchObject({
      position: 4,
      estimated_wait_seconds: 2,
    });
    travelTo(Date.now() + 1_001);
    await runDurableObjectAlarm(productObject(id));
    // Read at the same instant, past the Worker's copy of the frontier: two more, not four.
    const fresh = createApp();
    const states = await Promise.all(
      joined.map((j) => call("GET", `/api/queue/${j.ticket}`, { headers: j.shopper, app: fresh })),
    );
    expect(states.filter((s) => s.body.state === "admitted")).toHaveLength(4);
  });
});

describe("holds with the queue on", () => {
  it("need an admission: missing, forged, foreign and used ones are refused; a keyed retry still replays", async () => {
    const id = await queuedProduct(5);
    const other = await queuedProduct(5);
    const [me, them] = await line(id, 2);
    const [elsewhere] = await line(other, 1);
    const token = (await poll(me!.ticket, me!.shopper)).body.admission_token;

    expectError(await holdWith(id, undefined, me!.shopper), 403, "admission_required");
    expectError(await holdWith(id, `${token}x`, me!.shopper), 403, "invalid_admission");
    expectError(await holdWith(id, "qa1.e30.AAAA", me!.shopper), 403, "invalid_admission");
    expectError(await holdWith(id, token, them!.shopper), 403, "invalid_admission");
    const foreign = (await poll(elsewhere!.ticket, elsewhere!.shopper)).body.admission_token;
    expectError(await holdWith(id, foreign, elsewhere!.shopper), 403, "invalid_admission");
    expect((await getProduct(id)).body.reserved).toBe(0);

    const key = { ...me!.shopper, "idempotency-key": uniqueKey() };
    const made = await holdWith(id, token, key, 2);
    expect(made.status).toBe(201);
    const retried = await holdWith(id, token, key, 2);
    expect(retried.status).toBe(201);
    expect(retried.body.hold_id).toBe(made.body.hold_id);
    expectError(await holdWith(id, token, me!.shopper), 403, "admission_used");
    expect((await getProduct(id)).body.reserved).toBe(2);
  });

  it("too few units left: 409 and the admission stays usable until it expires", async () => {
    const id = await queuedProduct(2);
    const [a, b] = await line(id, 2);
    const tokenA = (await poll(a!.ticket, a!.shopper)).body.admission_token;
    const tokenB = (await poll(b!.ticket, b!.shopper)).body.admission_token;
    // A cannot take B's unit: each admission was let in for one.
    expectError(await holdWith(id, tokenA, a!.shopper, 2), 409, "insufficient_stock");
    expect((await holdWith(id, tokenA, a!.shopper, 1)).status).toBe(201);
    expect((await holdWith(id, tokenB, b!.shopper, 1)).status).toBe(201);
    travelTo(Date.now() + 61_000);
    expectError(await holdWith(id, tokenA, a!.shopper, 1), 403, "invalid_admission");
  });

  it("an admission unused past its TTL expires and passes the place on", async () => {
    const id = await queuedProduct(1);
    const [first, second] = await line(id, 2);
    expect((await poll(second!.ticket, second!.shopper)).body).toMatchObject({
      state: "waiting",
      position: 1,
    });
    travelTo(Date.now() + 61_000);
    await runDurableObjectAlarm(productObject(id));
    expect((await poll(first!.ticket, first!.shopper)).body.state).toBe("expired");
    expect((await poll(second!.ticket, second!.shopper)).body.state).toBe("admitted");
    // After expired, joining again puts the shopper at the back.
    const back = await join(id, first!.shopper);
    expect(back.status).toBe(201);
    expect(back.body).toMatchObject({ state: "waiting", position: 1 });
  });

  it.each([
    [
      "releasing the hold",
      (h: any, shopper: Record<string, string>) => release(h.hold_id, shopper),
    ],
    [
      "the hold expiring",
      async (h: any) => {
        travelTo(Date.parse(h.expires_at) + 1);
        await runDurableObjectAlarm(productObject(h.product_id));
      },
    ],
    [
      "a failed payment",
      async (h: any, shopper: Record<string, string>) => {
        const o = await order(h.hold_id, shopper);
        await webhook({
          idempotency_key: uniqueKey(),
          order_id: o.body.order_id,
          status: "failure",
        });
      },
    ],
  ])("%s admits the next shopper", async (_, giveBack) => {
    const id = await queuedProduct(1);
    const [first, second] = await line(id, 2);
    const token = (await poll(first!.ticket, first!.shopper)).body.admission_token;
    const h = (await holdWith(id, token, first!.shopper)).body;
    expect((await poll(second!.ticket, second!.shopper)).body.state).toBe("waiting");
    await giveBack(h, first!.shopper);
    // Read past the Worker's one-second copy of the frontier.
    const next = await call("GET", `/api/queue/${second!.ticket}`, {
      headers: second!.shopper,
      app: createApp(),
    });
    expect(next.body.state).toBe("admitted");
    expect(next.body.admission_token).toMatch(/^qa1\./);
  });

  it("once nothing is left and nothing can come back, every waiting ticket is sold_out, and so are new joins", async () => {
    const id = await queuedProduct(1);
    const [first, ...rest] = await line(id, 4);
    const token = (await poll(first!.ticket, first!.shopper)).body.admission_token;
    const h = (await holdWith(id, token, first!.shopper)).body;
    // Units may still come back (the hold): everyone keeps their place.
    expect((await poll(rest[0]!.ticket, rest[0]!.shopper)).body.state).toBe("waiting");
    const o = await order(h.hold_id, first!.shopper);
    await webhook({ idempotency_key: uniqueKey(), order_id: o.body.order_id, status: "success" });
    travelTo(Date.now() + 1_100);
    for (const j of rest)
      expect((await poll(j.ticket, j.shopper)).body).toMatchObject({
        state: "sold_out",
        position: null,
      });
    const late = await join(id, as(newShopper()));
    expect(late.body.state).toBe("sold_out");
  });
});

describe("tickets", () => {
  it("a ticket this service did not issue, or one altered, is 403 invalid_ticket", async () => {
    const id = await queuedProduct(5);
    const [me] = await line(id, 1);
    const [kind, body, sig] = me!.ticket.split(".") as [string, string, string];
    const altered = `${kind}.${body.slice(0, -2)}${body.slice(-2) === "fQ" ? "fA" : "fQ"}.${sig}`;
    for (const bad of ["nope", altered, `${kind}.${body}.${sig.slice(1)}`, `qa1.${body}.${sig}`]) {
      expectError(await poll(encodeURIComponent(bad), me!.shopper), 403, "invalid_ticket");
    }
    const otherSecret = await call("GET", `/api/queue/${me!.ticket}`, {
      vars: { QUEUE_SECRET: "another-secret-entirely" },
    });
    expectError(otherSecret, 403, "invalid_ticket");
  });

  it("shows the admission token only to the ticket's own shopper", async () => {
    const id = await queuedProduct(5);
    const [me] = await line(id, 1);
    expect((await poll(me!.ticket, me!.shopper)).body.admission_token).toMatch(/^qa1\./);
    const stranger = await poll(me!.ticket, as(newShopper()));
    expect(stranger.body.state).toBe("admitted");
    expect(stranger.body).not.toHaveProperty("admission_token");
  });

  it("polls are answered from the Worker's copy of the frontier, at most a second old", async () => {
    const id = await queuedProduct(5);
    const [me] = await line(id, 1);
    let reads = 0;
    const app = createApp({
      stubFor: (e, productId) => {
        const stub = productStub(e, productId);
        return new Proxy(stub, {
          get: (target, name: keyof typeof stub) => {
            if (name === "readQueue") reads++;
            return target[name];
          },
        });
      },
    });
    for (let i = 0; i < 20; i++) {
      expect(
        (await call("GET", `/api/queue/${me!.ticket}`, { headers: me!.shopper, app })).status,
      ).toBe(200);
    }
    expect(reads).toBe(1);
  });
});

describe("the pre-queue and restarts", () => {
  it("before the start joiners wait without a place; at the start their order is shuffled", async () => {
    const id = await newProduct(100);
    const start = Date.now() + 60_000;
    await patchProduct(id, { ...QUEUE_ON, sale_starts_at: new Date(start).toISOString() });
    const joined = await line(id, 30);
    for (const j of joined) expect(j.first).toMatchObject({ state: "waiting", position: null });
    travelTo(start + 1);
    await runDurableObjectAlarm(productObject(id));
    travelTo(start + 1_200);
    // Ask again at the same instant each time: admissions go on while we look.
    const ranks = await runInDurableObject(productObject(id), async (instance) => {
      const frontier = (await instance.readQueue({ productId: id, requestId: "t" })) as {
        ok: true;
        frontier: any;
      };
      const { rankOf } = await import("../src/queue/frontier");
      return joined.map((_, i) => rankOf(frontier.frontier, i + 1));
    });
    expect([...ranks].sort((a, b) => a! - b!)).toEqual(joined.map((_, i) => i + 1));
    expect(ranks).not.toEqual(joined.map((_, i) => i + 1));
  });

  it("a restart of the object in the middle of a queue loses no one's place", async () => {
    const id = await queuedProduct(2);
    const joined = await line(id, 6);
    const before = await Promise.all(joined.map((j) => poll(j.ticket, j.shopper)));
    await evictDurableObject(productObject(id));
    travelTo(Date.now() + 1_100);
    const after = await Promise.all(joined.map((j) => poll(j.ticket, j.shopper)));
    expect(after.map((a) => [a.body.state, a.body.position])).toEqual(
      before.map((b) => [b.body.state, b.body.position]),
    );
    // The line goes on behind them: a newcomer is after everyone who was there.
    const newcomer = await join(id, as(newShopper()));
    expect(newcomer.body.position).toBeGreaterThan(after.at(-1)!.body.position);
    // And the admitted can still hold.
    const token = after[0]!.body.admission_token;
    expect((await holdWith(id, token, joined[0]!.shopper)).status).toBe(201);
  });

  it("after a restart the line holds exactly the people who joined: 5 on 3 units, a newcomer is 6th", async () => {
    const id = await queuedProduct(3);
    const joined = await line(id, 5);
    const queueMetrics = async () =>
      (await call("GET", `/api/admin/products/${id}/metrics`, { headers: ADMIN })).body.queue;
    expect(await queueMetrics()).toMatchObject({ issued: 5, waiting: 2, admitted_unused: 3 });
    await evictDurableObject(productObject(id));
    // No seq reserved but never handed out counts as anyone: still 5 issued, 2 waiting.
    expect(await queueMetrics()).toMatchObject({ issued: 5, waiting: 2, admitted_unused: 3 });
    const newcomer = await join(id, as(newShopper()));
    expect(newcomer.status).toBe(201);
    // Behind the two who wait: 6th in line, 3rd from the frontier.
    expect(newcomer.body).toMatchObject({ state: "waiting", position: 3 });
    expect(await queueMetrics()).toMatchObject({ issued: 6, waiting: 3 });
    // Those who joined keep their places, and joining again gives the same ticket (looked up in SQL).
    const again = await join(id, joined[4]!.shopper);
    expect(again.status).toBe(200);
    expect(again.body.ticket).toBe(joined[4]!.ticket);
  });

  it("the shopper -> ticket map is not held in memory: the queue's memory does not grow with joiners", async () => {
    const id = await queuedProduct(2);
    const sizes = () =>
      runInDurableObject(productObject(id), (instance) => {
        const queue = (instance as unknown as { queue: Record<string, unknown> }).queue;
        return Object.entries(queue)
          .filter(([, v]) => v instanceof Map || v instanceof Set || Array.isArray(v))
          .map(([name, v]) => [
            name,
            (v as { size?: number; length?: number }).size ?? (v as unknown[]).length,
          ]);
      });
    await line(id, 3);
    const before = await sizes();
    await Promise.all(Array.from({ length: 200 }, () => join(id, as(newShopper()))));
    const after = await sizes();
    expect(after).toEqual(before);
    // What memory holds is bounded by the units (one move per admission), not the crowd.
    for (const [, size] of after) expect(size).toBeLessThanOrEqual(2);
    const saved = await runInDurableObject(productObject(id), (_, state) => ({
      shoppers: state.storage.sql.exec("SELECT COUNT(*) AS n FROM queue_shoppers").one().n,
      issued: state.storage.sql.exec("SELECT issued FROM queue_state").one().issued,
    }));
    expect(saved).toEqual({ shoppers: 203, issued: 203 });
  });
});

describe("queue rules", () => {
  it("moving sale_starts_at once the queue has tickets is 409 queue_has_tickets and changes nothing", async () => {
    const id = await newProduct(10);
    const start = Date.now() + 60_000;
    const startIso = new Date(start).toISOString();
    await patchProduct(id, { ...QUEUE_ON, sale_starts_at: startIso });
    const joined = await line(id, 3);
    for (const moved of [
      new Date(start + 3_600_000).toISOString(),
      new Date(start - 30_000).toISOString(),
    ]) {
      expectError(await patchProduct(id, { sale_starts_at: moved }), 409, "queue_has_tickets");
    }
    expect((await getProduct(id)).body.sale_starts_at).toBe(startIso);
    for (const j of joined) {
      expect((await poll(j.ticket, j.shopper)).body).toMatchObject({
        state: "waiting",
        position: null,
      });
    }
  });

  it("clearing sale_starts_at opens the line now, its pre-queue shuffled first", async () => {
    const id = await newProduct(100);
    const start = Date.now() + 600_000;
    await patchProduct(id, { ...QUEUE_ON, sale_starts_at: new Date(start).toISOString() });
    const joined = await line(id, 30);
    const infos = vi.spyOn(console, "log");
    const opened = await patchProduct(id, { sale_starts_at: null });
    expect(opened.status, JSON.stringify(opened.body)).toBe(200);
    expect(logLines(infos, "Queue pre-queue shuffled: opened early.")).toHaveLength(1);
    const ranks = await runInDurableObject(productObject(id), async (instance) => {
      const answer = (await instance.readQueue({ productId: id, requestId: "t" })) as {
        ok: true;
        frontier: any;
      };
      const { rankOf } = await import("../src/queue/frontier");
      return joined.map((_, i) => rankOf(answer.frontier, i + 1));
    });
    expect([...ranks].sort((a, b) => a! - b!)).toEqual(joined.map((_, i) => i + 1));
    expect(ranks).not.toEqual(joined.map((_, i) => i + 1));
  });

  it("a late payment accepted if available never takes a unit an admitted shopper is counting on", async () => {
    const id = await newProduct(2);
    const late = await pendingOrder(id, 1);
    expect((await call("POST", `/api/orders/${late.order_id}/cancel`)).status).toBe(200);
    await patchProduct(id, { ...QUEUE_ON, late_payments: "accept_if_available" });
    const admitted = await line(id, 2);
    for (const a of admitted) expect(a.first.state).toBe("admitted");
    const paid = await webhook({
      idempotency_key: uniqueKey(),
      order_id: late.order_id,
      status: "success",
    });
    expect(paid.body).toMatchObject({ order_status: "cancelled", ignored: true });
    const after = await call("GET", `/api/admin/products/${id}/metrics`, { headers: ADMIN });
    expect(after.body).toMatchObject({ stock: 2, sold: 0, refunds: { due: 1 } });
    // Both admitted shoppers still get their unit.
    for (const a of admitted) {
      const token = (await poll(a.ticket, a.shopper)).body.admission_token;
      expect((await holdWith(id, token, a.shopper)).status).toBe(201);
    }
  });

  it("lowering admission_ttl_seconds keeps the admissions already signed", async () => {
    const id = await queuedProduct(3, { admission_ttl_seconds: 600 });
    const [first] = await line(id, 1);
    const ticket = (await poll(first!.ticket, first!.shopper)).body;
    const token = ticket.admission_token as string;
    const signedUntil = Date.parse(ticket.admission_expires_at);
    expect(
      (await patchProduct(id, { queue: { enabled: true, admission_ttl_seconds: 10 } })).status,
    ).toBe(200);
    travelTo(Date.now() + 60_000);
    await runDurableObjectAlarm(productObject(id));
    const metricsNow = await call("GET", `/api/admin/products/${id}/metrics`, { headers: ADMIN });
    expect(metricsNow.body.queue).toMatchObject({ admitted_unused: 1 });
    const still = (await poll(first!.ticket, first!.shopper)).body;
    expect(still.state).toBe("admitted");
    expect(Date.parse(still.admission_expires_at)).toBe(signedUntil);
    expect((await holdWith(id, token, first!.shopper)).status).toBe(201);
    // A shopper admitted from now on gets the new, shorter admission.
    const [second] = await line(id, 1);
    const fresh = (await poll(second!.ticket, second!.shopper)).body;
    expect(Date.parse(fresh.admission_expires_at) - Date.now()).toBeLessThanOrEqual(10_000);
  });
});
