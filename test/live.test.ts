import { runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
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
} from "./helpers";

interface Socket {
  frames: unknown[];
  /** Every message, flattened (a frame may be an array of messages). */
  messages: () => any[];
  next: (count?: number) => Promise<void>;
  close: () => void;
}

/** Open the live socket through the Worker, as a browser would. */
async function connect(path: string): Promise<Socket> {
  const res = await exports.default.fetch(
    new Request(`http://checkout.test${path}`, { headers: { upgrade: "websocket" } }),
  );
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const frames: unknown[] = [];
  const waiters: (() => void)[] = [];
  ws.addEventListener("message", (event) => {
    frames.push(JSON.parse(String(event.data)));
    waiters.splice(0).forEach((wake) => wake());
  });
  return {
    frames,
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
    const attachments = await runInDurableObject(productObject(id), (_, state) =>
      state.getWebSockets("ticket").map((ws) => ws.deserializeAttachment()),
    );
    expect(attachments).toEqual([
      { productId: id, seq: expect.any(Number), shopperId: second["x-shopper-id"] },
    ]);

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
});
