/**
 * One sharded product as objects and a network, for the escrow model test: a coordinator running
 * src/shards/ledger.ts and N shards running src/shards/quota.ts, exactly the functions the objects
 * run, each event one transaction over that object's durable state. The network between them is a
 * bag of messages the test delivers in any order, drops, duplicates, or delivers to an object that
 * crashes before or after it commits. Holds, orders and payments are a small table per shard (the
 * rows the SQL keeps in the real object); the quota's counters are checked against those rows.
 *
 * What an object keeps across a restart is its committed state (`durable`); its rate estimate is
 * memory only and lost. A crash before commit loses the transaction; a crash after commit loses
 * only what it would have sent (the output gate lets nothing out before the commit, and the
 * restarted object knows nothing of the call).
 */
import {
  DEFAULT_BLOCKS,
  grantSize,
  noteDemand,
  wantedBlock,
  type BlockPolicy,
  type RateEstimate,
} from "../../src/shards/blocks";
import { homeShard } from "../../src/shards/home";
import {
  checkLedger,
  endgame,
  grant,
  newLedger,
  noteReport,
  receiveReturn,
  recallTargets,
  restock,
  soldOut,
  unacknowledged,
  type Ledger,
} from "../../src/shards/ledger";
import {
  ackReturns,
  applyGrant,
  beginReturn,
  checkQuota,
  freeUnits,
  newQuota,
  reportOf,
  reserve,
  sellFree,
  sellReserved,
  surplus,
  unreserve,
  type ShardQuota,
} from "../../src/shards/quota";
import type { ShardReport, Transfer } from "../../src/shards/transfer";

export const HOLD_TTL_MS = 120_000;
export const PAYMENT_TTL_MS = 900_000;
export type LatePolicy = "refund" | "accept_if_available";

export type Message =
  | {
      to: "coordinator";
      kind: "borrow";
      shard: number;
      need: number;
      want: number;
      report: ShardReport;
      /** Exactly `need` units or none (a queue admission redeemed, a late payment's units). */
      exact?: boolean;
    }
  | { to: "coordinator"; kind: "return"; shard: number; transfer: Transfer; report: ShardReport }
  | { to: "coordinator"; kind: "report"; shard: number; report: ShardReport }
  | { to: "shard"; kind: "grants"; shard: number; grants: Transfer[]; returnSeq: number }
  | { to: "shard"; kind: "recall"; shard: number; keep: number };

export interface HoldRow {
  id: number;
  shard: number;
  qty: number;
  status: "active" | "ordered" | "expired" | "released";
  expiresAt: number;
}

export interface OrderRow {
  id: number;
  shard: number;
  qty: number;
  status: "pending" | "paid" | "failed" | "cancelled";
  payBy: number;
  /** How many times a payment sold this order's units: must never exceed 1. */
  sales: number;
  needsRefund: boolean;
}

interface ShardState {
  quota: ShardQuota;
  holds: HoldRow[];
  orders: OrderRow[];
}

/** How a delivery or an object's own event ends: normally, or with a crash on either side of the commit. */
export type Crash = "none" | "before_commit" | "after_commit";

export interface ClusterSetup {
  shards: number;
  stock: number;
  latePayments: LatePolicy;
  blocks?: BlockPolicy;
}

export class Cluster {
  readonly n: number;
  readonly latePayments: LatePolicy;
  readonly blocks: BlockPolicy;
  now = 1_000_000;
  ledger: Ledger;
  shards: ShardState[];
  /** Memory only: lost when a shard restarts. */
  rates: RateEstimate[];
  network: Message[] = [];
  /** Every certificate the coordinator issued, with whether it was true then. */
  certificates: { total: number; soldEverywhere: number }[] = [];
  /** What happened, so the test can show that its faults were met, not just drawn. */
  readonly stats = new Map<string, number>();
  /** Ids of holds and orders in creation order, for commands to name by index. */
  private nextId = 1;
  holdIndex: { shard: number; id: number }[] = [];
  orderIndex: { shard: number; id: number }[] = [];

  constructor(setup: ClusterSetup) {
    this.n = setup.shards;
    this.latePayments = setup.latePayments;
    this.blocks = setup.blocks ?? { ...DEFAULT_BLOCKS, minBlock: 2, maxBlock: 8 };
    this.ledger = newLedger(setup.stock, setup.shards);
    this.shards = Array.from({ length: setup.shards }, (_, k) => ({
      quota: newQuota(k),
      holds: [],
      orders: [],
    }));
    this.rates = this.shards.map(() => ({ rate: 0, at: 0 }));
  }

