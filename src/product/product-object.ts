import { DurableObject } from "cloudflare:workers";
import { readCatalogue } from "../catalogue";
import { configFrom } from "../config";
import type { Env } from "../env";
import { failure, type Failure } from "../errors";
import { logEvent, type LogFields } from "../log";
import type { HoldView, OrderView, ProductMetricsView, ProductView } from "../schemas";
import { earliestDeadline, releaseDue } from "./expiry";
import { GroupCommit } from "./group-commit";
import { appendToOutbox, flushOutbox, outboxBacklog } from "./history";
import * as holds from "./holds";
import { productMetrics } from "./metrics";
import * as orders from "./orders";
import { settlePayment, type PaymentNotice, type PaymentSettled } from "./payments";
import { migrate, storedSchemaVersion } from "./schema";
import { updateProduct, type ProductChanges } from "./settings";
import {
  catalogueEntry,
  openProduct,
  productRow,
  productView,
  readProduct,
  restock,
  type ProductRow,
} from "./stock";
import type { Tx } from "./tx";

/** How soon an alarm retries writing order history to D1 when nothing else is due earlier. */
const HISTORY_RETRY_MS = 5_000;
const HISTORY_RETRY_MAX_MS = 60_000;

/** What every call names: the product it is about and the request it serves (for the logs). */
export interface Call {
  productId: number;
  requestId: string;
}

/** Who is shopping; null for an anonymous shopper (local use only). */
export interface ShopperCall extends Call {
  shopperId: string | null;
}

export type ProductAnswer = { ok: true; product: ProductView } | Failure;
export type HoldAnswer = { ok: true; hold: HoldView; freed: number } | Failure;
export type OrderAnswer = { ok: true; order: OrderView } | Failure;
export type OrderCancelAnswer = { ok: true; order: OrderView; freed: number } | Failure;
export type MetricsAnswer = { ok: true; metrics: ProductMetricsView } | Failure;
/** A product after an operator's change, with what the D1 catalogue should now say of it. */
export type ProductUpdateAnswer =
  { ok: true; product: ProductView; catalogue: ReturnType<typeof catalogueEntry> } | Failure;

/**
 * One object per product: the single writer of that product's stock, holds, orders and webhook
 * keys. Every check-and-write is one synchronous SQLite transaction with no await inside, so
 * concurrent requests are applied one after another and can never oversell. An object for a
 * product that does not exist writes nothing: its schema is only made once the catalogue in D1
 * has confirmed the product.
 */
