/**
 * Sequences every run starts with, before the random ones: the shrunk sequences of failures
 * found so far (so a fix stays fixed, and an open one fails every run, not one run in a few),
 * and a few that reach corners random sequences seldom do. Add a failure's shrunk sequence
 * here (the report prints it "As data") when it is found.
 */
import type { Sequence } from "./commands";

export const EXAMPLES: Sequence[] = [
  // A payment intent declined with one card and paid with the next: the failure named pi_x, and
  // the success naming pi_x was answered as a duplicate, so the money was kept with no refund.
  // Found by this test; fixed in 699e81d (only a payment id that paid the order is the same).
  {
    setup: { stock: 1, priceCents: 100, limit: null, latePayments: null },
    commands: [
      { kind: "checkout", shopper: "alice", qty: 1 },
      { kind: "webhook", pick: 0, status: "failure", money: "omitted", paymentId: "new" },
      { kind: "webhook", pick: 0, status: "success", money: "omitted", paymentId: "order's" },
    ],
  },
  // The same failed pi_x, then a late success that names no payment id pays the order (policy
  // accept_if_available): the order keeps pi_x as its payment id, and a success naming pi_x is
  // answered as a duplicate, though pi_x never paid the order. Expected: a double charge, a
  // refund due (as for any second success on a paid order). Found by this test.
  {
    setup: { stock: 1, priceCents: 100, limit: null, latePayments: "accept_if_available" },
    commands: [
      { kind: "checkout", shopper: "alice", qty: 1 },
      { kind: "webhook", pick: 0, status: "failure", money: "omitted", paymentId: "new" },
      { kind: "webhook", pick: 0, status: "success", money: "omitted", paymentId: "none" },
      { kind: "webhook", pick: 0, status: "success", money: "omitted", paymentId: "order's" },
    ],
  },
  // Retention while D1 is down keeps what D1 does not have yet, and deletes it once D1 is back.
  {
    setup: { stock: 2, priceCents: 100, limit: null, latePayments: null },
    commands: [
      { kind: "checkout", shopper: "alice", qty: 1 },
      { kind: "d1", up: false },
      { kind: "webhook", pick: 0, status: "success", money: "exact", paymentId: "new" },
      { kind: "checkout", shopper: "bob", qty: 1 },
      { kind: "retention" },
      { kind: "webhook-again", pick: 0 },
      { kind: "d1", up: true },
      { kind: "retention" },
    ],
  },
  // A late payment accepted only within the shopper's limit: alice's closed order, then a
  // hold that takes her to the limit, then the late success (refunded: the limit would pass).
  {
    setup: { stock: 3, priceCents: 100, limit: 1, latePayments: "accept_if_available" },
    commands: [
      { kind: "checkout", shopper: "alice", qty: 1 },
      { kind: "clock", jump: { deadline: "payment", offsetMs: 0 }, alarm: true },
      { kind: "hold", shopper: "alice", qty: 1, keyed: false },
      { kind: "webhook", pick: 0, status: "success", money: "exact", paymentId: "new" },
      { kind: "release", pick: 0, by: "owner" },
      { kind: "webhook", pick: 0, status: "success", money: "omitted", paymentId: "new" },
    ],
  },
];
