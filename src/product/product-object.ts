import { DurableObject } from "cloudflare:workers";
import type { CatalogueEntry } from "../contract/catalogue-entry";
import { configFrom } from "../config";
import type { Env } from "../env";
import { failure, type Answer, type Failure } from "../contract/errors";
import type { QueueFrontier } from "../queue/frontier";
import type {
  DeadLetterView,
  OrderView,
  ProductMetricsView,
  ProductView,
  RefundView,
} from "../contract/shapes";
import { AlarmSchedule } from "./alarm-schedule";
import { earliestDeadline, productAsOf, releaseDue } from "./expiry";
import { GroupCommit } from "./group-commit";
import { HistoryFlusher } from "./history-flusher";
import { LiveFanout, stockFrame } from "./live";
import type { LiveState } from "../contract/live";
import { ProductQueue, type HoldAdmission } from "./queue";
import { joinQueue, leaveQueue, readQueue } from "./queue-calls";
import * as holds from "./holds";
import * as orders from "./orders";
import * as checkout from "./checkout";
import { changeProduct, listDeadLetters, readMetrics, retryDeadLetter } from "./operator-calls";
import { settlePayment, type PaymentNotice, type PaymentSettled } from "./payments";
import { resolveRefund } from "./refunds";
import { restock, type Restocked } from "./restocks";
import { nextPrunableAt, nextSliceAt, pruneSlice } from "./retention";
import { migrate, storedSchemaVersion } from "./migrations";
import type { ProductChanges } from "./settings";
import {
  catalogueEntry,
  fetchCatalogueEntry,
  findProductRow,
  openProduct,
  productRow,
  productView,
  type ProductCounters,
  type ProductRow,
} from "./product-row";
import { runTransaction, type Call, type ShopperCall, type TransactionScope } from "./transaction";
import type { Look, Tx } from "./tx";
import { ShardSide, shardedFrame } from "./shard-side";
import { shardOfName, type BorrowRequest } from "./shards";
import type { ShardReport, Transfer } from "../shards/transfer";

/** A safety net: the alarm comes back this soon after events are recorded, in case the object
 * is evicted while copying them. */
const HISTORY_SAFETY_MS = 5_000;

/** How an RPC method runs: a write waits for its place in the group commit, a read does not. */
interface How {
  write?: boolean;
  /** The hold, order or refund the request is about, named in the answer if it is unknown. */
  about?: readonly ["hold_not_found" | "order_not_found" | "refund_not_found", string];
}

/**
 * One object per product: the single writer of that product's stock, holds, orders and webhook
 * keys. Every check-and-write is one synchronous SQLite transaction with no await inside, so
 * concurrent requests are applied one after another and can never oversell. An object for a
 * product that does not exist writes nothing: its schema is only made once the catalogue in D1
 * has confirmed the product. The class only wires: each rule is a function over `Tx` beside it,
 * the operators' and the queue's calls are in operator-calls.ts and queue-calls.ts, and every
 * transaction runs through `serve` (open the product) and `transact` (transaction.ts).
 */
