import { DurableObject } from "cloudflare:workers";
import { readCatalogue } from "../catalogue/catalogue";
import { configFrom } from "../config";
import type { Env } from "../env";
import { failure, type Failure } from "../contract/errors";
import { logEvent, type LogFields, type LogLevel } from "../log";
import type { QueueFrontier } from "../queue/frontier";
import type {
  DeadLetterView,
  HoldView,
  OrderView,
  ProductMetricsView,
  ProductView,
  RefundView,
} from "../contract/shapes";
import { earliestDeadline, releaseDue } from "./expiry";
import { GroupCommit } from "./group-commit";
import { appendToOutbox, listDeadLetters, requeueDeadLetter, type DeadLetterRow } from "./history";
import { HistoryFlusher } from "./history-flusher";
import { LiveUpdates, type SocketTicket, type StockFrame } from "./live";
import { ProductQueue } from "./queue";
import * as holds from "./holds";
import { productMetrics } from "./metrics";
import * as orders from "./orders";
import { settlePayment, type PaymentNotice, type PaymentSettled } from "./payments";
import { resolveRefund } from "./refunds";
import { restock, type Restocked } from "./restocks";
import { nextPrunableAt, pruneSlice } from "./retention";
import { migrate, storedSchemaVersion } from "./migrations";
import { updateProduct, type ProductChanges } from "./settings";
import {
  catalogueEntry,
  openProduct,
  productRow,
  productView,
  readProduct,
  type ProductCounters,
  type ProductRow,
} from "./product-row";
import type { HistoryEvent, Tx } from "./tx";

/** A safety net: the alarm comes back this soon after events are recorded, in case the object
 * is evicted while copying them. */
const HISTORY_SAFETY_MS = 5_000;
/** While retention finds more to delete, the next slice runs this soon. */
const RETENTION_NEXT_SLICE_MS = 1_000;
/** When what retention may delete is still waiting for D1, look again this much later. */
const RETENTION_RECHECK_MS = 60_000;

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
export type RefundAnswer = { ok: true; refund: RefundView } | Failure;
export type DeadLettersAnswer =
  { ok: true; deadLetters: DeadLetterView[]; nextAfter: number | null } | Failure;
