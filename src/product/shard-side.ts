/**
 * The calls between a product's coordinator and its shards (docs/sharding.md), as the product
 * object makes them. Every change of state is one transaction of src/product/shards.ts, run
 * through the object's `write`; every call to another object happens between transactions, never
 * inside one. A failed call moves nothing: what was debited stays in its giver's outbox, and the
 * alarm sends it again.
 */
import type { Env } from "../env";
import { failure, type Answer, type Failure } from "../contract/errors";
import type { ProductMetricsView, ProductView } from "../contract/shapes";
import { logEvent } from "../log";
import { lowWater, noteDemand, wantedBlock, type RateEstimate } from "../shards/blocks";
import { homeShard } from "../shards/home";
import type { Ledger } from "../shards/ledger";
import type { ShardReport, Transfer } from "../shards/transfer";
import { newHoldId, shardName } from "../contract/ids";
import { findHold, type Admitted, type HoldMade, type HoldRejected } from "./holds";
import type { LateSaleShort, PaymentSettled } from "./payments";
import { admissionInTime, type HoldAdmission } from "./queue";
import type { ProductDefaults } from "./product-row";
import { productRow, type ProductRow } from "./product-row";
import type { ProductChanges } from "./settings";
import {
  applyGrants,
  busy,
  certifiedSoldOut,
  giveBack,
  grantsToResend,
  knownShards,
  lend,
  loadLedger,
  noteReports,
  recallFrom,
  returnsAcknowledged,
  shardReport,
  takeBack,
  SHARD_BLOCKS,
  type BorrowAnswer,
  type BorrowRequest,
  type QueueGate,
} from "./shards";
import { carryShopperUnits } from "./shoppers";
import type { Tx } from "./tx";
import { combineMetrics, shardedView } from "./shard-views";

/** What every call names (src/product/product-object.ts `Call`). */
export interface ShardCall {
  productId: number;
  requestId: string;
  /** The object called: null for the product's own object (the coordinator), k for shard k. */
  shard?: number | null;
}

/** The object's RPC methods another product object calls. */
export interface ShardPeer {
  borrowUnits(
    call: ShardCall & { from: number; request: BorrowRequest },
  ): Promise<Answer<BorrowAnswer & { returnSeq: number }, HoldRejected>>;
  returnUnits(
    call: ShardCall & { from: number; returns: Transfer[]; report: ShardReport },
  ): Promise<Answer<{ returnSeq: number }>>;
  recallUnits(
    call: ShardCall & { keep: number; acknowledged: number },
  ): Promise<Answer<{ returns: Transfer[]; report: ShardReport }>>;
  applyGrants(call: ShardCall & { grants: Transfer[] }): Promise<Answer<{ report: ShardReport }>>;
  reportUnits(call: ShardCall): Promise<Answer<{ report: ShardReport }>>;
  readMetrics(
    call: ShardCall & { full: boolean },
  ): Promise<Answer<{ metrics: ProductMetricsView }>>;
  updateProduct(
    call: ShardCall & { changes: ProductChanges; shardEras?: number[] },
  ): Promise<Answer<object>>;
  shopperUnits(call: ShardCall & { shopperId: string }): Promise<Answer<{ units: number }>>;
}

export interface ShardHost {
  readonly env: Env;
  /** This object's shard (null: the product's own object). */
  readonly shard: number | null;
  /** One transaction, in its place among the object's writes. */
  write<T>(call: ShardCall, work: (tx: Tx) => T): Promise<T>;
  /** Wake the alarm at this time (it only ever moves earlier). */
  arm(at: number): void;
  defaults(): ProductDefaults;
  /** Whether the product's queue is on (a shard: as its coordinator last told it). */
  queued(): boolean;
  /** The coordinator's queue while it is on, for a borrow in this transaction (else null). */
  queueGate(tx: Tx): QueueGate | null;
}

