import type { CatalogueEntry } from "../contract/catalogue-entry";
import { configFrom } from "../config";
import { failure, type Answer } from "../contract/errors";
import type { QueueFrontier } from "../queue/frontier";
import type {
  DeadLetterView,
  OrderView,
  ProductMetricsView,
  ProductView,
  RefundView,
} from "../contract/shapes";
import { productAsOf } from "./expiry";
import type { LiveState } from "../contract/live";
import type { HoldAdmission } from "./queue";
import { joinQueue, leaveQueue, readQueue } from "./queue-calls";
import * as holds from "./holds";
import * as orders from "./orders";
import * as checkout from "./checkout";
import { changeProduct, listDeadLetters, readMetrics, retryDeadLetter } from "./operator-calls";
import { settlePayment, type PaymentNotice, type PaymentSettled } from "./payments";
import { resolveRefund } from "./refunds";
import { restock, type Restocked } from "./restocks";
import { nextSliceAt, pruneSlice } from "./retention";
import type { ProductChanges } from "./settings";
import { catalogueEntry, productRow } from "./product-row";
import type { Call, ShopperCall } from "./transaction";
import { ProductHolder } from "./product-holder";
import { admissionOnShard, shardEras, type TryHold } from "./shard-side";
import { knownShopper, ownUnitsOf } from "./shoppers";
import type { BorrowRequest } from "./shards";
import type { ShardReport, Transfer } from "../shards/transfer";

/**
 * One object per product: the single writer of that product's stock, holds, orders and webhook
 * keys. Every check-and-write is one synchronous SQLite transaction with no await inside, so
 * concurrent requests are applied one after another and can never oversell. An object for a
 * product that does not exist writes nothing: its schema is only made once the catalogue in D1
 * has confirmed the product. The class only wires its RPC methods and its alarm: each rule is a
 * function over `Tx` beside it, the operators' and the queue's calls are in operator-calls.ts and
 * queue-calls.ts, a coordinator's and its shards' calls in shard-side.ts, and what the object holds
 * and how every call runs (open the product, then one transaction, or a read) in product-holder.ts.
 */
