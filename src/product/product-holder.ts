import { DurableObject } from "cloudflare:workers";
import { configFrom } from "../config";
import type { Env } from "../env";
import { failure, type Failure } from "../contract/errors";
import type { ProductView } from "../contract/shapes";
import { AlarmSchedule } from "./alarm-schedule";
import { earliestDeadline, productAsOf, releaseDue } from "./expiry";
import { GroupCommit } from "./group-commit";
import { HistoryFlusher } from "./history-flusher";
import { LiveFanout, stockFrame } from "./live";
import type { LiveState } from "../contract/live";
import { ProductQueue } from "./queue";
import { nextPrunableAt } from "./retention";
import { migrate, storedSchemaVersion } from "./migrations";
import {
  fetchCatalogueEntry,
  findProductRow,
  openProduct,
  productRow,
  productView,
  type ProductCounters,
  type ProductRow,
} from "./product-row";
import { runTransaction, type Call, type TransactionScope } from "./transaction";
import type { Look, Tx } from "./tx";
import { ShardSide, shardEras } from "./shard-side";
import { shardedFrame } from "./shard-views";
import { shardOfName } from "./shards";

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
 * What a product's object holds and how it runs a call: it opens its product (copying the
 * catalogue entry from D1 the first time), keeps the alarm schedule, the queue, the history copier
 * and the live fan-out, and runs every call as one synchronous transaction (`serve`, `write`,
 * `transact`) or as a read with no transaction (`look`). ProductObject adds the RPC methods.
 */
export abstract class ProductHolder extends DurableObject<Env> {
  protected readonly sql: SqlStorage;
  /** The product this object owns, once its row exists. */
  protected productId: number | null = null;
  protected readonly schedule: AlarmSchedule;
  protected history: HistoryFlusher | null = null;
  protected queue: ProductQueue | null = null;
  /**
   * Whether the product's queue is on, so holds and writes skip it without a read when not. A
   * shard keeps it as its coordinator last told it: the line itself runs on the coordinator.
   */
  protected queueEnabled = false;
  protected rejectedSinceStart = 0;
  /** Product reads served since the object started (the bench counts object calls per read). */
  protected productReads = 0;
  protected readonly writes: GroupCommit;
  protected readonly scope: TransactionScope;
  protected readonly live: LiveFanout;
  /** The numbers of shards the product had before (shoppers' earlier homes), usually none. */
  protected shardEras: number[] = [];
  /** Null: the product's own object (its coordinator); k: shard k, named `<product>:<k>`. */
  protected readonly shard: number | null;
  /** The calls between a coordinator and its shards (docs/sharding.md). */
  protected readonly shards: ShardSide;

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
      queued: () => this.queueEnabled,
      queueGate: (tx) => {
        const queue = this.lineHere;
        return (
          queue && {
            unused: queue.unused(tx.now),
            admissionFor: (admission, shopperId) => queue.admissionFor(tx, admission, shopperId),
          }
        );
      },
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

  // ---- internals ----------------------------------------------------------------------------

  /** The product's line, when this object runs it: the queue is on and this is no shard. */
  protected get lineHere(): ProductQueue | null {
    return this.queueEnabled && this.shard === null ? this.queue : null;
  }

  /** A coordinator whose stock is (or was) lent to shards: reads and metrics sum them. */
  protected sharded(product: ProductRow = productRow(this.sql)): boolean {
    return this.shard === null && (product.shards > 1 || product.lent > 0);
  }

  protected view(product: ProductRow): ProductView {
    return productView(product, configFrom(this.env));
  }

  /** What the relays get per flush: stock as a read answers it, and the queue's frontier. */
  protected liveState(): LiveState | null {
    if (this.productId === null) return null;
    const now = Date.now();
    const row = productAsOf(this.sql, productRow(this.sql), now, this.schedule.expiryAt);
    // A sharded product's frame sums its shards, as of their last reports (shard-side.ts).
    const stock = this.sharded(row)
      ? shardedFrame(this.sql, configFrom(this.env))
      : stockFrame(row);
    return { stock, frontier: this.queue?.frontierView(row, now) ?? null };
  }

  /** This object now holds its product: the history copier and the queue can start. */
  protected opened(productId: number): void {
    this.productId = productId;
    this.queue = new ProductQueue(this.sql);
    this.queueEnabled = productRow(this.sql).queue_enabled === 1;
    this.shardEras = shardEras(productRow(this.sql));
    this.history = new HistoryFlusher({
      state: this.ctx,
      db: () => this.env.DB,
      productId,
      shard: this.shard,
      arm: (at) => this.schedule.arm(at),
    });
  }

  /**
   * Make sure this object holds its product, copying the catalogue entry from D1 the first time.
   * Returns a failure when the product does not exist (or the catalogue cannot be read); then
   * nothing has been written.
   */
  protected async open(productId: number): Promise<Failure | null> {
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
  protected async serve<T>(call: Call, how: How, work: (tx: Tx) => T): Promise<T | Failure> {
    const missing = await this.openAbout(call.productId, how.about);
    if (missing) return missing;
    return how.write ? this.write(call, work) : this.transact(call, work);
  }

  /** Open the product, then `read` with no transaction and nothing written, as of now. */
  protected async look<T>(call: Call, about: How["about"], read: (at: Look) => T) {
    const missing = await this.openAbout(call.productId, about);
    return missing ?? read({ sql: this.sql, now: Date.now(), productId: call.productId });
  }

  /**
   * A shard that never opened its product: it keeps no rows at all, not even a schema, so whatever
   * it is asked about (a hold, an order, a refund, a dead letter) it does not have. It answers so
   * without opening, which would create its storage: an operator or an id can name any of 256
   * shards, and asking must not make one.
   */
  protected unopenedShard(): boolean {
    return this.shard !== null && this.productId === null;
  }

  protected async openAbout(productId: number, about: How["about"]): Promise<Failure | null> {
    if (!about) return this.open(productId);
    // An id naming a shard that never opened is unknown, and answering so creates nothing.
    const unopenedShard = this.unopenedShard();
    const missing = unopenedShard ? null : await this.open(productId);
    if (!unopenedShard && missing?.code !== "product_not_found") return missing;
    const [unknown, id] = about;
    return failure(unknown, `No ${unknown.replace("_not_found", "")} ${id}.`);
  }

  /** A request that changes state: one transaction, in its place in the group commit. */
  protected write<T>(call: Call, work: (tx: Tx) => T): Promise<T> {
    return this.writes.run(() => this.transact(call, work));
  }

  /**
   * Run `work` as one synchronous transaction after releasing whatever is due, and admit the next
   * in line before it commits. Once it has committed, arm the alarm and copy what it recorded.
   */
  protected transact<T>(call: Call, work: (tx: Tx) => T): T {
    const now = Date.now();
    let done: { result: T; recorded: boolean };
    try {
      done = runTransaction(this.scope, call, now, (tx) => {
        if (now >= this.schedule.expiryAt) this.schedule.expiryAt = releaseDue(tx);
        const result = work(tx);
        // A place may have freed (or the rate budget refilled): admit the next in line.
        const queue = this.lineHere;
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
    if (this.shard !== null) this.shards.afterWrite(() => productRow(this.sql));
    return done.result;
  }
}