/** An admission a coordinator redeemed for a hold on this shard: the hold's units, and its id. */
export interface Redeemed {
  grants: Transfer[];
  returnSeq: number;
  holdId: string;
}

/**
 * The admission of a hold on a shard while the queue is on. Until the coordinator has redeemed
 * it, the hold needs one in time and may take no unit here (it is refused insufficient_stock,
 * which sends the shard to redeem it); once redeemed, the hold takes the units granted for it.
 */
export function admissionOnShard(
  tx: Tx,
  admission: HoldAdmission | undefined,
  redeemed: Redeemed | null,
): Admitted {
  return {
    check: () => {
      if (!redeemed) return admissionInTime(admission, tx.now);
      // The hold this admission was redeemed for exists already: this is a second hold on it
      // (made in parallel by the same shopper, or after a redemption was granted again).
      return findHold(tx, redeemed.holdId)
        ? failure("admission_used", "This admission was already used for a hold.")
        : null;
    },
    heldBack: () => (redeemed ? 0 : Number.MAX_SAFE_INTEGER),
    use: () => undefined, // the coordinator counted it used when it redeemed it
  };
}

/**
 * One try of a hold, as one transaction: with the grant of its redeemed admission applied first,
 * if any, and `then` run last in the same transaction.
 */
export type TryHold = (
  redeemed: Redeemed | null,
  then?: (tx: Tx) => void,
) => Promise<Answer<HoldMade, HoldRejected>>;

/** Unacknowledged transfers are sent again this long after they were made. */
const RESEND_MS = 5_000;
/** A hold short of units borrows at most this many times before it is refused. */
const BORROW_ROUNDS = 3;
/** Calls one object makes at once (a request may keep 6 connections open). */
const FAN_OUT = 6;
const DRY_MIN_MS = 250;
const DRY_MAX_MS = 2_000;

/** Run `work` over `items`, at most FAN_OUT at a time; a failed item answers null. */
async function fanOut<T, R>(items: T[], work: (item: T) => Promise<R>): Promise<(R | null)[]> {
  const results: (R | null)[] = new Array<R | null>(items.length).fill(null);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await work(items[i] as T);
      } catch (error) {
        logEvent("Shard call failed.", { error: String(error) }, "warn");
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FAN_OUT, items.length) }, worker));
  return results;
}

export class ShardSide {
  /** The borrow in flight (one per shard), and the one queued behind it. */
  private borrowing: Promise<number> | null = null;
  private queued: Promise<number> | null = null;
  /** Units of the holds waiting for the next borrow. */
  private need = 0;
  /**
   * After a borrow that got nothing, this shard refuses on its own until `dryUntil` (epoch ms),
   * for a time that doubles with each empty borrow (DRY_MIN_MS to DRY_MAX_MS): an empty pool must
   * not turn every refusal into a call to the coordinator. A grant, or the coordinator's word
   * that its pool grew (a restock), ends it.
   */
  private dryUntil = 0;
  private dryMs = 0;
  /** Until then (epoch ms), the coordinator's last word was that no unit is free anywhere. */
  private emptyUntil = 0;
  private readonly rate: RateEstimate = { rate: 0, at: 0 };
  /** How long a borrow takes, recently (ms, a moving average): how far ahead to prefetch. */
  private borrowMs = 20;
  /** Units the coordinator is redeeming admissions for, for holds here still in flight. */
  private redeeming = 0;
  /** Whether the last report this shard sent said it had nothing free and nothing held. */
  private sentEmpty = false;

  constructor(private readonly host: ShardHost) {}

  private peer(productId: number, shard: number | null): ShardPeer {
    const name = shard === null ? String(productId) : shardName(productId, shard);
    return this.host.env.PRODUCTS.getByName(name);
  }

  private get shard(): number {
    const shard = this.host.shard;
    if (shard === null) throw new Error("a shard's call on a product's own object");
    return shard;
  }

  // ---- a shard ---------------------------------------------------------------------------------

