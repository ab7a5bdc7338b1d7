/**
 * The commands of the escrow model test, as plain records, and their fast-check arbitraries.
 * Targets are named by index, modulo what exists (holds, orders, messages in flight), so any
 * sequence is meaningful against any state and shrinks towards index 0.
 */
import fc from "fast-check";
import type { Cluster, Crash, LatePolicy } from "./cluster";

export type Command =
  | { kind: "hold"; shopper: number; qty: number; crash: Crash }
  | { kind: "release"; pick: number; crash: Crash }
  | { kind: "order"; pick: number; crash: Crash }
  | { kind: "pay"; pick: number; success: boolean; crash: Crash }
  | { kind: "tick"; ms: number }
  | { kind: "alarm"; shard: number; crash: Crash }
  | { kind: "restock"; qty: number; crash: Crash }
  | { kind: "borrow"; shard: number; crash: Crash }
  | { kind: "borrow-exact"; shopper: number; qty: number; crash: Crash }
  | {
      kind: "give-back";
      shard: number;
      keep: number;
      how: "once" | "retried" | "split";
      crash: Crash;
    }
  | { kind: "recall"; keep: number; crash: Crash }
  | { kind: "resend-grants"; crash: Crash }
  | { kind: "resend-returns"; shard: number; crash: Crash }
  | { kind: "deliver"; pick: number; crash: Crash }
  | { kind: "drop"; pick: number }
  | { kind: "duplicate"; pick: number }
  | { kind: "restart"; shard: number };

export interface Sequence {
  shards: number;
  stock: number;
  latePayments: LatePolicy;
  commands: Command[];
}

/** Mostly clean; now and then the object crashes before or after its commit. */
const crash = fc.constantFrom<Crash>(
  "none",
  "none",
  "none",
  "none",
  "none",
  "before_commit",
  "after_commit",
);
const pick = fc.nat({ max: 15 });
const shard = fc.nat({ max: 7 });

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("hold" as const),
      shopper: fc.nat({ max: 11 }),
      qty: fc.integer({ min: 1, max: 3 }),
      crash,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("release" as const), pick, crash }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("order" as const), pick, crash }) },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("pay" as const), pick, success: fc.boolean(), crash }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("tick" as const),
      ms: fc.constantFrom(1_000, 60_000, 121_000, 901_000),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("alarm" as const), shard, crash }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("restock" as const),
      qty: fc.integer({ min: 1, max: 5 }),
      crash,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("borrow" as const), shard, crash }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("borrow-exact" as const),
      shopper: fc.nat({ max: 11 }),
      qty: fc.integer({ min: 1, max: 3 }),
      crash,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("give-back" as const),
      shard,
      keep: fc.nat({ max: 1 }),
      how: fc.constantFrom<"once" | "retried" | "split">("once", "retried", "split"),
      crash,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("recall" as const), keep: fc.nat({ max: 1 }), crash }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("resend-grants" as const), crash }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("resend-returns" as const), shard, crash }),
  },
  { weight: 7, arbitrary: fc.record({ kind: fc.constant("deliver" as const), pick, crash }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("drop" as const), pick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("duplicate" as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("restart" as const), shard }) },
);

export function sequenceArb(shards: number): fc.Arbitrary<Sequence> {
  return fc.record({
    shards: fc.constant(shards),
    stock: fc.integer({ min: 0, max: 40 }),
    latePayments: fc.constantFrom<LatePolicy>("refund", "accept_if_available"),
    commands: fc.array(commandArb, { minLength: 1, maxLength: 150, size: "large" }),
  });
}

/** Run one command against the cluster. Shard numbers are taken modulo N. */
export function apply(cluster: Cluster, c: Command): void {
  const k = (n: number) => n % cluster.n;
  switch (c.kind) {
    case "hold":
      cluster.hold(`shopper-${c.shopper}`, c.qty, c.crash);
      return;
    case "release":
      return cluster.release(c.pick, c.crash);
    case "order":
      return cluster.order(c.pick, c.crash);
    case "pay":
      return cluster.pay(c.pick, c.success, c.crash);
    case "tick":
      return cluster.tick(c.ms);
    case "alarm":
      return cluster.alarm(k(c.shard), c.crash);
    case "restock":
      return cluster.restockUnits(c.qty, c.crash);
    case "borrow":
      return cluster.borrow(k(c.shard), c.crash);
    case "borrow-exact":
      return cluster.borrowExact(`shopper-${c.shopper}`, c.qty, c.crash);
    case "give-back":
      return cluster.giveBack(k(c.shard), c.keep, c.crash, c.how);
    case "recall":
      return cluster.recall(c.keep, c.crash);
    case "resend-grants":
      return cluster.resendGrants(c.crash);
    case "resend-returns":
      return cluster.resendReturns(k(c.shard), c.crash);
    case "deliver":
      return cluster.deliver(c.pick, c.crash);
    case "drop":
      return cluster.drop(c.pick);
    case "duplicate":
      return cluster.duplicate(c.pick);
    case "restart":
      return cluster.restartShard(k(c.shard));
  }
}
