/**
 * The calls between a product's coordinator and its shards (docs/sharding.md), as the product
 * object makes them. Every change of state is one transaction of src/product/shards.ts, run
 * through the object's `write`; every call to another object happens between transactions, never
 * inside one. A failed call moves nothing: what was debited stays in its giver's outbox, and the
 * alarm sends it again.
 */
import type { Env } from "../env";
import { failure, type Answer, type Failure } from "../contract/errors";
import { shardName } from "../contract/ids";
import type { ProductMetricsView, ProductView } from "../contract/shapes";
import type { StockFrame } from "../contract/live";
import { logEvent } from "../log";
import { lowWater, noteDemand, wantedBlock, type RateEstimate } from "../shards/blocks";
import { allotted, type Ledger } from "../shards/ledger";
import type { ShardReport, Transfer } from "../shards/transfer";
import type { ProductDefaults } from "./product-row";
import { productRow, productView, type ProductRow } from "./product-row";
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
} from "./shards";
import type { Tx } from "./tx";

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
  ): Promise<Answer<BorrowAnswer & { returnSeq: number }>>;
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
  updateProduct(call: ShardCall & { changes: ProductChanges }): Promise<Answer<object>>;
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
}

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
  private readonly rate: RateEstimate = { rate: 0, at: 0 };
  /** How long a borrow takes, recently (ms, a moving average): how far ahead to prefetch. */
  private borrowMs = 20;

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
   * own; each try is a fresh synchronous transaction.
   */
  async hold<A extends { ok: boolean; code?: string; available?: number }>(
    call: ShardCall,
    qty: number,
    tryHold: () => Promise<A>,
  ): Promise<A> {
    noteDemand(this.rate, qty, Date.now());
    let answer = await tryHold();
    for (let round = 0; ; round++) {
      if (answer.ok) {
        // What is left after the hold (absent on a replay, which reserved nothing new).
        if (answer.available !== undefined) this.prefetchIfLow(call, answer.available);
        return answer;
      }
      if (answer.code !== "insufficient_stock" || round >= BORROW_ROUNDS) return answer;
      if (Date.now() < this.dryUntil) return answer;
      if ((await this.borrow(call, qty)) === 0) return answer;
      answer = await tryHold();
    }
  }

  /**
   * A shard running low borrows ahead (a prefetch, with no hold waiting), so that the next holds
   * find units instead of waiting for a borrow: when its free units would last less than two
   * borrows at its recent rate (`lowWater`). Only when no borrow is in flight and the pool was not
   * found empty just now; in the end game the coordinator grants a prefetch nothing.
   */
  private prefetchIfLow(call: ShardCall, free: number): void {
    if (this.borrowing || Date.now() < this.dryUntil) return;
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

  private async borrowOnce(call: ShardCall, need: number): Promise<number> {
    const shard = this.shard;
    const started = Date.now();
    const report = await this.host.write(call, (tx) => shardReport(tx, shard));
    const want = wantedBlock(this.rate.rate, need, SHARD_BLOCKS);
    let answer;
    try {
      answer = await this.peer(call.productId, null).borrowUnits({
        productId: call.productId,
        requestId: call.requestId,
        from: shard,
        request: { report, need, want },
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
    }
    return moved;
  }

  /** Units came, or may come: borrow again at the next shortfall. */
  private wet(): void {
    this.dryMs = 0;
    this.dryUntil = 0;
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
      const given = giveBack(tx, shard, keep);
      if (given.returns.length > 0) this.host.arm(tx.now + RESEND_MS);
      return { ok: true as const, ...given };
    });
  }

  /** Grants resent by the coordinator's alarm, or none: its word that its pool grew. */
  applyGrants(call: ShardCall, grants: Transfer[]): Promise<Answer<{ report: ShardReport }>> {
    const shard = this.shard;
    this.wet();
    return this.host.write(call, (tx) => ({
      ok: true as const,
      report: applyGrants(tx, shard, grants),
    }));
  }

  report(call: ShardCall): Promise<Answer<{ report: ShardReport }>> {
    const shard = this.shard;
    return this.host.write(call, (tx) => ({ ok: true as const, report: shardReport(tx, shard) }));
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
  ): Promise<Answer<BorrowAnswer & { returnSeq: number }>> {
    let answer = await this.host.write(call, (tx) => this.lendTx(tx, from, request));
    if (answer.granted < request.need) {
      const targets = await this.host.write(call, (tx) => recallFrom(tx, from));
      if (targets.length > 0) {
        await fanOut(targets, (k) => this.recallShard(call, k, 0));
        const more = { ...request, need: request.need - answer.granted };
        const again = await this.host.write(call, (tx) => this.lendTx(tx, from, more));
        answer = { ...again, granted: answer.granted + again.granted };
      }
    }
    return { ok: true, ...answer };
  }

  private lendTx(
    tx: Tx,
    from: number,
    request: BorrowRequest,
  ): BorrowAnswer & { returnSeq: number } {
    const answer = lend(tx, from, request);
    if (answer.grants.length > 0) this.host.arm(tx.now + RESEND_MS);
    return { ...answer, returnSeq: loadLedger(tx).accounts[from]?.returnSeq ?? 0 };
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
    if (shards > 1 && before.queue_enabled === 1) {
      return failure(
        "shards_unsupported",
        "A product with its queue on cannot be sharded yet: turn the queue off first.",
      );
    }
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
      tx.sql.exec("UPDATE product SET shards = ?", shards);
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
    };
    const answers = await fanOut(
      Array.from({ length: n }, (_, k) => k),
      (k) =>
        this.peer(call.productId, k).updateProduct({
          productId: call.productId,
          requestId: call.requestId,
          shard: k,
          changes,
        }),
    );
    const failed = answers.findIndex((answer) => answer === null || !answer.ok);
    return failed === -1
      ? null
      : failure(
          "service_unavailable",
          `Shard ${failed} did not take the product's settings; send the same change again.`,
        );
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
    const pending = await this.host.write(call, (tx) => giveBack(tx, shard, Infinity));
    if (pending.returns.length === 0) return;
    try {
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
    } catch (error) {
      logEvent(
        "Return resend failed.",
        { product_id: call.productId, shard, error: String(error) },
        "warn",
      );
    }
    this.host.arm(Date.now() + RESEND_MS);
  }
}