  /**
   * A hold on a shard: tried, and when too few units are free here, tried again after a borrow
   * from the coordinator, made outside any transaction, its grant applied in a transaction of its
   * own; each try is a fresh synchronous transaction. While the queue is on, no unit here is the
   * hold's until the coordinator has redeemed its admission for them (`holdQueued`).
   */
  async hold(
    call: ShardCall & { admission?: HoldAdmission; shopperId: string | null },
    qty: number,
    tryHold: TryHold,
  ): Promise<Answer<HoldMade, HoldRejected>> {
    if (this.host.queued()) return this.holdQueued(call, qty, tryHold);
    noteDemand(this.rate, qty, Date.now());
    let answer = await tryHold(null);
    for (let round = 0; ; round++) {
      if (answer.ok) {
        // What is left after the hold (absent on a replay, which reserved nothing new).
        if (answer.available !== undefined) this.prefetchIfLow(call, answer.available);
        return answer;
      }
      if (answer.code !== "insufficient_stock" || round >= BORROW_ROUNDS) return answer;
      if (Date.now() < this.dryUntil) return this.refused(answer);
      if ((await this.borrow(call, qty)) === 0) return this.refused(answer);
      answer = await tryHold(null);
    }
  }

  /**
   * A hold while the queue is on. The first try checks what this shard can (a replay of the key,
   * the admission's presence and time, the window, the shopper's limit) and takes no unit; then
   * the coordinator redeems the admission for exactly `qty` units from its pool, as a hold there
   * would (valid, unused, leaving a unit for every other admitted shopper), and the second try
   * applies that grant and makes the hold in one transaction. Units redeemed for holds still in
   * flight are never given back; any other free unit here goes back to the pool at once.
   */
  private async holdQueued(
    call: ShardCall & { admission?: HoldAdmission; shopperId: string | null },
    qty: number,
    tryHold: TryHold,
  ): Promise<Answer<HoldMade, HoldRejected>> {
    // The report the redemption carries is read in the first try's own transaction.
    const shard = this.shard;
    const taken: { report?: ShardReport } = {};
    const first = await tryHold(null, (tx) => (taken.report = shardReport(tx, shard)));
    if (first.ok || first.code !== "insufficient_stock" || !call.admission) return first;
    if (!taken.report) return first;
    this.redeeming += qty;
    try {
      const redeemed = await this.redeem(call, qty, call.admission, taken.report);
      return redeemed.ok ? await tryHold(redeemed) : redeemed;
    } finally {
      this.redeeming -= qty;
    }
  }

  private async redeem(
    call: ShardCall & { shopperId: string | null },
    qty: number,
    admission: HoldAdmission,
    report: ShardReport,
  ): Promise<Answer<Redeemed, HoldRejected>> {
    const shard = this.shard;
    this.sent(report);
    const answer = await this.peer(call.productId, null).borrowUnits({
      productId: call.productId,
      requestId: call.requestId,
      from: shard,
      request: {
        report,
        need: qty,
        want: 0,
        admission: {
          ...admission,
          shopperId: call.shopperId,
          holdId: newHoldId(call.productId, shard),
        },
      },
    });
    if (!answer.ok) return answer;
    if (answer.granted === 0 && !answer.holdId) {
      // The queue went off meanwhile: the coordinator lends as without one.
      return { ok: false, code: "insufficient_stock", message: "No unit here now.", available: 0 };
    }
    const holdId = answer.holdId ?? newHoldId(call.productId, shard);
    return { ok: true, grants: answer.grants, returnSeq: answer.returnSeq, holdId };
  }

  /** Apply a redemption's grant, in the transaction of the hold it is for. */
  applyRedeemed(tx: Tx, redeemed: Redeemed): void {
    returnsAcknowledged(tx, this.shard, redeemed.returnSeq);
    applyGrants(tx, this.shard, redeemed.grants);
  }