export class ProductObject extends ProductHolder {
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
    const row = productRow(this.sql);
    if (this.sharded(row)) return { ok: true, product: await this.shards.readProduct(call) };
    const product = productAsOf(this.sql, row, Date.now(), this.schedule.expiryAt);
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
    // A product whose number of shards changed: the shopper's units at earlier homes count too.
    const shopperId = call.shopperId;
    if (shopperId !== null && this.shardEras.length > 0) {
      const known = () => knownShopper(this.sql, shopperId);
      const refused = await this.shards.carryShopper(call, shopperId, this.shardEras, known);
      if (refused) return refused;
    }
    const config = configFrom(this.env);
    const queue = this.lineHere;
    const attempt: TryHold = (redeemed = null, then) =>
      this.write(call, (tx) => {
        if (redeemed) this.shards.applyRedeemed(tx, redeemed);
        const answer = holds.createHold(tx, {
          qty: call.qty,
          idempotencyKey: call.idempotencyKey,
          freshKey: call.freshKey,
          shopperId: call.shopperId,
          ttlMs: config.holdTtlMs,
          defaultLimit: config.maxUnitsPerShopper,
          // While the queue is on, a hold takes an unused admission and uses it up (on a shard,
          // the coordinator redeems it for the hold's units: shard-side.ts).
          admission: queue
            ? queue.admissionFor(tx, call.admission, call.shopperId)
            : this.shard !== null && this.queueEnabled
              ? admissionOnShard(tx, call.admission, redeemed)
              : null,
          ...(redeemed ? { holdId: redeemed.holdId } : {}),
        });
        then?.(tx);
        return answer;
      });
    // A shard short of units borrows from its coordinator between two tries (shard-side.ts).
    const result =
      this.shard === null ? await attempt(null) : await this.shards.hold(call, call.qty, attempt);
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
    const attempt = (askForUnits: boolean) =>
      this.serve(call, { write: true, about }, (tx) =>
        settlePayment(tx, call.notice, {
          latePayments: config.latePayments,
          defaultLimit: config.maxUnitsPerShopper,
          // On a shard while the queue is on, every free unit is on its way back to the pool: a
          // late payment borrows its units, and the coordinator keeps back what admissions need.
          admittedUnits:
            this.lineHere?.unused(tx.now) ??
            (this.shard !== null && this.queueEnabled ? Number.MAX_SAFE_INTEGER : 0),
          askForUnits,
        }),
      );
    // A shard short of units for a late payment borrows them and decides again (shard-side.ts).
    return this.shard === null ? attempt(false) : this.shards.settle(call, attempt);
  }

  async restock(call: Call & { qty: number; idempotencyKey?: string }): Promise<Answer<Restocked>> {
    const answer = await this.serve(call, { write: true }, (tx) =>
      restock(tx, call.qty, call.idempotencyKey, () => this.view(productRow(tx.sql))),
    );
    if (!answer.ok || !this.sharded()) return answer;
    await this.shards.poolGrew(call);
    // The product as a read answers it: summed over the pool and the shards.
    return { ...answer, product: await this.shards.readProduct(call) };
  }

  async resolveRefund(
    call: Call & { refundId: string; note: string | null },
  ): Promise<Answer<{ refund: RefundView }>> {
    return this.serve(call, { write: true, about: ["refund_not_found", call.refundId] }, (tx) =>
      resolveRefund(tx, call.refundId, call.note),
    );
  }

  /** A page of the dead letters this object keeps (a shard's own, on a sharded product). */
  async listDeadLetters(
    call: Call & { after: number; limit: number },
  ): Promise<Answer<{ deadLetters: DeadLetterView[]; nextAfter: number | null }>> {
    // A shard that never opened has none, and is not opened to say so.
    if (this.unopenedShard()) return { ok: true, deadLetters: [], nextAfter: null };
    return this.serve(call, {}, (tx) => listDeadLetters(tx, call.after, call.limit));
  }

  async retryDeadLetter(
    call: Call & { seq: number },
  ): Promise<Answer<{ deadLetter: DeadLetterView }>> {
    // Nor any to retry.
    if (this.unopenedShard()) {
      return failure("dead_letter_not_found", `No dead letter ${call.seq}.`);
    }
    const answer = await this.serve(call, { write: true }, (tx) => retryDeadLetter(tx, call.seq));
    if (answer.ok) this.history?.nudge();
    return answer;
  }

  /** A product after an operator's change, with what the D1 catalogue should now say of it. */
  async updateProduct(
    call: Call & { changes: ProductChanges; shardEras?: number[] },
  ): Promise<Answer<{ product: ProductView; catalogue: ReturnType<typeof catalogueEntry> }>> {
    // A shard is told its coordinator's earlier numbers of shards with the settings.
    const eras = this.shard === null ? undefined : call.shardEras;
    return this.serve(call, { write: true }, (tx) => {
      if (eras) {
        tx.sql.exec("UPDATE product SET shard_eras = ?", JSON.stringify(eras));
        this.shardEras = eras;
      }
      return changeProduct(tx, call.changes, {
        // A shard keeps only whether its coordinator's queue is on; the line is not its own.
        queue: this.shard === null ? this.queue : null,
        view: (product) => this.view(product),
        queueSwitched: (enabled) => (this.queueEnabled = enabled),
      });
    });
  }

  async readMetrics(
    call: Call & { full: boolean },
  ): Promise<Answer<{ metrics: ProductMetricsView }>> {
    const own = await this.serve(call, {}, (tx) =>
      readMetrics(tx, call.full, {
        queue: this.queue,
        queueEnabled: this.lineHere !== null,
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
    const missing = await this.open(call.productId);
    if (missing) return missing;
    const refused = await this.shards.changeShards(call, call.shards);
    this.shardEras = shardEras(productRow(this.sql));
    return refused ?? { ok: true, shards: call.shards };
  }

  /** This object's own units of a shopper, for the shopper's new home (ShardSide.carryShopper). */
  // eslint-disable-next-line @typescript-eslint/require-await -- an RPC method answers a promise
  async shopperUnits(call: Call & { shopperId: string }): Promise<Answer<{ units: number }>> {
    // An object that never opened its product keeps no shopper: none of their units are here.
    if (this.productId !== call.productId) return { ok: true, units: 0 };
    return { ok: true, units: ownUnitsOf(this.sql, call.shopperId) };
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
}