function shardsBusy(why: string): Failure {
  return failure(
    "shards_busy",
    `The number of shards can change only while nothing is held or pending on any of them: ${why}. Try again once they have settled.`,
  );
}

/**
 * The live stock frame of a sharded product, as of the shards' last reports (they come with every
 * borrow, recall and product read): no call, so the relays' flush stays synchronous.
 */
export function shardedFrame(sql: SqlStorage, defaults: ProductDefaults): StockFrame {
  const ledger = loadLedger({ sql });
  const view = shardedView(productRow(sql), ledger, certifiedSoldOut({ sql }, ledger), defaults);
  return {
    type: "stock",
    stock: view.stock,
    reserved: view.reserved,
    available: view.available,
    sold_out: view.sold_out,
  };
}

/** The product view of a sharded product (or one that was sharded and still has units lent). */
export function shardedView(
  product: ProductRow,
  ledger: Ledger,
  certified: boolean,
  defaults: ProductDefaults,
): ProductView {
  let free = ledger.pool;
  let reserved = product.reserved;
  ledger.accounts.forEach((held, k) => {
    const report = held.report;
    // A shard never heard from holds what it was granted, as far as anyone can tell: free; so
    // do the units of grants made since its last report.
    if (report === null) free += allotted(ledger, k);
    else {
      free += report.free + held.granted - report.granted;
      reserved += report.reserved;
    }
  });
  const view = productView(product, defaults);
  return {
    ...view,
    stock: free + reserved,
    reserved,
    available: free,
    sold_out: certified,
  };
}

type Numbers = Record<string, unknown>;

/** Add every number of `b` into `a`, field by field (nested objects too). */
function addInto(a: Numbers, b: Numbers): void {
  for (const [key, value] of Object.entries(b)) {
    if (typeof value === "number" && typeof a[key] === "number") a[key] = a[key] + value;
    else if (value && typeof value === "object" && !Array.isArray(value)) {
      const into = a[key];
      if (into && typeof into === "object" && !Array.isArray(into))
        addInto(into as Numbers, value as Numbers);
    }
  }
}

/** The coordinator's own metrics plus every shard's, and the check across them. */
export function combineMetrics(
  own: ProductMetricsView,
  product: ProductRow,
  ledger: Ledger,
  perShard: (ProductMetricsView | null)[],
  certified: boolean,
): ProductMetricsView {
  const total: ProductMetricsView = structuredClone(own);
  const violations = own.invariants.violations.map((v) => `coordinator: ${v}`);
  // The coordinator's own stock counts its lent units; across shards they are counted where
  // they are.
  total.stock = product.stock - product.lent;
  total.available = ledger.pool;
  total.initial_stock = own.initial_stock;
  total.restocked = own.restocked;
  let quotas = 0;
  let sold = 0;
  let inFlight = 0;
  const shards: NonNullable<ProductMetricsView["shards"]>["per_shard"] = [];
  perShard.forEach((metrics, k) => {
    const held = ledger.accounts[k];
    if (!metrics || !held) {
      if (held && held.grantSeq > 0) violations.push(`shard ${k}: did not answer`);
      return;
    }
    const { initial_stock, restocked, ...counted } = metrics;
    void initial_stock;
    void restocked;
    addInto(total, counted);
    total.product_id = own.product_id;
    for (const v of metrics.invariants.violations) violations.push(`shard ${k}: ${v}`);
    quotas += metrics.stock;
    sold += metrics.sold;
    const report = held.report;
    const granted = report?.granted ?? 0;
    const returned = report?.returned ?? 0;
    // I2 at the shard: its stock and sales are what it was granted net of what it gave back.
    if (report && metrics.stock + metrics.sold !== granted - returned) {
      violations.push(
        `shard ${k}: stock ${metrics.stock} + sold ${metrics.sold} != granted ${granted} - returned ${returned}`,
      );
    }
    // I3: it applied no grant that was not issued, and the coordinator no return it did not make.
    if (granted > held.granted || held.returned > returned) {
      violations.push(`shard ${k}: transfers applied that were never made (I3)`);
    }
    inFlight += held.granted - granted + (returned - held.returned);
    shards.push({
      shard: k,
      stock: metrics.stock,
      reserved: metrics.reserved,
      available: metrics.available,
      sold: metrics.sold,
      granted,
      returned,
      holds_active: metrics.holds.active,
      orders_pending: metrics.orders.pending,
      dead_letters: metrics.history_dead_letters,
      invariants_ok: metrics.invariants.ok,
    });
  });
  const stock = product.initial_stock + product.restocked;
  const counted = ledger.pool + product.reserved + quotas + sold + own.sold + inFlight;
  if (counted !== stock) {
    violations.push(
      `pool ${ledger.pool} + coordinator reserved ${product.reserved} + shard quotas ${quotas} + sold ${sold + own.sold} + in flight ${inFlight} != stock ${stock}`,
    );
  }
  total.invariants = { ...own.invariants, ok: violations.length === 0, violations };
  total.shards = {
    count: product.shards,
    pool: ledger.pool,
    in_flight: inFlight,
    sold_out_certified: certified,
    per_shard: shards,
  };
  return total;
}