  /**
   * A payment on a shard. A late payment that would be accepted (`accept_if_available`) but finds
   * too few units here borrows them from the coordinator (which, while the queue is on, keeps
   * back what unused admissions count on) and is decided again; the second try is final.
   */
  async settle(
    call: ShardCall,
    trySettle: (askForUnits: boolean) => Promise<Answer<PaymentSettled, LateSaleShort>>,
  ): Promise<Answer<PaymentSettled, LateSaleShort>> {
    const first = await trySettle(true);
    if (first.ok || first.code !== "insufficient_stock" || !("missing" in first)) return first;
    await this.borrowOnce(call, first.missing, true);
    return trySettle(false);
  }

  /**
   * A shard running low borrows ahead (a prefetch, with no hold waiting), so that the next holds
   * find units instead of waiting for a borrow: when its free units would last less than two
   * borrows at its recent rate (`lowWater`). Only when no borrow is in flight and the pool was not
   * found empty just now; in the end game the coordinator grants a prefetch nothing.
   */
  private prefetchIfLow(call: ShardCall, free: number): void {
    if (this.borrowing || Date.now() < this.dryUntil || this.host.queued()) return;
    if (free >= lowWater(this.rate.rate, this.borrowMs, SHARD_BLOCKS)) return;
    this.borrow(call, 0).catch((error: unknown) =>
      logEvent("Prefetch failed.", { product_id: call.productId, error: String(error) }, "warn"),
    );
  }

  /**
   * Borrow for a hold short of `qty` units (0: a prefetch). One borrow is in flight per shard;
   * the holds that fall short meanwhile wait for the next one, which asks for all of their units
   * together.
   */
  private borrow(call: ShardCall, qty: number): Promise<number> {
    this.need += qty;
    if (!this.borrowing) return this.startBorrow(call);
    this.queued ??= this.borrowing.then(() => {
      this.queued = null;
      // The borrow they waited for found the pool empty: no second round trip for them.
      if (Date.now() < this.dryUntil && qty > 0) {
        this.need = 0;
        return 0;
      }
      return this.startBorrow(call);
    });
    return this.queued;
  }

  private startBorrow(call: ShardCall): Promise<number> {
    const need = this.need;
    this.need = 0;
    const run: Promise<number> = this.borrowOnce(call, need).finally(() => {
      if (this.borrowing === run) this.borrowing = null;
    });
    this.borrowing = run;
    return run;
  }

  private async borrowOnce(call: ShardCall, need: number, late = false): Promise<number> {
    const shard = this.shard;
    const started = Date.now();
    const report = await this.host.write(call, (tx) => shardReport(tx, shard));
    this.sent(report);
    const want = late ? need : wantedBlock(this.rate.rate, need, SHARD_BLOCKS);
    let answer;
    try {
      answer = await this.peer(call.productId, null).borrowUnits({
        productId: call.productId,
        requestId: call.requestId,
        from: shard,
        request: { report, need, want, ...(late ? { late } : {}) },
      });
    } catch (error) {
      logEvent(
        "Borrow failed.",
        { product_id: call.productId, shard, error: String(error) },
        "warn",
      );
      return 0;
    }
    if (!answer.ok) return 0;
    const { grants, returnSeq } = answer;
    const after = await this.host.write(call, (tx) => {
      returnsAcknowledged(tx, shard, returnSeq);
      return applyGrants(tx, shard, grants);
    });
    const moved = after.granted - report.granted;
    this.borrowMs += (Math.max(1, Date.now() - started) - this.borrowMs) / 4;
    if (moved > 0) this.wet();
    // A prefetch that got nothing says only that no block is spare: a short hold still asks.
    else if (need > 0) {
      this.dryMs = Math.min(DRY_MAX_MS, Math.max(DRY_MIN_MS, this.dryMs * 2));
      this.dryUntil = Date.now() + this.dryMs;
      // Nothing free anywhere, as the coordinator knows it after its recall: this shard's
      // refusals say so until the pause ends, and the Worker then answers them itself.
      if (answer.available === 0) this.emptyUntil = this.dryUntil;
    }
    return moved;
  }

