import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import {
  ADMIN,
  as,
  call,
  expectError,
  getProduct,
  newProduct,
  newShopper,
  patchProduct,
} from "./helpers";

async function queuedProduct(stock: number): Promise<number> {
  const id = await newProduct(stock);
  const res = await patchProduct(id, {
    queue: { enabled: true, admit_per_second: 1_000, admission_ttl_seconds: 60 },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return id;
}

const join = (id: number, headers: Record<string, string>) =>
  call("POST", `/api/products/${id}/queue`, { headers });
const leave = (ticket: string, headers: Record<string, string>) =>
  call("DELETE", `/api/queue/${ticket}`, { headers });
/** A poll past any Worker's copy of the frontier: what the object says now. */
const pollNow = (ticket: string, headers: Record<string, string>) =>
  call("GET", `/api/queue/${ticket}`, { headers, app: createApp() });
const holdWith = (id: number, token: string, headers: Record<string, string>) =>
  call("POST", "/api/holds", { json: { product_id: id, qty: 1, admission_token: token }, headers });
const queueMetrics = async (id: number) =>
  (await call("GET", `/api/admin/products/${id}/metrics`, { headers: ADMIN })).body.queue;

async function line(id: number, n: number) {
  const joined = [];
  for (let i = 0; i < n; i++) {
    const shopper = as(newShopper(`leave${i}`));
    const res = await join(id, shopper);
    expect(res.status).toBe(201);
    joined.push({ shopper, ticket: res.body.ticket as string });
  }
  return joined;
}

describe("DELETE /api/queue/:ticket", () => {
  it("a waiting ticket leaves: the places behind it move up; leaving again answers the same", async () => {
    const id = await queuedProduct(1);
    const [first, second, third] = await line(id, 3);
    expect((await pollNow(third!.ticket, third!.shopper)).body).toMatchObject({
      state: "waiting",
      position: 2,
    });

    const left = await leave(second!.ticket, second!.shopper);
    expect(left.status).toBe(200);
    expect(left.body).toEqual({ ticket: second!.ticket, state: "left" });
    expect(await leave(second!.ticket, second!.shopper)).toMatchObject({
      status: 200,
      body: { ticket: second!.ticket, state: "left" },
    });

    expect((await pollNow(second!.ticket, second!.shopper)).body).toMatchObject({
      state: "left",
      position: null,
    });
    expect((await pollNow(third!.ticket, third!.shopper)).body).toMatchObject({
      state: "waiting",
      position: 1,
    });
    // The first in line keeps its admission; nothing else changed.
    expect((await pollNow(first!.ticket, first!.shopper)).body.state).toBe("admitted");
    expect(await queueMetrics(id)).toMatchObject({ admitted_unused: 1, frontier: 1 });
  });

  it("an admitted ticket gives its admission back: the next in line still waiting is admitted, and the admission no longer holds", async () => {
    const id = await queuedProduct(1);
    const [first, second, third] = await line(id, 3);
    const token = (await pollNow(first!.ticket, first!.shopper)).body.admission_token as string;
    expect(token).toMatch(/^qa1\./);
    // The second leaves while waiting; when the first leaves too, the third is let in.
    expect((await leave(second!.ticket, second!.shopper)).status).toBe(200);
    expect((await leave(first!.ticket, first!.shopper)).status).toBe(200);

    const next = (await pollNow(third!.ticket, third!.shopper)).body;
    expect(next).toMatchObject({
      state: "admitted",
      admission_token: expect.stringMatching(/^qa1\./),
    });
    expect((await pollNow(first!.ticket, first!.shopper)).body.state).toBe("left");
    expect(await queueMetrics(id)).toMatchObject({ admitted_unused: 1, frontier: 3 });

    expectError(await holdWith(id, token, first!.shopper), 403, "left_queue");
    expect((await getProduct(id)).body.reserved).toBe(0);
    expect((await holdWith(id, next.admission_token, third!.shopper)).status).toBe(201);
  });

  it("only the ticket's own shopper may leave; a forged ticket is invalid; nothing changes", async () => {
    const id = await queuedProduct(1);
    const [first, second] = await line(id, 2);
    expectError(await leave(second!.ticket, as(newShopper())), 403, "not_your_ticket");
    expectError(await leave(second!.ticket, {}), 403, "not_your_ticket");
    expectError(await leave(`${second!.ticket}x`, second!.shopper), 403, "invalid_ticket");
    expect((await pollNow(second!.ticket, second!.shopper)).body).toMatchObject({
      state: "waiting",
      position: 1,
    });
    expect((await pollNow(first!.ticket, first!.shopper)).body.state).toBe("admitted");
  });

  it("a shopper who left and joins again gets a new ticket at the back", async () => {
    const id = await queuedProduct(1);
    const [, second, third] = await line(id, 3);
    await leave(second!.ticket, second!.shopper);
    const again = await join(id, second!.shopper);
    expect(again.status).toBe(201);
    expect(again.body.ticket).not.toBe(second!.ticket);
    expect((await pollNow(again.body.ticket, second!.shopper)).body).toMatchObject({
      state: "waiting",
      position: 2,
    });
    expect((await pollNow(third!.ticket, third!.shopper)).body.position).toBe(1);
  });
});