export class ProductObject extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** The product this object owns, once its row exists. */
  private productId: number | null = null;
  private readonly schedule: AlarmSchedule;
  private history: HistoryFlusher | null = null;
  private queue: ProductQueue | null = null;
  /** Whether the product's queue is on, so holds and writes skip it without a read when not. */
  private queueEnabled = false;
  private rejectedSinceStart = 0;
  /** Product reads served since the object started (the bench counts object calls per read). */
  private productReads = 0;
  private readonly writes: GroupCommit;
  private readonly scope: TransactionScope;
  private readonly live: LiveFanout;
  /** Null: the product's own object (its coordinator); k: shard k, named `<product>:<k>`. */
  private readonly shard: number | null;
  /** The calls between a coordinator and its shards (docs/sharding.md). */
  private readonly shards: ShardSide;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.shard = shardOfName(ctx.id.name);
    this.schedule = new AlarmSchedule(ctx.storage);
    this.writes = new GroupCommit(ctx.storage);
    this.scope = {
      storage: ctx.storage,
      sql: this.sql,
      deadline: (at) => this.schedule.deadline(at),
      shard: this.shard,
    };
    this.shards = new ShardSide({
      env,
      shard: this.shard,
      write: (call, work) => this.write(call, work),
      arm: (at) => this.schedule.arm(at),
      defaults: () => configFrom(this.env),
    });
    this.live = new LiveFanout(ctx, env, {
      productId: () => this.productId,
      state: () => this.liveState(),
    });
    void ctx.blockConcurrencyWhile(async () => {
      await this.schedule.load();
      await this.live.load();
      // Only an object that already holds a product has a schema to bring up to date.
      if (storedSchemaVersion(this.sql) === 0) return;
      ctx.storage.transactionSync(() => migrate(this.sql));
      const product = findProductRow(this.sql) as ProductCounters | undefined;
      if (product) this.opened(product.id);
      this.schedule.expiryAt = earliestDeadline(this.sql);
      this.schedule.retentionAt = nextPrunableAt(this.sql, configFrom(env).retentionMs);
      // History an earlier instance left uncopied is picked up by the next alarm.
      if (product?.outbox_backlog) this.schedule.arm(Date.now());
    });
  }

  // ---- RPC methods, called by the Worker -------------------------------------------------

  /**
   * The product as it stands now, with no transaction and no write: units past their deadline
   * count as free (the alarm, or the next write, releases them), so the answer is exact at the
   * moment it is read and a storm of reads never runs the release or the queue's admission.
   */
  async readProduct(call: Call): Promise<Answer<{ product: ProductView }>> {
    const missing = await this.open(call.productId);
    if (missing) return missing;
    this.productReads++;
    if (this.sharded()) return { ok: true, product: await this.shards.readProduct(call) };
    const product = productAsOf(this.sql, productRow(this.sql), Date.now(), this.schedule.expiryAt);
    return { ok: true, product: this.view(product) };
  }

  async createHold(
    call: ShopperCall & {
      qty: number;
      idempotencyKey: string;
      freshKey: boolean;
      /** The admission (its signature checked by the Worker) the hold was sent with, if any. */
      admission?: HoldAdmission;
    },
  ): Promise<Answer<holds.HoldMade, holds.HoldRejected>> {
    const missing = await this.open(call.productId);
    if (missing) return missing;
    const config = configFrom(this.env);
    const queue = this.queueEnabled ? this.queue : null;
    const attempt = () =>
      this.write(call, (tx) =>
        holds.createHold(tx, {
          qty: call.qty,
          idempotencyKey: call.idempotencyKey,
          freshKey: call.freshKey,
          shopperId: call.shopperId,
          ttlMs: config.holdTtlMs,
          defaultLimit: config.maxUnitsPerShopper,
          // While the queue is on, a hold takes an unused admission and uses it up.
          admission: queue && queue.admissionFor(tx, call.admission, call.shopperId),
        }),
      );
    // A shard short of units borrows from its coordinator between two tries (shard-side.ts).
    const result =
      this.shard === null ? await attempt() : await this.shards.hold(call, call.qty, attempt);
    if (!result.ok && result.code === "insufficient_stock") this.rejectedSinceStart++;
    return result;
  }

  async releaseHold(call: ShopperCall & { holdId: string }): Promise<Answer<holds.HoldReleased>> {
    return this.serve(call, { write: true, about: ["hold_not_found", call.holdId] }, (tx) =>
      holds.releaseHold(tx, call.holdId, call.shopperId),
    );
  }

  async createOrder(call: ShopperCall & { holdId: string }): Promise<Answer<orders.OrderMade>> {
    return this.serve(call, { write: true, about: ["hold_not_found", call.holdId] }, (tx) =>
      orders.createOrder(tx, call.holdId, call.shopperId, configFrom(this.env).paymentTtlMs),
    );
  }

  async readOrder(
    call: Call & { orderId: string; viewer: orders.OrderViewer },
  ): Promise<Answer<{ order: OrderView }>> {
    return this.look(call, ["order_not_found", call.orderId], (at) =>
      orders.readOrder(at, call.orderId, call.viewer),
    );
  }

  /** The shopper's pending order as a checkout needs it, and the session already open, if any. */
  async startCheckout(
    call: ShopperCall & { orderId: string },
  ): Promise<Answer<checkout.CheckoutStart>> {
    return this.serve(call, { about: ["order_not_found", call.orderId] }, (tx) =>
      checkout.startCheckout(tx, call.orderId, call.shopperId),
    );
  }

  /** Keep the session the Worker opened on the order (the first one kept wins). */
  async saveCheckout(
    call: Call & {
      orderId: string;
      session: checkout.CheckoutSession;
      previousSessionId: string | null;
    },
  ): Promise<Answer<{ session: checkout.CheckoutSession }>> {
    return this.serve(call, { write: true, about: ["order_not_found", call.orderId] }, (tx) =>
      checkout.saveCheckout(tx, call.orderId, call.session, call.previousSessionId),
    );
  }

  /** The live order and what the object keeps beside it, for the operators' timeline. */
  async readOrderTrail(call: Call & { orderId: string }): Promise<Answer<orders.OrderTrailLive>> {
    return this.serve(call, { about: ["order_not_found", call.orderId] }, (tx) =>
      orders.readOrderTrail(tx, call.orderId),
    );
  }

  async cancelOrder(
    call: ShopperCall & { orderId: string },
  ): Promise<Answer<orders.OrderCancelled>> {
    return this.serve(call, { write: true, about: ["order_not_found", call.orderId] }, (tx) =>
      orders.cancelOrder(tx, call.orderId, call.shopperId),
    );
  }

  async settlePayment(call: Call & { notice: PaymentNotice }): Promise<Answer<PaymentSettled>> {
    const config = configFrom(this.env);
    const about = ["order_not_found", call.notice.orderId] as const;
    return this.serve(call, { write: true, about }, (tx) =>
      settlePayment(tx, call.notice, {
        latePayments: config.latePayments,
        defaultLimit: config.maxUnitsPerShopper,
        admittedUnits: this.queueEnabled ? (this.queue?.unused(tx.now) ?? 0) : 0,
      }),
    );
  }

  async restock(call: Call & { qty: number; idempotencyKey?: string }): Promise<Answer<Restocked>> {
    const answer = await this.serve(call, { write: true }, (tx) =>
      restock(tx, call.qty, call.idempotencyKey, () => this.view(productRow(tx.sql))),
    );
    if (answer.ok && this.sharded()) await this.shards.poolGrew(call);
    return answer;
  }

  async resolveRefund(
    call: Call & { refundId: string; note: string | null },
  ): Promise<Answer<{ refund: RefundView }>> {
    return this.serve(call, { write: true, about: ["refund_not_found", call.refundId] }, (tx) =>
      resolveRefund(tx, call.refundId, call.note),
    );
  }

  async listDeadLetters(
    call: Call & { after: number; limit: number },
  ): Promise<Answer<{ deadLetters: DeadLetterView[]; nextAfter: number | null }>> {
    return this.serve(call, {}, (tx) => listDeadLetters(tx, call.after, call.limit));
  }

  async retryDeadLetter(
    call: Call & { seq: number },
  ): Promise<Answer<{ deadLetter: DeadLetterView }>> {
    const answer = await this.serve(call, { write: true }, (tx) => retryDeadLetter(tx, call.seq));
    if (answer.ok) this.history?.nudge();
    return answer;
  }

  /** A product after an operator's change, with what the D1 catalogue should now say of it. */
  async updateProduct(
    call: Call & { changes: ProductChanges },
  ): Promise<Answer<{ product: ProductView; catalogue: ReturnType<typeof catalogueEntry> }>> {
    return this.serve(call, { write: true }, (tx) =>
      changeProduct(tx, call.changes, {
        queue: this.queue,
        view: (product) => this.view(product),
        queueSwitched: (enabled) => (this.queueEnabled = enabled),
      }),
    );
  }

  async readMetrics(
    call: Call & { full: boolean },
  ): Promise<Answer<{ metrics: ProductMetricsView }>> {
    const own = await this.serve(call, {}, (tx) =>
      readMetrics(tx, call.full, {
        queue: this.queue,
        queueEnabled: this.queueEnabled,
        rejectedSinceStart: this.rejectedSinceStart,
        productReads: this.productReads,
        historyFailures: this.history?.failing ?? 0,
        live: this.live.counts(),
      }),
    );
    if (!own.ok || !this.sharded()) return own;
    return { ok: true, metrics: await this.shards.readMetrics(call, own.metrics, call.full) };
  }

  /**
   * The product's catalogue entry as this object holds it, for the Worker while D1 cannot be read.
   * Reads no D1 and writes nothing: an object that never opened its product (no row, also after a
   * restart) answers product_not_found, whatever D1 may say.
   */
  // eslint-disable-next-line @typescript-eslint/require-await -- an RPC method answers a promise
  async readCatalogueEntry(call: Call): Promise<Answer<{ entry: CatalogueEntry }>> {
    if (this.productId !== call.productId) {
      return failure("product_not_found", `This object holds no product ${call.productId}.`);
    }
    return { ok: true, entry: catalogueEntry(productRow(this.sql)) };
  }

  /** Join the product's queue: the seq to sign into a ticket, and the frontier to read it by. */
  async joinQueue(
    call: ShopperCall,
  ): Promise<Answer<{ seq: number; created: boolean; frontier: QueueFrontier }>> {
    return this.serve(call, { write: true }, (tx) => joinQueue(tx, this.queue, call.shopperId));
  }

  /** The ticket's shopper leaves the line (the Worker checked the ticket and who sent it). */
  async leaveQueue(
    call: Call & { seq: number; shopperId: string | null },
  ): Promise<Answer<{ frontier: QueueFrontier }>> {
    return this.serve(call, { write: true }, (tx) =>
      leaveQueue(tx, this.queue, call.seq, call.shopperId),
    );
  }

  /** The queue as it stands, for the Worker to answer ticket polls from. */
  async readQueue(call: Call): Promise<Answer<{ frontier: QueueFrontier }>> {
    return this.serve(call, {}, (tx) => readQueue(tx, this.queue));
  }

  // ---- between a coordinator and its shards: thin, the work is in shard-side.ts -------------

  async borrowUnits(call: Call & { from: number; request: BorrowRequest }) {
    return (await this.open(call.productId)) ?? this.shards.lend(call, call.from, call.request);
  }

  async returnUnits(call: Call & { from: number; returns: Transfer[]; report: ShardReport }) {
    return (
      (await this.open(call.productId)) ??
      this.shards.takeBack(call, call.from, call.returns, call.report)
    );
  }

  async recallUnits(call: Call & { keep: number; acknowledged: number }) {
    return (
      (await this.open(call.productId)) ?? this.shards.recall(call, call.keep, call.acknowledged)
    );
  }

  async applyGrants(call: Call & { grants: Transfer[] }) {
    return (await this.open(call.productId)) ?? this.shards.applyGrants(call, call.grants);
  }

  async reportUnits(call: Call) {
    return (await this.open(call.productId)) ?? this.shards.report(call);
  }

  async changeShards(call: Call & { shards: number }): Promise<Answer<{ shards: number }>> {
    return (
      (await this.open(call.productId)) ??
      (await this.shards.changeShards(call, call.shards)) ?? { ok: true, shards: call.shards }
    );
  }

  async pushShardSettings(call: Call): Promise<Answer<{ pushed: true }>> {
    return (
      (await this.open(call.productId)) ??
      (await this.shards.pushSettings(call)) ?? { ok: true, pushed: true }
    );
  }

  /**
   * A relay object (src/live/relay.ts) has its first socket: it gets every change from now on,
   * and the state as it is now for that socket.
   */
  async watchLive(call: Call & { relay: number }): Promise<Answer<{ state: LiveState }>> {
    const missing = await this.open(call.productId);
    if (missing) return missing;
    const state = await this.live.watch(call.relay);
    return state
      ? { ok: true, state }
      : failure("product_not_found", `No product ${call.productId}.`);
  }

  /**
   * The alarm: release what is due, copy order history when its backoff allows, delete a slice of
   * what retention allows, and re-arm for whatever comes next.
   */
  override async alarm(): Promise<void> {
    this.schedule.fired();
    if (this.productId === null) return;
    const call = { productId: this.productId, requestId: "alarm" };
    this.schedule.rescanExpiry(); // whatever this instance believed
    const now = Date.now();
    const retentionMs = configFrom(this.env).retentionMs;
    if (now >= this.schedule.retentionAt) {
      const slice = await this.write(call, (tx) => pruneSlice(tx, retentionMs));
      this.schedule.retentionAt = nextSliceAt(this.sql, retentionMs, now, slice);
    } else {
      this.transact(call, () => null);
    }
    this.schedule.arm();
    this.live.changed();
    await this.history?.onAlarm();
    if (this.shard !== null || this.sharded()) await this.shards.onAlarm(call);
  }

  // ---- internals ----------------------------------------------------------------------------

  /** A coordinator whose stock is (or was) lent to shards: reads and metrics sum them. */
  private sharded(): boolean {
    if (this.shard !== null) return false;
    const product = productRow(this.sql);
    return product.shards > 1 || product.lent > 0;
  }

  private view(product: ProductRow): ProductView {
    return productView(product, configFrom(this.env));
  }

  /** What the relays get per flush: stock as a read answers it, and the queue's frontier. */
  private liveState(): LiveState | null {
    if (this.productId === null) return null;
    const now = Date.now();
    const row = productAsOf(this.sql, productRow(this.sql), now, this.schedule.expiryAt);
    // A sharded product's frame sums its shards, as of their last reports (shard-side.ts).
    const stock = this.sharded() ? shardedFrame(this.sql, configFrom(this.env)) : stockFrame(row);
    return { stock, frontier: this.queue?.frontierView(row, now) ?? null };
  }

  /** This object now holds its product: the history copier and the queue can start. */
  private opened(productId: number): void {
    this.productId = productId;
    this.queue = new ProductQueue(this.sql);
    this.queueEnabled = productRow(this.sql).queue_enabled === 1;
    this.history = new HistoryFlusher({
      state: this.ctx,
      db: () => this.env.DB,
      productId,
      arm: (at) => this.schedule.arm(at),
    });
  }

  /**
   * Make sure this object holds its product, copying the catalogue entry from D1 the first time.
   * Returns a failure when the product does not exist (or the catalogue cannot be read); then
   * nothing has been written.
   */
  private async open(productId: number): Promise<Failure | null> {
    if (this.productId === productId) return null;
    if (this.productId !== null) return failure("product_not_found", `No product ${productId}.`);
    const entry = await fetchCatalogueEntry(this.env.DB, productId);
    if ("ok" in entry) return entry;
    if (this.productId === null) {
      this.ctx.storage.transactionSync(() => {
        migrate(this.sql);
        openProduct(this.sql, entry, this.shard);
      });
      this.opened(productId);
    }
    return null;
  }

  /**
   * Open the product, then run `work` as one synchronous transaction: a write in its place in the
   * group commit, a read at once. A request about one hold, order or refund of a product that does
   * not exist is told that one is unknown; either way nothing has been written.
   */
  private async serve<T>(call: Call, how: How, work: (tx: Tx) => T): Promise<T | Failure> {
    const missing = await this.openAbout(call.productId, how.about);
    if (missing) return missing;
    return how.write ? this.write(call, work) : this.transact(call, work);
  }

  /** Open the product, then `read` with no transaction and nothing written, as of now. */
  private async look<T>(call: Call, about: How["about"], read: (at: Look) => T) {
    const missing = await this.openAbout(call.productId, about);
    return missing ?? read({ sql: this.sql, now: Date.now(), productId: call.productId });
  }

  private async openAbout(productId: number, about: How["about"]): Promise<Failure | null> {
    // A shard that never opened keeps no hold, order or refund: an id naming it is unknown, and
    // answering so creates nothing (an id can name any of 256 shards).
    if (this.shard !== null && this.productId === null && about) {
      const [unknown, id] = about;
      return failure(unknown, `No ${unknown.replace("_not_found", "")} ${id}.`);
    }
    const missing = await this.open(productId);
    if (missing?.code !== "product_not_found" || !about) return missing;
    const [unknown, id] = about;
    return failure(unknown, `No ${unknown.replace("_not_found", "")} ${id}.`);
  }

  /** A request that changes state: one transaction, in its place in the group commit. */
  private write<T>(call: Call, work: (tx: Tx) => T): Promise<T> {
    return this.writes.run(() => this.transact(call, work));
  }

  /**
   * Run `work` as one synchronous transaction after releasing whatever is due, and admit the next
   * in line before it commits. Once it has committed, arm the alarm and copy what it recorded.
   */
  private transact<T>(call: Call, work: (tx: Tx) => T): T {
    const now = Date.now();
    let done: { result: T; recorded: boolean };
    try {
      done = runTransaction(this.scope, call, now, (tx) => {
        if (now >= this.schedule.expiryAt) this.schedule.expiryAt = releaseDue(tx);
        const result = work(tx);
        // A place may have freed (or the rate budget refilled): admit the next in line.
        const queue = this.queueEnabled ? this.queue : null;
        queue?.admit(tx, productRow(tx.sql));
        this.schedule.queueTickAt = queue?.nextTickAt(productRow(tx.sql), now) ?? Infinity;
        return result;
      });
    } catch (error) {
      this.schedule.rescanExpiry(); // what the rolled-back work learnt about deadlines is void
      // ...and so is what the queue changed in memory: read it again from what committed.
      if (this.productId !== null) this.queue = new ProductQueue(this.sql);
      throw error;
    }
    // Whatever closed now (a hold, an order, a key) may be deleted once retention has passed.
    const retentionAt = now + configFrom(this.env).retentionMs;
    this.schedule.retentionAt = Math.min(this.schedule.retentionAt, retentionAt);
    this.schedule.arm(done.recorded ? now + HISTORY_SAFETY_MS : Infinity);
    if (done.recorded) this.history?.nudge();
    this.live.changed();
    return done.result;
  }
}