export type DeadLetterAnswer = { ok: true; deadLetter: DeadLetterView } | Failure;
export type QueueAnswer = { ok: true; frontier: QueueFrontier } | Failure;
export type JoinAnswer =
  { ok: true; seq: number; created: boolean; frontier: QueueFrontier } | Failure;
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
  /** When retention next has something to delete (may be early, never late). */
  private retentionAt = Infinity;
  private history: HistoryFlusher | null = null;
  private queue: ProductQueue | null = null;
  /** Whether the product's queue is on, so holds and writes skip it without a read when not. */
  private queueEnabled = false;
  /** When the queue next needs the alarm (admissions expire, the rate budget refills). */
  private queueTickAt = Infinity;
  private rejectedSinceStart = 0;
  private readonly writes: GroupCommit;
  private readonly live: LiveUpdates;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.writes = new GroupCommit(ctx.storage);
    this.live = new LiveUpdates(ctx, {
      stock: () => this.stockFrame(),
      frontier: () => this.frontier(),
      secret: () => this.env.QUEUE_SECRET,
      queueVersion: () => this.queue?.version ?? 0,
    });
    void ctx.blockConcurrencyWhile(async () => {
      // Only an object that already holds a product has a schema to bring up to date.
      if (storedSchemaVersion(this.sql) > 0) {
        ctx.storage.transactionSync(() => migrate(this.sql));
        const product = readProduct(this.sql) as ProductCounters | undefined;
        if (product) this.opened(product.id);
        this.nextDeadline = earliestDeadline(this.sql);
        this.retentionAt = nextPrunableAt(this.sql, configFrom(env).retentionMs);
        this.alarmAt = await ctx.storage.getAlarm();
        // History an earlier instance left uncopied is picked up by the next alarm.
        if (product?.outbox_backlog) this.arm(Date.now());
      } else {
        this.alarmAt = await ctx.storage.getAlarm();
      }
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
    call: ShopperCall & {
      qty: number;
      idempotencyKey: string;
      freshKey: boolean;
      /** The admission (its signature checked by the Worker) the hold was sent with, if any. */
      admission?: { seq: number; expiresAt: number };
    },
  ): Promise<holds.HoldCreated | holds.HoldRejected | Failure> {
    const missing = await this.open(call.productId);
    if (missing) return missing;
    const config = configFrom(this.env);
    const queue = this.queueEnabled ? this.queue : null;
    const seq = call.admission?.seq;
    const result = await this.write(call, (tx) =>
      holds.createHold(tx, {
        qty: call.qty,
        idempotencyKey: call.idempotencyKey,
        freshKey: call.freshKey,
        shopperId: call.shopperId,
        ttlMs: config.holdTtlMs,
        defaultLimit: config.maxUnitsPerShopper,
        // While the queue is on, a hold takes an unused admission and uses it up.
        admission: queue && {
          check: () =>
            call.admission === undefined
              ? failure(
                  "admission_required",
                  "This product has a queue: join it, and send the admission_token you get.",
                )
              : call.admission.expiresAt <= tx.now
                ? failure(
                    "invalid_admission",
                    `This admission expired at ${new Date(call.admission.expiresAt).toISOString()}; join the queue again.`,
                  )
                : queue.checkAdmission(tx, call.admission.seq),
          heldBack: () => queue.heldBackFor(tx, productRow(tx.sql), seq ?? 0),
          use: (holdId) =>
            queue.useAdmission(tx, productRow(tx.sql), seq ?? 0, holdId, call.shopperId),
        },
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
    const config = configFrom(this.env);
    return (
      (await this.openFor(call.productId, "order_not_found", call.notice.orderId)) ??
      this.write(call, (tx) =>
        settlePayment(tx, call.notice, {
          latePayments: config.latePayments,
          defaultLimit: config.maxUnitsPerShopper,
        }),
      )
    );
  }

  async restock(
    call: Call & { qty: number; idempotencyKey?: string },
  ): Promise<Restocked | Failure> {
    return (
      (await this.open(call.productId)) ??
      this.write(call, (tx) =>
        restock(tx, call.qty, call.idempotencyKey, () => this.view(productRow(tx.sql))),
      )
    );
  }

  async resolveRefund(
    call: Call & { refundId: string; note: string | null },
  ): Promise<RefundAnswer> {
    return (
      (await this.openFor(call.productId, "refund_not_found", call.refundId)) ??
      this.write(call, (tx) => {
        const refund = resolveRefund(tx, call.refundId, call.note);
        return "ok" in refund ? refund : { ok: true, refund };
      })
    );
  }

  async listDeadLetters(call: Call & { after: number; limit: number }): Promise<DeadLettersAnswer> {
    return (
      (await this.open(call.productId)) ??
      this.transact(call, (tx) => {
        const rows = listDeadLetters(tx.sql, call.after, call.limit + 1);
        const page = rows.slice(0, call.limit);
        return {
          ok: true,
          deadLetters: page.map(deadLetterView),
          nextAfter: rows.length > call.limit ? (page.at(-1)?.seq ?? null) : null,
        };
      })
    );
  }

  async retryDeadLetter(call: Call & { seq: number }): Promise<DeadLetterAnswer> {
    const answer =
      (await this.open(call.productId)) ??
      (await this.write(call, (tx): DeadLetterAnswer => {
        const row = requeueDeadLetter(tx.sql, call.seq);
        if (!row) return failure("dead_letter_not_found", `No dead letter ${call.seq}.`);
        tx.log("Dead letter put back in the order history outbox.", {
          product_id: call.productId,
          seq: call.seq,
        });
        return { ok: true, deadLetter: deadLetterView(row) };
      }));
    if (answer.ok) this.history?.nudge();
    return answer;
  }

  async updateProduct(call: Call & { changes: ProductChanges }): Promise<ProductUpdateAnswer> {
    return (
      (await this.open(call.productId)) ??
      this.write(call, (tx) => {
        const product = updateProduct(tx, call.changes);
        if ("ok" in product) return product;
        this.queueEnabled = product.queue_enabled === 1;
        return {
          ok: true as const,
          product: this.view(product),
          catalogue: catalogueEntry(product),
        };
      })
    );
  }

  async readMetrics(call: Call & { full: boolean }): Promise<MetricsAnswer> {
    return (
      (await this.open(call.productId)) ??
      this.transact(call, (tx) => ({
        ok: true,
        metrics: productMetrics(tx.sql, productRow(tx.sql) as ProductCounters, {
          rejectedSinceStart: this.rejectedSinceStart,
          historyFailures: this.history?.failing ?? 0,
          storageBytes: this.sql.databaseSize,
          queue: {
            enabled: this.queueEnabled,
            issued: this.queue?.frontierView(productRow(tx.sql), tx.now).issued ?? 0,
            waiting: this.queue?.waiting() ?? 0,
            admitted_unused: this.queue?.unused() ?? 0,
            frontier: this.queue?.frontierView(productRow(tx.sql), tx.now).frontier ?? 0,
          },
          full: call.full,
        }),
      }))
    );
  }

  /** Join the product's queue: the seq to sign into a ticket, and the frontier to read it by. */
  async joinQueue(call: ShopperCall): Promise<JoinAnswer> {
    const missing = await this.open(call.productId);
    if (missing) return missing;
    return this.write(call, (tx): JoinAnswer => {
      const product = productRow(tx.sql);
      const queue = this.queue;
      if (product.queue_enabled !== 1 || !queue) {
        return failure("queue_disabled", "This product has no queue right now: hold directly.");
      }
      const joined = queue.join(tx, product, call.shopperId);
      return { ok: true, ...joined, frontier: queue.frontierView(productRow(tx.sql), tx.now) };
    });
  }

  /** The queue as it stands, for the Worker to answer ticket polls from. */
  async readQueue(call: Call): Promise<QueueAnswer> {
    return (
      (await this.open(call.productId)) ??
      this.transact(call, (tx): QueueAnswer => {
        const frontier = this.queue?.frontierView(productRow(tx.sql), tx.now);
        return frontier ? { ok: true, frontier } : failure("queue_disabled", "No queue.");
      })
    );
  }

  /** Live updates: the Worker passes an upgrade here once it has checked the ticket, if any. */
  override async fetch(request: Request): Promise<Response> {
    const productId = Number(request.headers.get("x-product-id"));
    const missing = await this.open(productId);
    if (missing) return Response.json(missing, { status: 404 });
    const seq = request.headers.get("x-ticket-seq");
    const ticket: SocketTicket = {
      productId,
      seq: seq === null ? null : Number(seq),
      shopperId: request.headers.get("x-ticket-shopper"),
    };
    return this.live.accept(ticket);
  }

  override webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): void {
    // Clients only listen; a "ping" gets a "pong" so they can tell the line is alive.
    if (message === "ping") socket.send("pong");
  }

  override webSocketClose(socket: WebSocket, code: number): void {
    try {
      socket.close(code === 1005 ? 1000 : code, "closing");
    } catch {
      // already closed
    }
  }

  /**
   * The alarm: release what is due, copy order history when its backoff allows, delete a slice of
   * what retention allows, and re-arm for whatever comes next.
   */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    if (this.productId === null) return;
    const call = { productId: this.productId, requestId: "alarm" };
    this.nextDeadline = 0; // rescan, whatever this instance believed
    const now = Date.now();
    const retentionMs = configFrom(this.env).retentionMs;
    if (now >= this.retentionAt) {
      const slice = await this.write(call, (tx) => pruneSlice(tx, retentionMs));
      const next = slice.more
        ? now + RETENTION_NEXT_SLICE_MS
        : nextPrunableAt(this.sql, retentionMs);
      // Due but still waiting for D1 (or for the history copy): look again a little later.
      this.retentionAt = next <= now ? now + RETENTION_RECHECK_MS : next;
    } else {
      this.transact(call, () => null);
    }
    this.arm(Infinity);
    this.live.changed();
    await this.history?.onAlarm();
  }

  // ---- internals ----------------------------------------------------------------------------

  private view(product: ProductRow): ProductView {
    return productView(product, configFrom(this.env));
  }

  private stockFrame(): StockFrame | null {
    if (this.productId === null) return null;
    const product = productRow(this.sql);
    return {
      type: "stock",
      stock: product.stock,
      reserved: product.reserved,
      available: product.stock - product.reserved,
      sold_out: product.stock === 0 && product.reserved === 0,
    };
  }

  private frontier(): QueueFrontier | null {
    if (this.productId === null || !this.queue) return null;
    return this.queue.frontierView(productRow(this.sql), Date.now());
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
      arm: (at) => this.arm(at),
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
      this.opened(productId);
    }
    return null;
  }

  /**
   * As `open`, for a request about a hold or an order: one of a product that does not exist is
   * itself unknown.
   */
  private async openFor(
    productId: number,
    unknown: "hold_not_found" | "order_not_found" | "refund_not_found",
    id: string,
  ): Promise<Failure | null> {
    const missing = await this.open(productId);
    if (missing?.code !== "product_not_found") return missing;
    return failure(unknown, `No ${unknown.replace("_not_found", "")} ${id}.`);
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
    const logs: [string, LogFields | undefined, LogLevel | undefined][] = [];
    let recorded = false;
    let result: T;
    try {
      result = this.ctx.storage.transactionSync(() => {
        const tx: Tx = {
          sql: this.sql,
          now,
          productId: call.productId,
          log: (message, fields, level) => void logs.push([message, fields, level]),
          record: (event: HistoryEvent) => {
            appendToOutbox(this.sql, event, now);
            recorded = true;
          },
          deadline: (at) => {
            if (at < this.nextDeadline) this.nextDeadline = at;
          },
        };
        if (now >= this.nextDeadline) this.nextDeadline = releaseDue(tx);
        const done = work(tx);
        if (this.queueEnabled && this.queue) {
          // A place may have freed (or the rate budget refilled): admit the next in line.
          const product = productRow(tx.sql);
          this.queue.admit(tx, product);
          this.queueTickAt = this.queue.nextTickAt(productRow(tx.sql), now);
        } else {
          this.queueTickAt = Infinity;
        }
        return done;
      });
    } catch (error) {
      this.nextDeadline = 0; // what the rolled-back work learnt about deadlines is void
      // ...and so is what the queue changed in memory: read it again from what committed.
      if (this.productId !== null) this.queue = new ProductQueue(this.sql);
      throw error;
    }
    for (const [message, fields, level] of logs) {
      logEvent(message, { ...fields, request_id: call.requestId }, level);
    }
    // Whatever closed now (a hold, an order, a key) may be deleted once retention has passed.
    this.retentionAt = Math.min(this.retentionAt, now + configFrom(this.env).retentionMs);
    this.arm(recorded ? now + HISTORY_SAFETY_MS : Infinity);
    if (recorded) this.history?.nudge();
    this.live.changed();
    return result;
  }

  /** Keep one alarm set at the earliest thing that needs doing. Only ever moves it earlier. */
  private arm(otherAt: number): void {
    const at = Math.min(this.nextDeadline, this.retentionAt, this.queueTickAt, otherAt);
    if (at === Infinity || (this.alarmAt !== null && this.alarmAt <= at)) return;
    this.alarmAt = at;
    this.ctx.storage.setAlarm(at).catch(() => (this.alarmAt = null));
  }
}

function deadLetterView(row: DeadLetterRow): DeadLetterView {
  const payload = JSON.parse(row.payload) as HistoryEvent;
  return {
    seq: row.seq,
    event: payload.event,
    order_id: "refund" in payload ? payload.refund.order_id : payload.order.order_id,
    attempts: row.attempts,
    error: row.error,
    queued_at: new Date(row.appended_at).toISOString(),
    failed_at: new Date(row.failed_at).toISOString(),
    payload: payload as unknown as Record<string, unknown>,
  };
}
