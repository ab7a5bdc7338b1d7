/**
 * The commands a random sequence is made of, as plain records, and the fast-check arbitraries
 * that draw them. A command names its target by position, counting back from the latest
 * (`pick` 0: the latest hold, order or webhook so far; 1: the one before; round and round), so any
 * sequence is meaningful against any state, shrinking keeps it meaningful (towards "the latest"),
 * and printing it says what it did.
 */
import fc from "fast-check";
import type { LatePolicy, ProductSetup, Shopper } from "./model";

/** Named shoppers, plus the anonymous one (null). */
export const SHOPPERS: readonly Shopper[] = ["alice", "bob", "carol", null];

/** Who holds: alice most often, so that one shopper's limit is reached and tested often. */
const shopper = fc.constantFrom<Shopper>(
  "alice",
  "alice",
  "alice",
  "bob",
  "bob",
  "carol",
  null,
  null,
);

/** Who sends a request about a hold or an order: its own shopper, another one, or nobody. */
export type By = "owner" | "other" | "anonymous";

/** What a payment webhook says was charged, against the order's own amount and currency. */
export type Money = "omitted" | "exact" | "lowercase" | "short" | "other_currency";

/** Which payment id a webhook names: none, a new one, the order's, or one of its refunds'. */
export type PaymentIdChoice = "none" | "new" | "order's" | "refund's";

/** How far a clock jump goes: a fixed time, or to just before, at or after the next deadline. */
export type Jump = { ms: number } | { deadline: "hold" | "payment"; offsetMs: -1 | 0 | 1 };

export type Command =
  | { kind: "hold"; shopper: Shopper; qty: number; keyed: boolean }
  /** A hold and at once its order, as one shopper checks out: so that webhooks find orders. */
  | { kind: "checkout"; shopper: Shopper; qty: number }
  /** Send a keyed hold request again: as it was, or with another quantity or shopper. */
  | { kind: "hold-again"; pick: number; change: "none" | "qty" | "shopper" }
  | { kind: "release"; pick: number; by: By }
  | { kind: "order"; pick: number; by: By }
  | { kind: "cancel"; pick: number; by: By }
  | { kind: "read-order"; pick: number }
  | {
      kind: "webhook";
      pick: number;
      status: "success" | "failure";
      money: Money;
      paymentId: PaymentIdChoice;
    }
  /** A webhook delivered again: same key, same body. */
  | { kind: "webhook-again"; pick: number }
  /** A webhook's key reused for the other status or another order. */
  | { kind: "webhook-conflict"; pick: number; change: "status" | "order"; other: number }
  | { kind: "restock"; qty: number; keyed: boolean }
  | { kind: "restock-again"; pick: number; sameQty: boolean }
  /** Move the clock forward, then (or not) fire the object's alarm. */
  | { kind: "clock"; jump: Jump; alarm: boolean }
  /** 31 days on: the alarm deletes what retention allows; 61 s later it runs again. */
  | { kind: "retention" }
  | { kind: "d1"; up: boolean }
  /** PATCH one setting: the shopper limit, the late-payment policy or the price. */
  | { kind: "settings"; limit?: number | null; late?: LatePolicy | null; price?: number };

const pick = fc.nat({ max: 7 });
const by = fc.constantFrom<By>("owner", "owner", "owner", "other", "anonymous");

const JUMPS_MS = [1_000, 60_000, 119_999, 120_000, 121_000, 899_999, 900_000, 901_000, 960_000];

export const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("hold" as const),
      shopper,
      // Mostly within the default limit of 2, so named shoppers get holds too.
      qty: fc.constantFrom(1, 1, 1, 2, 2, 3),
      keyed: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("checkout" as const),
      shopper,
      qty: fc.constantFrom(1, 1, 2),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("hold-again" as const),
      pick,
      change: fc.constantFrom("none" as const, "none" as const, "qty" as const, "shopper" as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("release" as const), pick, by }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("order" as const), pick, by }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cancel" as const), pick, by }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("read-order" as const), pick }) },
  {
    weight: 7,
    arbitrary: fc.record({
      kind: fc.constant("webhook" as const),
      pick,
      status: fc.constantFrom("success" as const, "success" as const, "failure" as const),
      money: fc.constantFrom<Money>(
        "omitted",
        "exact",
        "exact",
        "lowercase",
        "short",
        "other_currency",
      ),
      paymentId: fc.constantFrom<PaymentIdChoice>("none", "new", "new", "order's", "refund's"),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("webhook-again" as const), pick }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("webhook-conflict" as const),
      pick,
      change: fc.constantFrom("status" as const, "order" as const),
      other: pick,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("restock" as const),
      qty: fc.integer({ min: 1, max: 3 }),
      keyed: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("restock-again" as const),
      pick,
      sameQty: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("clock" as const),
      jump: fc.oneof(
        fc.record({ ms: fc.constantFrom(...JUMPS_MS) }),
        fc.record({
          deadline: fc.constantFrom("hold" as const, "payment" as const),
          offsetMs: fc.constantFrom(-1 as const, 0 as const, 1 as const),
        }),
      ),
      alarm: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("retention" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("d1" as const), up: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.record({
        kind: fc.constant("settings" as const),
        limit: fc.constantFrom(null, 1, 2, 3),
      }),
      fc.record({
        kind: fc.constant("settings" as const),
        late: fc.constantFrom<LatePolicy | null>(null, "refund", "accept_if_available"),
      }),
      // Holds made before keep the price they were made at.
      fc.record({
        kind: fc.constant("settings" as const),
        price: fc.constantFrom(100, 999, 2_500),
      }),
    ),
  },
);

