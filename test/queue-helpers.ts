import { expect } from "vitest";
import { as, call, newShopper } from "./helpers";

// The queue as a shopper meets it: join, poll the ticket, hold with the admission.

export const QUEUE_ON = {
  queue: { enabled: true, admit_per_second: 1_000, admission_ttl_seconds: 60 },
};

export const join = (id: number, headers: Record<string, string> = {}) =>
  call("POST", `/api/products/${id}/queue`, { headers });

export const poll = (ticket: string, headers: Record<string, string> = {}) =>
  call("GET", `/api/queue/${ticket}`, { headers });

export const holdWith = (
  id: number,
  token: string | undefined,
  headers: Record<string, string>,
  qty = 1,
) =>
  call("POST", "/api/holds", {
    json: { product_id: id, qty, ...(token ? { admission_token: token } : {}) },
    headers,
  });

/** Shoppers who join one after another, in this order. */
export async function line(id: number, n: number) {
  const joined = [];
  for (let i = 0; i < n; i++) {
    const shopper = as(newShopper(`q${i}`));
    const res = await join(id, shopper);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    joined.push({ shopper, ticket: res.body.ticket as string, first: res.body });
  }
  return joined;
}
