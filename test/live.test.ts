import { createExecutionContext, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import worker from "../src/index";
import { CLOSE_REPLACED, relayName, relayPlan } from "../src/contract/live";
import { verifyTicket } from "../src/queue/tokens";
import { describe, expect, it } from "vitest";
import {
  as,
  call,
  expectError,
  hold,
  newProduct,
  newShopper,
  patchProduct,
  productObject,
  release,
  metrics,
  uniqueKey,
  webhook,
} from "./helpers";

interface Socket {
  frames: unknown[];
  /** The close code once the server closed it. */
  closed: () => number | null;
  /** Every message, flattened (a frame may be an array of messages). */
  messages: () => any[];
  next: (count?: number) => Promise<void>;
  close: () => void;
}

/** Ask for a live socket through the Worker, as a browser would (with these vars, if any). */
async function upgrade(path: string, vars?: Partial<Cloudflare.Env>): Promise<Response> {
  const request = new Request(`http://checkout.test${path}`, { headers: { upgrade: "websocket" } });
  return vars
    ? worker.fetch(request, { ...env, ...vars }, createExecutionContext())
    : exports.default.fetch(request);
}

/** The seq a ticket carries. */
async function ticketSeq(productId: number, token: string): Promise<number> {
  const ticket = await verifyTicket(token, env.QUEUE_SECRET!);
  expect(ticket?.productId).toBe(productId);
  return ticket!.seq;
}

/** The relay a ticket's socket goes to under the deployed settings. */
function relayOf(productId: number, seq: number) {
  const plan = relayPlan(Number(env.MAX_LIVE_SOCKETS), Number(env.LIVE_SOCKETS_PER_RELAY));
  return env.LIVE_RELAYS.getByName(relayName(productId, seq % plan.relays));
}

/** Open the live socket through the Worker, as a browser would. */
async function connect(path: string, vars?: Partial<Cloudflare.Env>): Promise<Socket> {
  const res = await upgrade(path, vars);
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  let closed: number | null = null;
  ws.addEventListener("close", (event) => (closed = event.code));
  const frames: unknown[] = [];
  const waiters: (() => void)[] = [];
  ws.addEventListener("message", (event) => {
    frames.push(JSON.parse(String(event.data)));
    waiters.splice(0).forEach((wake) => wake());
  });
  return {
    frames,
    closed: () => closed,
    messages: () => frames.flatMap((f) => (Array.isArray(f) ? f : [f])),
    next: async (count = frames.length + 1) => {
      const deadline = Date.now() + 5_000;
      while (frames.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${frames.length} frame(s) arrived`);
        await new Promise<void>((wake) => {
          waiters.push(wake);
          setTimeout(wake, 200);
        });
      }
    },
    close: () => ws.close(1000, "done"),
  };
}

const lastStock = (socket: Socket) =>
  socket
    .messages()
    .filter((m) => m.type === "stock")
    .at(-1);

describe("GET /api/products/:id/live", () => {
  it("is 426 without an upgrade, and 404 for a product that does not exist", async () => {
    const id = await newProduct(5);
    const plain = await call("GET", `/api/products/${id}/live`);
    expectError(plain, 426, "upgrade_required");
    expect(plain.headers.get("upgrade")).toBe("websocket");
    const res = await exports.default.fetch(
      new Request("http://checkout.test/api/products/1999999996/live", {
        headers: { upgrade: "websocket" },
      }),
    );
    expect(res.status).toBe(404);
  });

  it("sends the stock on connect and on every change", async () => {
    const id = await newProduct(5);
    const socket = await connect(`/api/products/${id}/live`);
    await socket.next(1);
    expect(socket.frames[0]).toEqual({
      type: "stock",
      stock: 5,
      reserved: 0,
      available: 5,
      sold_out: false,
    });
    const h = (await hold(id, 2)).body;
    await socket.next(2);
    expect(lastStock(socket)).toEqual({
      type: "stock",
      stock: 5,
      reserved: 2,
      available: 3,
      sold_out: false,
    });
    await release(h.hold_id);
    await socket.next(3);
    expect(lastStock(socket)).toMatchObject({ reserved: 0, available: 5 });
    socket.close();
  });

  it("coalesces a burst into a few frames, the last one with the current state", async () => {
    const id = await newProduct(50);
    const socket = await connect(`/api/products/${id}/live`);
    await socket.next(1);
    await Promise.all(Array.from({ length: 30 }, () => hold(id, 1)));
    await socket.next(2);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(socket.frames.length).toBeLessThan(15);
    expect(lastStock(socket)).toMatchObject({ reserved: 30, available: 20 });
    socket.close();
  });

  it("follows a ticket: its place, then its admission token, and keeps it in the socket's attachment", async () => {
    const id = await newProduct(1);
    await patchProduct(id, { queue: { enabled: true, admit_per_second: 100 } });
    const first = as(newShopper());
    const second = as(newShopper());
    const a = (await call("POST", `/api/products/${id}/queue`, { headers: first })).body;
    const b = (await call("POST", `/api/products/${id}/queue`, { headers: second })).body;
    const socket = await connect(`/api/products/${id}/live?ticket=${b.ticket}`);
    await socket.next(1);
    expect(socket.messages()).toEqual([
      expect.objectContaining({ type: "stock", stock: 1 }),
      { type: "queue", position: 1, state: "waiting" },
    ]);
    // The socket is a relay's (its ticket's: seq mod relays), never the selling object's.
    const seq = await ticketSeq(id, b.ticket);
    const relay = relayOf(id, seq);
    const attachments = await runInDurableObject(relay, (_, state) =>
      state.getWebSockets("ticket").map((ws) => ws.deserializeAttachment()),
    );
    expect(attachments).toEqual([{ productId: id, seq, shopperId: second["x-shopper-id"] }]);
    expect(
      await runInDurableObject(productObject(id), (_, state) => state.getWebSockets()),
    ).toEqual([]);

    // The first shopper holds and lets go: the second is admitted, live.
    const h = await call("POST", "/api/holds", {
      json: { product_id: id, qty: 1, admission_token: a.admission_token },
      headers: first,
    });
    expect(h.status).toBe(201);
    await release(h.body.hold_id, first);
    const deadline = Date.now() + 5_000;
    while (!socket.messages().some((m) => m.type === "queue" && m.state === "admitted")) {
      if (Date.now() > deadline) throw new Error(JSON.stringify(socket.frames));
      await socket.next();
    }
    const admitted = socket
      .messages()
      .filter((m) => m.type === "queue")
      .at(-1);
    expect(admitted).toMatchObject({
      state: "admitted",
      position: null,
      admission_token: expect.stringMatching(/^qa1\./),
    });
    // Signed once, by the relay, and kept with the socket for the rest of the admission.
    const kept = await runInDurableObject(relay, (_, state) =>
      state.getWebSockets("ticket").map((ws) => ws.deserializeAttachment()),
    );
    expect(kept[0].admission.token).toBe(admitted.admission_token);
    socket.close();
  });

  it("refuses a forged ticket or one for another product", async () => {
    const id = await newProduct(1);
    await patchProduct(id, { queue: { enabled: true } });
    const other = await newProduct(1);
    await patchProduct(other, { queue: { enabled: true } });
    const ticket = (
      await call("POST", `/api/products/${other}/queue`, { headers: as(newShopper()) })
    ).body.ticket;
    for (const bad of ["qt1.e30.AAAA", ticket]) {
      const res = await exports.default.fetch(
        new Request(`http://checkout.test/api/products/${id}/live?ticket=${bad}`, {
          headers: { upgrade: "websocket" },
        }),
      );
      expect(res.status).toBe(403);
    }
  });

  it("keeps one socket per ticket: a newer one closes the older with 4001", async () => {
    const id = await newProduct(1);
    await patchProduct(id, { queue: { enabled: true } });
    const ticket = (await call("POST", `/api/products/${id}/queue`, { headers: as(newShopper()) }))
      .body.ticket;
    const older = await connect(`/api/products/${id}/live?ticket=${ticket}`);
    await older.next(1);
    const newer = await connect(`/api/products/${id}/live?ticket=${ticket}`);
    await newer.next(1);
    const deadline = Date.now() + 5_000;
    while (older.closed() === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(older.closed()).toBe(CLOSE_REPLACED);
    expect(newer.closed()).toBeNull();
    const relay = relayOf(id, await ticketSeq(id, ticket));
    expect(
      await runInDurableObject(relay, (_, state) => state.getWebSockets("ticket").length),
    ).toBe(1);
    newer.close();
  });

  it("caps sockets per product: past MAX_LIVE_SOCKETS an upgrade is 503 live_full with Retry-After", async () => {
    const id = await newProduct(5);
    // 3 in all, 2 per relay: two relays carrying 2 and 1.
    const vars = { MAX_LIVE_SOCKETS: "3", LIVE_SOCKETS_PER_RELAY: "2" };
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await connect(`/api/products/${id}/live`, vars));
    for (let i = 0; i < 3; i++) {
      const refused = await upgrade(`/api/products/${id}/live`, vars);
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("30");
      expect(((await refused.json()) as any).error.code).toBe("live_full");
    }
    const counts = await Promise.all(
      [0, 1].map((k) =>
        runInDurableObject(
          env.LIVE_RELAYS.getByName(relayName(id, k)),
          (_, s) => s.getWebSockets().length,
        ),
      ),
    );
    expect(counts.sort()).toEqual([1, 2]);
    // A socket that closes makes room for another.
    open[0]!.close();
    const deadline = Date.now() + 5_000;
    let again = await upgrade(`/api/products/${id}/live`, vars);
    while (again.status !== 101 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      again = await upgrade(`/api/products/${id}/live`, vars);
    }
    expect(again.status).toBe(101);
    again.webSocket!.accept();
    again.webSocket!.close(1000);
    for (const socket of open.slice(1)) socket.close();
  });

  it("costs the product one message per relay per flush, whatever the number of sockets", async () => {
    const id = await newProduct(100);
    // 40 sockets on two relays.
    const vars = { MAX_LIVE_SOCKETS: "200", LIVE_SOCKETS_PER_RELAY: "100" };
    const sockets = await Promise.all(
      Array.from({ length: 40 }, () => connect(`/api/products/${id}/live`, vars)),
    );
    await Promise.all(sockets.map((socket) => socket.next(1)));
    for (let i = 0; i < 5; i++) {
      await hold(id, 1);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    for (const socket of sockets) {
      const deadline = Date.now() + 5_000;
      while (lastStock(socket).reserved !== 5) {
        if (Date.now() > deadline) throw new Error(JSON.stringify(socket.frames));
        await socket.next();
      }
    }
    const load = (await metrics(id)).body.load_since_start;
    expect(load.live_relays).toBe(2);
    expect(load.live_flushes).toBeGreaterThanOrEqual(1);
    // One message to each relay per flush; the 40 sockets got theirs from the relays.
    expect(load.live_relay_messages).toBe(load.live_flushes * 2);
    const frames = sockets.reduce((sum, socket) => sum + socket.frames.length - 1, 0);
    expect(frames).toBeGreaterThanOrEqual(40);
    expect(load.live_relay_messages).toBeLessThanOrEqual(frames / 20);
    for (const socket of sockets) socket.close();
  });

  it("sends at most 4 stock frames a second per socket", async () => {
    const id = await newProduct(200);
    const socket = await connect(`/api/products/${id}/live`);
    await socket.next(1);
    const started = Date.now();
    while (Date.now() - started < 1_500) {
      await hold(id, 1);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const seconds = (Date.now() - started) / 1000;
    // The frame on connect, then at most one per 250 ms flush.
    expect(socket.frames.length - 1).toBeLessThanOrEqual(Math.ceil(seconds * 4));
    const reserved = (await call("GET", `/api/products/${id}`)).body.reserved;
    expect(lastStock(socket)).toMatchObject({ reserved });
    socket.close();
  });

  it("tells every waiting ticket's socket sold_out within one flush of the last unit selling", async () => {
    const id = await newProduct(1);
    await patchProduct(id, { queue: { enabled: true, admit_per_second: 1 } });
    const first = as(newShopper());
    const a = (await call("POST", `/api/products/${id}/queue`, { headers: first })).body;
    const waiting = [];
    for (let i = 0; i < 3; i++) {
      const t = (await call("POST", `/api/products/${id}/queue`, { headers: as(newShopper()) }))
        .body;
      const socket = await connect(`/api/products/${id}/live?ticket=${t.ticket}`);
      await socket.next(1);
      expect(socket.messages().find((m) => m.type === "queue")).toMatchObject({ state: "waiting" });
      waiting.push(socket);
    }
    const h = await call("POST", "/api/holds", {
      json: { product_id: id, qty: 1, admission_token: a.admission_token },
      headers: first,
    });
    expect(h.status).toBe(201);
    const o = await call("POST", "/api/orders", {
      json: { hold_id: h.body.hold_id },
      headers: first,
    });
    expect(o.status).toBe(201);
    const paidAt = Date.now();
    const paid = await webhook({
      idempotency_key: uniqueKey(),
      order_id: o.body.order_id,
      status: "success",
    });
    expect(paid.status).toBe(200);
    for (const socket of waiting) {
      const deadline = paidAt + 2_000;
      while (!socket.messages().some((m) => m.type === "queue" && m.state === "sold_out")) {
        if (Date.now() > deadline) throw new Error(JSON.stringify(socket.frames));
        await socket.next();
      }
      socket.close();
    }
    // A flush is at most 250 ms after the change; well inside a second even on a busy machine.
    expect(Date.now() - paidAt).toBeLessThan(2_000);
  });
});