  // ---- transactions --------------------------------------------------------------------------

  /**
   * One event on shard k as one transaction: `work` runs on a copy of its durable state, which
   * replaces it only if the event commits. Messages it sends leave only after the commit.
   */
  private onShard(
    k: number,
    crash: Crash,
    work: (s: ShardState, send: (m: Message) => void) => void,
  ): void {
    const copy = structuredClone(this.shards[k]!);
    const out: Message[] = [];
    this.releaseDue(copy);
    work(copy, (m) => out.push(m));
    checkQuota(copy.quota);
    if (crash !== "none") this.count(`shard crash ${crash}`);
    if (crash === "before_commit") return this.restartShard(k);
    this.shards[k] = copy;
    if (crash === "after_commit") return this.restartShard(k);
    this.network.push(...out);
  }

  private onCoordinator(crash: Crash, work: (l: Ledger, send: (m: Message) => void) => void): void {
    const copy = structuredClone(this.ledger);
    const out: Message[] = [];
    work(copy, (m) => out.push(m));
    checkLedger(copy);
    if (crash !== "none") this.count(`coordinator crash ${crash}`);
    if (crash === "before_commit") return;
    this.ledger = copy;
    if (crash === "after_commit") return;
    this.network.push(...out);
    // The certificate is read after every event the coordinator commits.
    if (soldOut(this.ledger)) {
      this.certificates.push(this.truth());
      this.count("sold-out certificate");
    }
  }

  count(event: string): void {
    this.stats.set(event, (this.stats.get(event) ?? 0) + 1);
  }

  restartShard(k: number): void {
    this.rates[k] = { rate: 0, at: 0 };
  }

  /** What is really sold everywhere right now, next to the total: the certificate's test. */
  truth(): { total: number; soldEverywhere: number } {
    return {
      total: this.ledger.total,
      soldEverywhere: this.shards.reduce((sum, s) => sum + s.quota.sold, 0),
    };
  }

  /** Release what is due: every event on a shard does this first, as the object does today. */
  private releaseDue(s: ShardState): void {
    for (const hold of s.holds) {
      if (hold.status === "active" && hold.expiresAt <= this.now) {
        hold.status = "expired";
        unreserve(s.quota, hold.qty);
      }
    }
    for (const order of s.orders) {
      if (order.status === "pending" && order.payBy <= this.now) {
        order.status = "cancelled";
        unreserve(s.quota, order.qty);
      }
    }
  }

  // ---- shoppers ------------------------------------------------------------------------------

  /**
   * A hold at the shopper's home shard. When the shard has too few free units it refuses, and
   * asks the coordinator for a block (the hold's synchronous borrow in the objects; here the
   * shopper's retry finds the units once the grant arrives). Returns whether it was made.
   */
  hold(shopper: string, qty: number, crash: Crash = "none"): boolean {
    const k = homeShard(shopper, this.n);
    let made = false;
    this.onShard(k, crash, (s, send) => {
      noteDemand(this.rates[k]!, qty, this.now);
      if (reserve(s.quota, qty)) {
        const id = this.nextId++;
        s.holds.push({ id, shard: k, qty, status: "active", expiresAt: this.now + HOLD_TTL_MS });
        made = true;
        // Prefetch: below a block's worth, ask ahead so the next hold does not wait.
        if (freeUnits(s.quota) < this.blocks.minBlock) send(this.borrowMessage(s.quota, 0));
      } else {
        send(this.borrowMessage(s.quota, qty));
      }
    });
    if (made && crash !== "before_commit") {
      const hold = this.shards[k]!.holds.at(-1)!;
      this.holdIndex.push({ shard: k, id: hold.id });
    }
    return made && crash !== "before_commit";
  }

  private borrowMessage(q: ShardQuota, need: number): Extract<Message, { kind: "borrow" }> {
    const want = wantedBlock(this.rates[q.shard]!.rate, need, this.blocks);
    return { to: "coordinator", kind: "borrow", shard: q.shard, need, want, report: reportOf(q) };
  }

  /**
   * A borrow of exactly `qty` units for a shopper's home shard, as the queue's admission
   * redemption and a late payment's borrow make: granted whole from the pool, or not at all.
   */
  borrowExact(shopper: string, qty: number, crash: Crash): void {
    const k = homeShard(shopper, this.n);
    this.onShard(k, crash, (s, send) => send({ ...this.borrowMessage(s.quota, qty), exact: true }));
  }