  /** A report on its way to the coordinator. */
  private sent(report: ShardReport): void {
    this.sentEmpty = report.free === 0 && report.reserved === 0;
  }

  /**
   * After every transaction on a shard. While the queue is on every free unit is the queue's, so
   * one freed here (a hold released or expired, an order cancelled or failed) goes back to the
   * pool at once; and a shard that has just sold or given away its last unit says so, since the
   * sold-out certificate waits for its word. Both by the alarm, now.
   */
  afterWrite(read: () => ProductRow): void {
    // Without the queue, and once it said it is empty, a shard has nothing to say: no read.
    if (!this.host.queued() && this.sentEmpty) return;
    const product = read();
    const free = product.stock - product.reserved;
    const empty = free === 0 && product.reserved === 0;
    if ((this.host.queued() && free > this.redeeming) || (empty && !this.sentEmpty)) {
      this.host.arm(Date.now());
    }
  }

  /** Units came, or may come: borrow again at the next shortfall. */
  private wet(): void {
    this.dryMs = 0;
    this.dryUntil = 0;
    this.emptyUntil = 0;
  }

  /** A refusal here, with what the product as a whole has free when that is known to be none. */
  private refused(answer: Answer<HoldMade, HoldRejected>): Answer<HoldMade, HoldRejected> {
    if (answer.ok || answer.code !== "insufficient_stock" || Date.now() >= this.emptyUntil) {
      return answer;
    }
    return { ...answer, productAvailable: 0 };
  }

  /** The coordinator asks for free units back (a recall, or a change of N). */
  recall(
    call: ShardCall,
    keep: number,
    acknowledged: number,
  ): Promise<Answer<{ returns: Transfer[]; report: ShardReport }>> {
    const shard = this.shard;
    return this.host.write(call, (tx) => {
      returnsAcknowledged(tx, shard, acknowledged);
      // Units the coordinator granted for holds still on their way stay theirs.
      const given = giveBack(tx, shard, Math.max(keep, this.redeeming));
      if (given.returns.length > 0) this.host.arm(tx.now + RESEND_MS);
      this.sent(given.report);
      return { ok: true as const, ...given };
    });
  }

  /** Grants resent by the coordinator's alarm, or none: its word that its pool grew. */
  applyGrants(call: ShardCall, grants: Transfer[]): Promise<Answer<{ report: ShardReport }>> {
    const shard = this.shard;
    this.wet();
    return this.host.write(call, (tx) => {
      const report = applyGrants(tx, shard, grants);
      this.sent(report);
      return { ok: true as const, report };
    });
  }

  report(call: ShardCall): Promise<Answer<{ report: ShardReport }>> {
    const shard = this.shard;
    return this.host.write(call, (tx) => {
      const report = shardReport(tx, shard);
      this.sent(report);
      return { ok: true as const, report };
    });
  }

  // ---- the coordinator -------------------------------------------------------------------------

  /**
   * A shard borrows. The grant is debited here before the answer leaves; when the pool cannot
   * cover a waiting hold, the shards with free units by their last reports are asked to give them
   * back, and the grant is tried once more with what came back.
   */
  async lend(
    call: ShardCall,
    from: number,
    request: BorrowRequest,
  ): Promise<Answer<BorrowAnswer & { returnSeq: number }, HoldRejected>> {
    let answer = await this.host.write(call, (tx) => this.lendTx(tx, from, request));
    if (!answer.ok) return answer;
    // While the queue is on the shards keep no free unit: a recall would find none.
    if (answer.granted < request.need && !this.host.queued()) {
      const targets = await this.host.write(call, (tx) => recallFrom(tx, from));
      if (targets.length > 0) {
        await fanOut(targets, (k) => this.recallShard(call, k, 0));
        const more = { ...request, need: request.need - answer.granted };
        const again = await this.host.write(call, (tx) => this.lendTx(tx, from, more));
        if (again.ok) answer = { ...again, granted: answer.granted + again.granted };
      }
    }
    return answer;
  }