export class ProductObject extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** The product this object owns, once its row exists. */
  private productId: number | null = null;
  /** Earliest deadline among active holds and pending orders (may be early, never late). */
  private nextDeadline = Infinity;
  /** When the storage alarm is set for, as far as this instance knows. */
  private alarmAt: number | null = null;
  private flushing: Promise<void> | null = null;
  private flushAgain = false;
  private historyFailures = 0;
  private rejectedSinceStart = 0;
  private readonly writes: GroupCommit;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.writes = new GroupCommit(ctx.storage);
    void ctx.blockConcurrencyWhile(async () => {
      // Only an object that already holds a product has a schema to bring up to date.
      if (storedSchemaVersion(this.sql) > 0) {
        ctx.storage.transactionSync(() => migrate(this.sql));
        this.productId = readProduct(this.sql)?.id ?? null;
        this.nextDeadline = earliestDeadline(this.sql);
      }
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  // ---- RPC methods, called by the Worker -------------------------------------------------

  async readProduct(call: Call): Promise<ProductAnswer> {
    return (
      (await this.open(call.productId)) ??
      this.transact(call, (tx) => ({ ok: true, product: this.view(productRow(tx.sql)) }))
    );
  }

  async createHold(
    call: ShopperCall & { qty: number; idempotencyKey: string; freshKey: boolean },
  ): Promise<holds.HoldCreated | holds.HoldRejected | Failure> {
    const missing = await this.open(call.productId);
    if (missing) return missing;
    const config = configFrom(this.env);
    const result = await this.write(call, (tx) =>
      holds.createHold(tx, {
        qty: call.qty,
        idempotencyKey: call.idempotencyKey,
        freshKey: call.freshKey,
        shopperId: call.shopperId,
        ttlMs: config.holdTtlMs,
        defaultLimit: config.maxUnitsPerShopper,
      }),
    );
    if (!result.ok && result.code === "insufficient_stock") this.rejectedSinceStart++;
    return result;
  }

  async releaseHold(call: ShopperCall & { holdId: string }): Promise<HoldAnswer> {
    return (
      (await this.openFor(call.productId, "hold_not_found", call.holdId)) ??
      this.write(call, (tx) => holds.releaseHold(tx, call.holdId, call.shopperId))
    );
  }

  async createOrder(call: ShopperCall & { holdId: string }): Promise<orders.OrderResult | Failure> {
    return (
      (await this.openFor(call.productId, "hold_not_found", call.holdId)) ??
      this.write(call, (tx) =>
        orders.createOrder(tx, call.holdId, call.shopperId, configFrom(this.env).paymentTtlMs),
      )
    );
  }

  async readOrder(
    call: Call & { orderId: string; viewer: orders.OrderViewer },
  ): Promise<OrderAnswer> {
    return (
      (await this.openFor(call.productId, "order_not_found", call.orderId)) ??
      this.transact(call, (tx) => {
        const order = orders.readOrder(tx, call.orderId, call.viewer);
        return "ok" in order ? order : { ok: true, order };
      })
    );
  }

  async cancelOrder(call: ShopperCall & { orderId: string }): Promise<OrderCancelAnswer> {
    return (
      (await this.openFor(call.productId, "order_not_found", call.orderId)) ??
      this.write(call, (tx) => orders.cancelOrder(tx, call.orderId, call.shopperId))
    );
  }

  async settlePayment(call: Call & { notice: PaymentNotice }): Promise<PaymentSettled | Failure> {
    return (
      (await this.openFor(call.productId, "order_not_found", call.notice.orderId)) ??
      this.write(call, (tx) => settlePayment(tx, call.notice))
    );
  }

  async restock(call: Call & { qty: number }): Promise<ProductAnswer> {
    return (
      (await this.open(call.productId)) ??
      this.write(call, (tx) => {
        restock(tx.sql, call.qty);
        tx.log("Product restocked.", { product_id: call.productId, qty: call.qty });
        return { ok: true as const, product: this.view(productRow(tx.sql)) };
      })
    );
  }

  async updateProduct(call: Call & { changes: ProductChanges }): Promise<ProductUpdateAnswer> {
    return (
      (await this.open(call.productId)) ??
      this.write(call, (tx) => {
        const product = updateProduct(tx, call.changes);
        if ("ok" in product) return product;
        return {
          ok: true as const,
          product: this.view(product),
          catalogue: catalogueEntry(product),
        };
      })
    );
  }

  async readMetrics(call: Call): Promise<MetricsAnswer> {
    return (
      (await this.open(call.productId)) ??
      this.transact(call, (tx) => ({
        ok: true,
        metrics: productMetrics(tx.sql, productRow(tx.sql), this.rejectedSinceStart),
      }))
    );
  }

  /** The alarm: release what is due, retry order history, and re-arm for the next deadline. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    if (this.productId === null) return;
    this.nextDeadline = 0; // rescan, whatever this instance believed
    this.transact({ productId: this.productId, requestId: "alarm" }, () => null);
    await this.flushHistory();
  }

  // ---- internals ----------------------------------------------------------------------------

  private view(product: ProductRow): ProductView {
    return productView(product, configFrom(this.env).maxUnitsPerShopper);
  }

  /**
   * Make sure this object holds its product, copying the catalogue entry from D1 the first time.
   * Returns a failure when the product does not exist (or the catalogue cannot be read); then
   * nothing has been written.
   */
  private async open(productId: number): Promise<Failure | null> {
    if (this.productId === productId) return null;
    if (this.productId !== null) return failure("product_not_found", `No product ${productId}.`);
    let entry;
    try {
      entry = await readCatalogue(this.env.DB, productId);
    } catch (error) {
      logEvent(
        "Product catalogue unavailable.",
        { product_id: productId, error: String(error) },
        "error",
      );
      return failure(
        "service_unavailable",
        "The product catalogue cannot be read right now; retry shortly.",
      );
    }
    if (!entry) return failure("product_not_found", `No product ${productId}.`);
    if (this.productId === null) {
      this.ctx.storage.transactionSync(() => {
        migrate(this.sql);
        openProduct(this.sql, entry);
      });
      this.productId = productId;
    }
    return null;
  }

  /**
   * As `open`, for a request about a hold or an order: one of a product that does not exist is
   * itself unknown.
   */
  private async openFor(
    productId: number,
    unknown: "hold_not_found" | "order_not_found",
    id: string,
  ): Promise<Failure | null> {
    const missing = await this.open(productId);
    if (missing?.code !== "product_not_found") return missing;
    return failure(unknown, `No ${unknown === "hold_not_found" ? "hold" : "order"} ${id}.`);
  }

  /** A request that changes state: one transaction, in its place in the group commit. */
  private write<T>(call: Call, work: (tx: Tx) => T): Promise<T> {
    return this.writes.run(() => this.transact(call, work));
  }

  /**
   * Run `work` as one synchronous transaction after releasing whatever is due. Log lines and
   * history are only let out once it has committed; a throw rolls everything back.
   */
  private transact<T>(call: Call, work: (tx: Tx) => T): T {
    const now = Date.now();
    const logs: [string, LogFields | undefined][] = [];
    let recorded = false;
    let result: T;
    try {
      result = this.ctx.storage.transactionSync(() => {
        const tx: Tx = {
          sql: this.sql,
          now,
          productId: call.productId,
          log: (message, fields) => void logs.push([message, fields]),
          record: (event) => {
            appendToOutbox(this.sql, event);
            recorded = true;
          },
          deadline: (at) => {
            if (at < this.nextDeadline) this.nextDeadline = at;
          },
        };
        if (now >= this.nextDeadline) this.nextDeadline = releaseDue(tx);
        return work(tx);
      });
    } catch (error) {
      this.nextDeadline = 0; // what the rolled-back work learnt about deadlines is void
      throw error;
    }
    for (const [message, fields] of logs) {
      logEvent(message, { ...fields, request_id: call.requestId });
    }
    this.arm(recorded ? now + HISTORY_RETRY_MS : Infinity);
    if (recorded) void this.flushHistory();
    return result;
  }

  /** Keep one alarm set at the earliest thing that needs doing. Only ever moves it earlier. */
  private arm(historyRetryAt: number): void {
    const at = Math.min(this.nextDeadline, historyRetryAt);
    if (at === Infinity || (this.alarmAt !== null && this.alarmAt <= at)) return;
    this.alarmAt = at;
    this.ctx.storage.setAlarm(at).catch(() => (this.alarmAt = null));
  }

  /** Copy the outbox to D1; one copy runs at a time, and a failure is retried by the alarm. */
  private flushHistory(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    const productId = this.productId;
    if (productId === null) return Promise.resolve();
    this.flushing = (async () => {
      do {
        this.flushAgain = false;
        try {
          await flushOutbox(this.sql, this.env.DB, productId);
          this.historyFailures = 0;
        } catch (error) {
          this.historyFailures++;
          const delay = Math.min(
            HISTORY_RETRY_MAX_MS,
            HISTORY_RETRY_MS * 2 ** (this.historyFailures - 1),
          );
          logEvent(
            "Order history write to D1 failed, will retry.",
            {
              product_id: productId,
              backlog: outboxBacklog(this.sql),
              retry_in_ms: delay,
              error: String(error),
            },
            "warn",
          );
          this.arm(Date.now() + delay);
          return;
        }
      } while (this.flushAgain);
    })().finally(() => (this.flushing = null));
    this.ctx.waitUntil(this.flushing);
    return this.flushing;
  }
}