  release(holdIndex: number, crash: Crash): void {
    const ref = this.holdIndex[holdIndex % Math.max(1, this.holdIndex.length)];
    if (!ref) return;
    this.onShard(ref.shard, crash, (s) => {
      const hold = s.holds.find((h) => h.id === ref.id)!;
      if (hold.status !== "active") return;
      hold.status = "released";
      unreserve(s.quota, hold.qty);
    });
  }

  order(holdIndex: number, crash: Crash): void {
    const ref = this.holdIndex[holdIndex % Math.max(1, this.holdIndex.length)];
    if (!ref) return;
    let made: number | null = null;
    this.onShard(ref.shard, crash, (s) => {
      const hold = s.holds.find((h) => h.id === ref.id)!;
      if (hold.status !== "active") return;
      hold.status = "ordered";
      const id = this.nextId++;
      s.orders.push({
        id,
        shard: ref.shard,
        qty: hold.qty,
        status: "pending",
        payBy: this.now + PAYMENT_TTL_MS,
        sales: 0,
        needsRefund: false,
      });
      made = id;
    });
    if (made !== null && crash !== "before_commit")
      this.orderIndex.push({ shard: ref.shard, id: made });
  }

  /** A payment webhook, possibly a duplicate or late: settled where the order lives, once. */
  pay(orderIndex: number, success: boolean, crash: Crash): void {
    const ref = this.orderIndex[orderIndex % Math.max(1, this.orderIndex.length)];
    if (!ref) return;
    this.onShard(ref.shard, crash, (s) => {
      const order = s.orders.find((o) => o.id === ref.id)!;
      if (order.status === "pending") {
        if (success) {
          sellReserved(s.quota, order.qty);
          order.status = "paid";
          order.sales++;
        } else {
          unreserve(s.quota, order.qty);
          order.status = "failed";
        }
      } else if (success && (order.status === "cancelled" || order.status === "failed")) {
        // A late success: sold after all if its units are free here, else refunded.
        if (this.latePayments === "accept_if_available" && sellFree(s.quota, order.qty)) {
          order.status = "paid";
          order.sales++;
        } else {
          order.needsRefund = true;
        }
      }
      // A success for a paid order is a duplicate or a double charge: nothing is sold again.
    });
  }

  tick(ms: number): void {
    this.now += ms;
  }

  /** Shard k's alarm: releases what is due, and tells the coordinator what it has now. */
  alarm(k: number, crash: Crash): void {
    this.onShard(k, crash, (s, send) => {
      send({ to: "coordinator", kind: "report", shard: k, report: reportOf(s.quota) });
    });
  }

  // ---- transfers -----------------------------------------------------------------------------

  /** Shard k asks for a block ahead of need (prefetch). */
  borrow(k: number, crash: Crash): void {
    this.onShard(k, crash, (s, send) => send(this.borrowMessage(s.quota, 0)));
  }

  /**
   * Shard k gives back its free units above `keep` (an idle shard's alarm, or a recall).
   * `retried`: the call is sent twice, as a caller does whose first answer was lost. `split`: in
   * two returns, both in flight at once (as an idle alarm's and a recall's can be), so that the
   * second can arrive first.
   */
  giveBack(
    k: number,
    keep: number,
    crash: Crash,
    how: "once" | "retried" | "split" = "once",
  ): void {
    this.onShard(k, crash, (s, send) => {
      if (how === "split")
        this.sendReturn(s.quota, keep + Math.ceil(surplus(s.quota, keep) / 2), send);
      this.sendReturn(s.quota, keep, (m) => {
        send(m);
        if (how === "retried") send(structuredClone(m));
      });
    });
  }

  private sendReturn(q: ShardQuota, keep: number, send: (m: Message) => void): void {
    const transfer = beginReturn(q, surplus(q, keep));
    const report = reportOf(q);
    if (transfer) send({ to: "coordinator", kind: "return", shard: q.shard, transfer, report });
    else send({ to: "coordinator", kind: "report", shard: q.shard, report });
  }

  restockUnits(qty: number, crash: Crash): void {
    this.onCoordinator(crash, (l) => restock(l, qty));
  }

  /** The coordinator's end-of-sale recall: ask every shard with free units above `keep`. */
  recall(keep: number, crash: Crash): void {
    this.onCoordinator(crash, (l, send) => {
      for (const shard of recallTargets(l, keep))
        send({ to: "shard", kind: "recall", shard, keep });
    });
  }