  private lendTx(
    tx: Tx,
    from: number,
    request: BorrowRequest,
  ): Answer<BorrowAnswer & { returnSeq: number }, HoldRejected> {
    const answer = lend(tx, from, request, this.host.queueGate(tx));
    if ("ok" in answer) return answer;
    if (answer.grants.length > 0) this.host.arm(tx.now + RESEND_MS);
    return { ok: true, ...answer, returnSeq: loadLedger(tx).accounts[from]?.returnSeq ?? 0 };
  }

  /** Ask shard k for its free units beyond `keep`, and apply what it gave back. */
  private async recallShard(call: ShardCall, k: number, keep: number): Promise<ShardReport | null> {
    const acknowledged = await this.host.write(
      call,
      (tx) => loadLedger(tx).accounts[k]?.returnSeq ?? 0,
    );
    const answer = await this.peer(call.productId, k).recallUnits({
      productId: call.productId,
      requestId: call.requestId,
      shard: k,
      keep,
      acknowledged,
    });
    if (!answer.ok) return null;
    await this.host.write(call, (tx) => takeBack(tx, k, answer.returns, answer.report));
    return answer.report;
  }

  /** A shard's returns (resent by its alarm). */
  takeBack(
    call: ShardCall,
    from: number,
    returns: Transfer[],
    report: ShardReport,
  ): Promise<Answer<{ returnSeq: number }>> {
    return this.host.write(call, (tx) => ({
      ok: true as const,
      ...takeBack(tx, from, returns, report),
    }));
  }

  /** Every shard's report, fresh where the shard answers, the last one kept where it does not. */
  private async freshLedger(
    call: ShardCall,
  ): Promise<{ ledger: Ledger; product: ProductRow; certified: boolean }> {
    const n = await this.host.write(call, (tx) => knownShards(tx));
    const reports = await fanOut(
      Array.from({ length: n }, (_, k) => k),
      async (k) => {
        const answer = await this.peer(call.productId, k).reportUnits({
          productId: call.productId,
          requestId: call.requestId,
          shard: k,
        });
        return answer.ok ? answer.report : null;
      },
    );
    return this.host.write(call, (tx) => {
      const ledger = noteReports(
        tx,
        reports.filter((r): r is ShardReport => r !== null),
      );
      return { ledger, product: productRow(tx.sql), certified: certifiedSoldOut(tx, ledger) };
    });
  }

  /**
   * The product as shoppers see it across its shards: the pool and what each shard has free or
   * held, summed; sold out only by the coordinator's certificate.
   */
  async readProduct(call: ShardCall): Promise<ProductView> {
    const { ledger, product, certified } = await this.freshLedger(call);
    return shardedView(product, ledger, certified, this.host.defaults());
  }

  /**
   * Metrics of every shard and their sum, with the conservation check across them:
   * pool + sum of shard quotas (free + held + pending) + sold = stock, exact when no transfer is
   * in flight; with transfers in flight, the units in flight are counted and shown.
   */
  async readMetrics(
    call: ShardCall,
    own: ProductMetricsView,
    full: boolean,
  ): Promise<ProductMetricsView> {
    const { ledger, product, certified } = await this.freshLedger(call);
    const n = ledger.accounts.length;
    const perShard = await fanOut(
      Array.from({ length: n }, (_, k) => k),
      async (k) => {
        const answer = await this.peer(call.productId, k).readMetrics({
          productId: call.productId,
          requestId: call.requestId,
          shard: k,
          full,
        });
        return answer.ok ? answer.metrics : null;
      },
    );
    return combineMetrics(own, product, ledger, perShard, certified);
  }