export const setupArb: fc.Arbitrary<ProductSetup> = fc.record({
  // Sold out from the start now and then; shrinks towards 1 unit, the smallest sale.
  stock: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 6 }) }, fc.constant(0)),
  priceCents: fc.constantFrom(100, 2_500),
  limit: fc.constantFrom(null, null, 1, 1, 3),
  latePayments: fc.constantFrom<LatePolicy | null>(null, "accept_if_available"),
});

export interface Sequence {
  setup: ProductSetup;
  commands: Command[];
}

/** Modest sequences, so a few hundred of them run in the time of the rest of the suite. */
export const MAX_COMMANDS = 20;

export const sequenceArb: fc.Arbitrary<Sequence> = fc.record({
  setup: setupArb,
  // Lengths spread over the whole range, not fast-check's default bias to short arrays.
  commands: fc.array(commandArb, { maxLength: MAX_COMMANDS, size: "max" }),
});

const shopperName = (shopper: string | null) => shopper ?? "anonymous";

/** A `pick`, as the runner resolves it: 0 is the latest, 1 the one before, and so on round. */
const nth = (pick: number) => (pick === 0 ? "latest" : `latest-${pick}`);

/** One line per command, as the failure report prints the sequence. */
export function describeCommand(command: Command): string {
  switch (command.kind) {
    case "hold":
      return `hold ${command.qty} as ${shopperName(command.shopper)}${command.keyed ? ", with an Idempotency-Key" : ""}`;
    case "checkout":
      return `checkout: hold ${command.qty} as ${shopperName(command.shopper)}, then order it`;
    case "hold-again":
      return `${nth(command.pick)} keyed hold sent again${command.change === "none" ? "" : ` with another ${command.change}`}`;
    case "release":
      return `release the ${nth(command.pick)} hold as ${command.by}`;
    case "order":
      return `order the ${nth(command.pick)} hold as ${command.by}`;
    case "cancel":
      return `cancel the ${nth(command.pick)} order as ${command.by}`;
    case "read-order":
      return `read the ${nth(command.pick)} order`;
    case "webhook":
      return `webhook ${command.status} for the ${nth(command.pick)} order (new key, money ${command.money}, payment id ${command.paymentId})`;
    case "webhook-again":
      return `the ${nth(command.pick)} webhook delivered again`;
    case "webhook-conflict":
      return `the ${nth(command.pick)} webhook's key reused for ${command.change === "order" ? `the ${nth(command.other)} other order` : "the other status"}`;
    case "restock":
      return `restock ${command.qty}${command.keyed ? ", with an Idempotency-Key" : ""}`;
    case "restock-again":
      return `the ${nth(command.pick)} keyed restock sent again${command.sameQty ? "" : " with another qty"}`;
    case "clock": {
      const jump =
        "ms" in command.jump
          ? `+${command.jump.ms} ms`
          : `to the next ${command.jump.deadline} deadline ${command.jump.offsetMs === 0 ? "" : command.jump.offsetMs > 0 ? "+1 ms" : "-1 ms"}`.trimEnd();
      return `clock ${jump}${command.alarm ? ", then the alarm" : ""}`;
    }
    case "retention":
      return "retention pass: 31 days on, the alarm, and again 61 s later";
    case "d1":
      return command.up ? "D1 back up" : "D1 down";
    case "settings":
      if ("limit" in command) return `settings: max_units_per_shopper ${command.limit}`;
      if ("late" in command) return `settings: late_payments ${command.late}`;
      return `settings: price_cents ${command.price}`;
  }
}

export function describeSetup(setup: ProductSetup): string {
  return `product: stock ${setup.stock}, price ${setup.priceCents} cents, max_units_per_shopper ${setup.limit ?? "default (2)"}, late_payments ${setup.latePayments ?? "default (refund)"}`;
}
