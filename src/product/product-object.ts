import { DurableObject } from "cloudflare:workers";
import { configFrom } from "../config";
import type { Env } from "../env";
import { failure, type Failure } from "../errors";
import { logEvent, type LogFields } from "../log";
import type { ProductMetricsView, ProductView } from "../schemas";
import { earliestDeadline, releaseDue } from "./expiry";
import { GroupCommit } from "./group-commit";
import { appendToOutbox, flushOutbox, outboxBacklog } from "./history";
import { createHold, type HoldCreated, type HoldRejected } from "./holds";
import { productMetrics } from "./metrics";
import { createOrder, findOrder, orderView, type OrderResult } from "./orders";
import { settlePayment, type PaymentNotice, type PaymentSettled } from "./payments";
import { SCHEMA } from "./schema";
import { openProduct, productView, readProduct, restock, type Catalogue } from "./stock";
import type { Tx } from "./tx";

/** How soon an alarm retries writing order history to D1 when nothing else is due earlier. */
const HISTORY_RETRY_MS = 5_000;
const HISTORY_RETRY_MAX_MS = 60_000;

export type ProductAnswer = { ok: true; product: ProductView } | Failure;
export type OrderAnswer = { ok: true; order: OrderResult["order"] } | Failure;
export type MetricsAnswer = { ok: true; metrics: ProductMetricsView } | Failure;

/**
 * One object per product: the single writer of that product's stock, holds, orders and webhook
 * keys. Every check-and-write is one synchronous SQLite transaction with no await inside, so
 * concurrent requests are applied one after another and can never oversell.
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
      this.sql.exec(SCHEMA);
      this.productId = readProduct(this.sql)?.id ?? null;
      this.nextDeadline = earliestDeadline(this.sql);
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  // ---- RPC methods, called by the Worker -------------------------------------------------

  async product(productId: number): Promise<ProductAnswer> {
    return (
      (await this.open(productId)) ??
      this.transact(productId, (tx) => ({ ok: true, product: productView(readProduct(tx.sql)!) }))
    );
  }

  async hold(
    productId: number,
    qty: number,
    idempotencyKey: string,
    freshKey = false,
  ): Promise<HoldCreated | HoldRejected | Failure> {
    const missing = await this.open(productId);
    if (missing) return missing;
    const result = await this.write(productId, (tx) =>
      createHold(tx, qty, idempotencyKey, freshKey, configFrom(this.env).holdTtlMs),
    );
    if (!result.ok && result.code === "insufficient_stock") this.rejectedSinceStart++;
    return result;
  }

  async order(productId: number, holdId: string): Promise<OrderResult | Failure> {
    return (
      (await this.open(productId)) ??
      this.write(productId, (tx) => createOrder(tx, holdId, configFrom(this.env).paymentTtlMs))
    );
  }

  async readOrder(productId: number, orderId: string): Promise<OrderAnswer> {
    const missing = await this.openForOrder(productId, orderId);
    if (missing) return missing;
    return this.transact(productId, (tx) => {
      const order = findOrder(tx, orderId);
      return order
        ? { ok: true, order: orderView(productId, order) }
        : failure("order_not_found", `No order ${orderId}.`);
    });
  }

  async payment(productId: number, notice: PaymentNotice): Promise<PaymentSettled | Failure> {
    return (
      (await this.openForOrder(productId, notice.orderId)) ??
      this.write(productId, (tx) => settlePayment(tx, notice))
    );
  }

  async restock(productId: number, qty: number): Promise<ProductAnswer> {
    return (
      (await this.open(productId)) ??
      this.write(productId, (tx) => {
        restock(tx.sql, qty);
        tx.log("Product restocked.", { product_id: productId, qty });
        return { ok: true as const, product: productView(readProduct(tx.sql)!) };
      })
    );
  }

  async metrics(productId: number): Promise<MetricsAnswer> {
    return (
      (await this.open(productId)) ??
      this.transact(productId, (tx) => ({
        ok: true,
        metrics: productMetrics(tx.sql, readProduct(tx.sql)!, this.rejectedSinceStart),
      }))
    );
  }

  /** The alarm: release what is due, retry order history, and re-arm for the next deadline. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    if (this.productId === null) return;
    this.nextDeadline = 0; // rescan, whatever this instance believed
    this.transact(this.productId, () => null);
    await this.flushHistory();
  }

  // ---- internals ----------------------------------------------------------------------------

  /**
   * Make sure this object holds its product, copying the catalogue entry from D1 the first time.
   * Returns a failure when the product does not exist (or the catalogue cannot be read).
   */
  private async open(productId: number): Promise<Failure | null> {
    if (this.productId === productId) return null;
    if (this.productId !== null) return failure("product_not_found", `No product ${productId}.`);
    let entry: Catalogue | null;
    try {
      entry = await this.env.DB.prepare(
        "SELECT id, name, price_cents, currency, initial_stock FROM products WHERE id = ?",
      )
        .bind(productId)
        .first<Catalogue>();
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
      this.ctx.storage.transactionSync(() => openProduct(this.sql, entry));
      this.productId = productId;
    }
    return null;
  }

  /** As `open`, for a request about an order: an order of a product that does not exist is unknown. */
  private async openForOrder(productId: number, orderId: string): Promise<Failure | null> {
    const missing = await this.open(productId);
    return missing?.code === "product_not_found"
      ? failure("order_not_found", `No order ${orderId}.`)
      : missing;
  }

  /** A request that changes state: one transaction, in its place in the group commit. */
  private write<T>(productId: number, work: (tx: Tx) => T): Promise<T> {
    return this.writes.run(() => this.transact(productId, work));
  }

  /**
   * Run `work` as one synchronous transaction after releasing whatever is due. Log lines and
   * history are only let out once it has committed; a throw rolls everything back.
   */
  private transact<T>(productId: number, work: (tx: Tx) => T): T {
    const now = Date.now();
    const logs: [string, LogFields | undefined][] = [];
    let recorded = false;
    let result: T;
    try {
      result = this.ctx.storage.transactionSync(() => {
        const tx: Tx = {
          sql: this.sql,
          now,
          productId,
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
    for (const [message, fields] of logs) logEvent(message, fields);
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
    const productId = this.productId!;
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