  /**
   * Change N: only while nothing is held or pending anywhere. Every shard first gives its free
   * units back; the change then commits only if every shard ever granted a unit has reported,
   * after its last grant and return, that it holds nothing.
   */
  async changeShards(call: ShardCall, shards: number): Promise<Failure | null> {
    const before = await this.host.write(call, (tx) => productRow(tx.sql));
    if (before.shards === shards) return null;
    if (busy(before)) return shardsBusy(`${before.reserved} unit(s) held or pending`);
    const n = await this.host.write(call, (tx) => knownShards(tx));
    const reports = await fanOut(
      Array.from({ length: n }, (_, k) => k),
      (k) => this.recallShard(call, k, 0),
    );
    const unanswered = reports.findIndex((report, k) => report === null && k < n);
    return this.host.write(call, (tx) => {
      const ledger = loadLedger(tx);
      const product = productRow(tx.sql);
      if (busy(product)) return shardsBusy(`${product.reserved} unit(s) held or pending`);
      for (const [k, held] of ledger.accounts.entries()) {
        if (held.grantSeq === 0) continue;
        const report = held.report;
        const settled =
          report !== null &&
          report.grantSeq === held.grantSeq &&
          report.returnSeq === held.returnSeq &&
          report.reserved === 0 &&
          report.free === 0;
        if (!settled) {
          return shardsBusy(
            unanswered === k
              ? `shard ${k} did not answer`
              : `shard ${k} has ${report?.reserved ?? "unknown"} unit(s) held or pending`,
          );
        }
      }
      // Shoppers' earlier homes stay where their units are (see `carryShopper`); an N under
      // which nothing was sold left no shopper any unit, and costs their next holds nothing.
      const soldUnder =
        product.shards === 1
          ? product.sold > 0
          : ledger.accounts.some((held, k) => k < product.shards && (held.report?.sold ?? 0) > 0);
      const earlier = soldUnder ? [...shardEras(product), product.shards] : shardEras(product);
      const eras = [...new Set(earlier)].filter((n) => n !== shards);
      tx.sql.exec("UPDATE product SET shards = ?, shard_eras = ?", shards, JSON.stringify(eras));
      tx.log("Product shards changed.", {
        product_id: tx.productId,
        from: product.shards,
        to: shards,
        pool: ledger.pool,
      });
      return null;
    });
  }

  /** The pool grew (a restock): shards that found it empty may borrow again at once. */
  async poolGrew(call: ShardCall): Promise<void> {
    const n = await this.host.write(call, (tx) => knownShards(tx));
    await fanOut(
      Array.from({ length: n }, (_, k) => k),
      (k) =>
        this.peer(call.productId, k).applyGrants({
          productId: call.productId,
          requestId: call.requestId,
          shard: k,
          grants: [],
        }),
    );
  }

  /** Copy the coordinator's settings to every shard (after a change, or a change of N). */
  async pushSettings(call: ShardCall): Promise<Failure | null> {
    const { product, n } = await this.host.write(call, (tx) => ({
      product: productRow(tx.sql),
      n: knownShards(tx),
    }));
    const changes: ProductChanges = {
      name: product.name,
      price_cents: product.price_cents,
      sale_starts_at: product.sale_starts_at,
      sale_ends_at: product.sale_ends_at,
      max_units_per_shopper: product.max_units_per_shopper,
      late_payments: product.late_payments,
      image_url: product.image_url,
      description: product.description,
      // A shard keeps only whether the queue is on: the line itself is the coordinator's.
      queue: { enabled: product.queue_enabled === 1 },
    };
    const answers = await fanOut(
      Array.from({ length: n }, (_, k) => k),
      (k) =>
        this.peer(call.productId, k).updateProduct({
          productId: call.productId,
          requestId: call.requestId,
          shard: k,
          changes,
          shardEras: shardEras(product),
        }),
    );
    const failed = answers.findIndex((answer) => answer === null || !answer.ok);
    if (failed !== -1) {
      return failure(
        "service_unavailable",
        `Shard ${failed} did not take the product's settings; send the same change again.`,
      );
    }
    // With the queue on, admission counts every sellable unit: the shards' free units come back
    // to the pool (each shard keeps what it is redeeming admissions for).
    if (product.queue_enabled === 1) {
      await fanOut(
        Array.from({ length: n }, (_, k) => k),
        (k) => this.recallShard(call, k, 0),
      );
    }
    return null;
  }