  /** The coordinator's alarm: resend every grant not yet reported applied. */
  resendGrants(crash: Crash): void {
    this.onCoordinator(crash, (l, send) => {
      for (let shard = 0; shard < l.accounts.length; shard++) {
        const grants = unacknowledged(l, shard);
        const returnSeq = l.accounts[shard]!.returnSeq;
        if (grants.length > 0) send({ to: "shard", kind: "grants", shard, grants, returnSeq });
      }
    });
  }

  /** Shard k's alarm: resend every return not yet acknowledged, with a fresh report. */
  resendReturns(k: number, crash: Crash): void {
    this.onShard(k, crash, (s, send) => {
      for (const transfer of s.quota.outbox) {
        send({ to: "coordinator", kind: "return", shard: k, transfer, report: reportOf(s.quota) });
      }
    });
  }

  // ---- the network ---------------------------------------------------------------------------

  deliver(index: number, crash: Crash): void {
    if (this.network.length === 0) return;
    const [message] = this.network.splice(index % this.network.length, 1);
    this.receive(message!, crash);
  }

  drop(index: number): void {
    if (this.network.length === 0) return;
    this.network.splice(index % this.network.length, 1);
    this.count("message dropped");
  }

  duplicate(index: number): void {
    if (this.network.length > 0)
      this.network.push(structuredClone(this.network[index % this.network.length]!));
  }

  private receive(m: Message, crash: Crash): void {
    if (m.to === "shard") {
      this.onShard(m.shard, crash, (s, send) => {
        if (m.kind === "grants") {
          // In order; a duplicate is skipped, a gap stops here until the coordinator resends.
          for (const g of m.grants) {
            const applied = applyGrant(s.quota, g);
            this.count(`grant ${applied}`);
            if (applied === "gap") break;
          }
          ackReturns(s.quota, m.returnSeq);
          // The report acknowledges the grants; an empty message (only a return's ack) needs none.
          if (m.grants.length > 0) {
            send({ to: "coordinator", kind: "report", shard: m.shard, report: reportOf(s.quota) });
          }
        } else {
          this.sendReturn(s.quota, m.keep, send);
        }
      });
      return;
    }
    this.onCoordinator(crash, (l, send) => {
      if (m.kind === "return") this.count(`return ${receiveReturn(l, m.shard, m.transfer)}`);
      noteReport(l, m.report);
      const returnSeq = l.accounts[m.shard]!.returnSeq;
      if (m.kind === "borrow") {
        const active = Math.max(1, this.n);
        const late = endgame(l, active, this.blocks.minBlock);
        const size = m.exact
          ? m.need <= l.pool
            ? m.need
            : 0
          : grantSize({
              pool: l.pool,
              need: m.need,
              want: m.want,
              activeShards: active,
              endgame: late,
            });
        if (size > 0) grant(l, m.shard, size);
        if (late) this.count(size > 0 ? "end-game grant" : "end-game refusal");
        // The reply carries every grant the shard has not applied yet, so a lost reply costs
        // nothing but the next ask; in the end game, it also asks others to give back.
        send({
          to: "shard",
          kind: "grants",
          shard: m.shard,
          grants: unacknowledged(l, m.shard),
          returnSeq,
        });
        if (size === 0 && m.need > 0 && late) {
          for (const shard of recallTargets(l, 0, { except: m.shard, limit: 6 }))
            send({ to: "shard", kind: "recall", shard, keep: 0 });
        }
      } else if (m.kind === "return" || unacknowledged(l, m.shard).length > 0) {
        // A return is acknowledged; a report that missed a grant gets it again.
        send({
          to: "shard",
          kind: "grants",
          shard: m.shard,
          grants: unacknowledged(l, m.shard),
          returnSeq,
        });
      }
    });
  }

  /**
   * Heal the network and let everything settle: deliver every message, let every shard report
   * and resend its returns and the coordinator resend its grants, until nothing is in flight.
   */
  quiesce(): void {
    for (let round = 0; round < 50; round++) {
      while (this.network.length > 0) this.deliver(0, "none");
      const settled =
        this.ledger.outbox.length === 0 &&
        this.shards.every((s, k) => {
          const held = this.ledger.accounts[k]!;
          return (
            s.quota.outbox.length === 0 &&
            held.returnSeq === s.quota.returnSeq &&
            held.report?.grantSeq === s.quota.grantSeq &&
            held.report.free === freeUnits(s.quota) &&
            held.report.reserved === s.quota.reserved &&
            held.report.sold === s.quota.sold
          );
        });
      if (settled) return;
      this.resendGrants("none");
      for (let k = 0; k < this.n; k++) {
        this.resendReturns(k, "none");
        this.alarm(k, "none");
      }
    }
    throw new Error("the network did not settle in 50 rounds");
  }
}