  // ---- both: a shopper's earlier homes ---------------------------------------------------------

  /**
   * A shopper's first hold here on a product whose number of shards changed: the units they have
   * at their earlier homes (paid, since N changes only while nothing is held or pending) are
   * asked for once and carried here, so the per-shopper limit counts them. Fails closed: when an
   * earlier home does not answer, the hold is refused (503) rather than let past the limit.
   */
  async carryShopper(
    call: ShardCall,
    shopperId: string,
    eras: number[],
    known: () => boolean,
  ): Promise<Failure | null> {
    if (known()) return null;
    const homes = [...new Set(eras.map((n) => (n === 1 ? null : homeShard(shopperId, n))))].filter(
      (home) => home !== this.host.shard,
    );
    const answers = await fanOut(homes, (home) =>
      this.peer(call.productId, home).shopperUnits({
        productId: call.productId,
        requestId: call.requestId,
        shard: home,
        shopperId,
      }),
    );
    let carried = 0;
    for (const answer of answers) {
      if (!answer?.ok) {
        return failure(
          "service_unavailable",
          "Your units at this product's earlier shards could not be counted; try again.",
        );
      }
      carried += answer.units;
    }
    await this.host.write(call, (tx) => carryShopperUnits(tx, shopperId, carried));
    return null;
  }

  // ---- both: the alarm -------------------------------------------------------------------------

  /** Send again what the other side has not acknowledged. */
  async onAlarm(call: ShardCall): Promise<void> {
    if (this.host.shard === null) {
      const resend = await this.host.write(call, (tx) => grantsToResend(tx));
      if (resend.size === 0) return;
      const reports = await fanOut([...resend.entries()], async ([k, grants]) => {
        const answer = await this.peer(call.productId, k).applyGrants({
          productId: call.productId,
          requestId: call.requestId,
          shard: k,
          grants,
        });
        return answer.ok ? answer.report : null;
      });
      const left = await this.host.write(call, (tx) => {
        noteReports(
          tx,
          reports.filter((r): r is ShardReport => r !== null),
        );
        return grantsToResend(tx).size;
      });
      if (left > 0) this.host.arm(Date.now() + RESEND_MS);
      return;
    }
    const shard = this.host.shard;
    // While the queue is on, free units go back (but those redeemed for holds on their way).
    const keep = this.host.queued() ? this.redeeming : Infinity;
    const pending = await this.host.write(call, (tx) => giveBack(tx, shard, keep));
    const empty = pending.report.free === 0 && pending.report.reserved === 0;
    if (pending.returns.length === 0 && (!empty || this.sentEmpty)) return;
    try {
      this.sent(pending.report);
      const answer = await this.peer(call.productId, null).returnUnits({
        productId: call.productId,
        requestId: call.requestId,
        from: shard,
        returns: pending.returns,
        report: pending.report,
      });
      if (answer.ok) {
        await this.host.write(call, (tx) => returnsAcknowledged(tx, shard, answer.returnSeq));
        return;
      }
      this.sentEmpty = false;
    } catch (error) {
      this.sentEmpty = false;
      logEvent(
        "Return resend failed.",
        { product_id: call.productId, shard, error: String(error) },
        "warn",
      );
    }
    this.host.arm(Date.now() + RESEND_MS);
  }
}

/** The numbers of shards a product had before its current one. */
export function shardEras(product: ProductRow): number[] {
  return JSON.parse(product.shard_eras) as number[];
}

function shardsBusy(why: string): Failure {
  return failure(
    "shards_busy",
    `The number of shards can change only while nothing is held or pending on any of them: ${why}. Try again once they have settled.`,
  );
}
