/**
 * A reference model of one product, as the README and the issue describe it: pure data and plain
 * rules, no Workers, no SQL. The runner (runner.ts) sends each command to the real Worker and
 * object, asks the model what the answer must be, and compares; after every step it compares the
 * counters too. Everything the object keeps as a counter is derived here from the rows (reserved
 * from active holds and pending orders, sold from paid orders...), so a counter that drifts from
 * its rows in the object cannot drift the same way here.
 *
 * Time is the model's `now`: it only moves when a command moves the clock, and every deadline
 * that has passed is applied at once (the object releases what is due before anything it does,
 * and the runner always reads the product right after moving the clock, so the object applies
 * them at that same instant).
 */

export const HOLD_TTL_MS = 120_000; // HOLD_TTL_SECONDS
export const PAYMENT_TTL_MS = 900_000; // PAYMENT_TTL_SECONDS
export const RETENTION_MS = 30 * 86_400_000; // RETENTION_DAYS
/** How long a deleted order's tombstone is kept (src/product/retention.ts). */
const TOMBSTONE_MS = 400 * 86_400_000;
export const DEFAULT_LIMIT = 2; // MAX_UNITS_PER_SHOPPER
export const CURRENCY = "EUR"; // newProduct's currency

/** null: an anonymous shopper (the test pool allows them; they are not limited). */
export type Shopper = string | null;
export type LatePolicy = "refund" | "accept_if_available";
export type HoldStatus = "active" | "ordered" | "expired" | "released";
export type OrderStatus = "pending" | "paid" | "failed" | "cancelled";
export type RefundReason = "late_payment" | "double_charge" | "amount_mismatch";

export interface ProductSetup {
  stock: number;
  priceCents: number;
  /** The product's own per-shopper limit; null: MAX_UNITS_PER_SHOPPER. */
  limit: number | null;
  /** The product's own late-payment policy; null: LATE_PAYMENTS ("refund"). */
  latePayments: LatePolicy | null;
}

export interface ModelHold {
  /** The real id, known once the object made the hold. */
  id: string;
  qty: number;
  shopper: Shopper;
  status: HoldStatus;
  expiresAt: number;
  priceCents: number;
  /** The client's Idempotency-Key, if it sent one. */
  key: string | null;
  orderId: string | null;
  /** Deleted by retention: the object no longer knows it. */
  deleted: boolean;
}

export interface ModelOrder {
  id: string;
  holdId: string;
  qty: number;
  shopper: Shopper;
  amountCents: number;
  status: OrderStatus;
  createdAt: number;
  payBy: number;
  updatedAt: number;
  /** What the order shows as its payment id: the last webhook that changed it and named one. */
  paymentId: string | null;
  /**
   * The payment that actually paid the order, if it named one. Only a payment that was taken can
   * be "the same payment" again; a failed attempt's id took no money (see decide()).
   */
  paidWith: string | null;
  paidLate: boolean;
  needsRefund: boolean;
  deleted: boolean;
  /** Deleted, and past the tombstone's time too: nothing of it is left. */
  forgotten?: boolean;
}

export interface ModelRefund {
  orderId: string;
  reason: RefundReason;
  paymentId: string | null;
  amountCents: number;
  currency: string;
}

/** A payment webhook as sent (the runner signs it). */
export interface Notice {
  key: string;
  orderId: string;
  status: "success" | "failure";
  amountCents?: number;
  currency?: string;
  paymentId?: string;
}

export interface WebhookAnswer {
  order_id: string;
  order_status: OrderStatus;
  duplicate: boolean;
  ignored?: true;
  reason?: "amount_mismatch" | "double_charge";
  paid_late?: true;
}

/** The part of a product view a restock answers with (and replays). */
export interface StockView {
  stock: number;
  reserved: number;
  available: number;
}

/** What an answer must be: an error code, or a JSON body compared whole. */
export type Expected =
  | { status: number; code: string }
  | {
      status: number;
      body: Record<string, unknown>;
      /**
       * The fields compared (default: the body's own). A field the API adds later is not this
       * test's business; a field of these that is there and should not be (`ignored`) is.
       */
      fields?: readonly string[];
      /** Idempotent-Replayed: true is expected (holds and restocks with a key seen before). */
      replayed?: boolean;
    };

const HOLD_FIELDS = ["hold_id", "product_id", "qty", "status", "expires_at", "shopper_id"];
const ORDER_FIELDS = [
  "order_id",
  "hold_id",
  "product_id",
  "qty",
  "status",
  "amount_cents",
  "currency",
  "created_at",
  "pay_by",
  "updated_at",
  "payment_id",
  "paid_late",
  "shopper_id",
];
const WEBHOOK_FIELDS = ["order_id", "order_status", "duplicate", "ignored", "reason", "paid_late"];

export const fail = (status: number, code: string): Expected => ({ status, code });

const iso = (ms: number) => new Date(ms).toISOString();

export class ProductModel {
  readonly productId: number;
  /** The price new holds are made at; a hold keeps its own. */
  priceCents: number;
  readonly initialStock: number;
  now: number;
  limitSetting: number | null;
  lateSetting: LatePolicy | null;

  readonly holds: ModelHold[] = [];
  readonly orders: ModelOrder[] = [];
  readonly refunds: ModelRefund[] = [];
  readonly restocks: number[] = [];
  /** Webhook keys the object still remembers, with the first answer each gave. */
  readonly webhookKeys = new Map<string, { notice: Notice; answer: WebhookAnswer; at: number }>();
  /** Restock keys the object still remembers. */
  readonly restockKeys = new Map<string, { qty: number; answer: StockView; at: number }>();
  readonly webhooks = { processed: 0, ignored: 0, duplicates: 0 };

  /** Whether the object's D1 is the failing stand-in. */
  d1Down = false;
  /**
   * When the oldest history event D1 does not have yet was recorded (null: D1 has everything, or
   * will as soon as the copy in flight lands). Only ever set while D1 is down: the runner waits
   * for the outbox to empty before it takes D1 away. Retention deletes nothing changed since.
   */
  uncopiedSince: number | null = null;
  /** History events recorded while D1 was down: the outbox backlog then. */
  backlog = 0;

  constructor(productId: number, setup: ProductSetup, now: number) {
    this.productId = productId;
    this.priceCents = setup.priceCents;
    this.initialStock = setup.stock;
    this.limitSetting = setup.limit;
    this.lateSetting = setup.latePayments;
    this.now = now;
  }

  // ---- derived figures -------------------------------------------------------------------------

  get limit(): number {
    return this.limitSetting ?? DEFAULT_LIMIT;
  }

  get latePayments(): LatePolicy {
    return this.lateSetting ?? "refund";
  }

  get sold(): number {
    return sum(this.orders.filter((o) => o.status === "paid").map((o) => o.qty));
  }

  get restocked(): number {
    return sum(this.restocks);
  }

  get stock(): number {
    return this.initialStock + this.restocked - this.sold;
  }

  get reserved(): number {
    return (
      sum(this.holds.filter((h) => h.status === "active").map((h) => h.qty)) +
      sum(this.orders.filter((o) => o.status === "pending").map((o) => o.qty))
    );
  }

  get available(): number {
    return this.stock - this.reserved;
  }

  stockView(): StockView {
    return { stock: this.stock, reserved: this.reserved, available: this.available };
  }

  /** A shopper's units: active holds, pending and paid orders (paid ones even once deleted). */
  unitsOf(shopper: string): number {
    return (
      sum(
        this.holds.filter((h) => h.shopper === shopper && h.status === "active").map((h) => h.qty),
      ) +
      sum(
        this.orders
          .filter((o) => o.shopper === shopper && (o.status === "pending" || o.status === "paid"))
          .map((o) => o.qty),
      )
    );
  }

  /** Counters as metrics show them: every row ever, by its status now (deleted rows included). */
  holdCounts(): Record<HoldStatus, number> {
    return countBy(this.holds, (h) => h.status, ["active", "ordered", "expired", "released"]);
  }

  orderCounts(): Record<OrderStatus, number> {
    return countBy(this.orders, (o) => o.status, ["pending", "paid", "failed", "cancelled"]);
  }

  /** The rows the object's SQLite should hold right now. */
  rowCounts() {
    return {
      holds: this.holds.filter((h) => !h.deleted).length,
      orders: this.orders.filter((o) => !o.deleted).length,
      webhook_keys: this.webhookKeys.size,
      restock_keys: this.restockKeys.size,
      refunds: this.refunds.length,
    };
  }

  liveHold(id: string): ModelHold | undefined {
    return this.holds.find((h) => h.id === id && !h.deleted);
  }

  liveOrder(id: string): ModelOrder | undefined {
    return this.orders.find((o) => o.id === id && !o.deleted);
  }

  holdView(hold: ModelHold): Record<string, unknown> {
    return {
      hold_id: hold.id,
      product_id: this.productId,
      qty: hold.qty,
      status: hold.status,
      expires_at: iso(hold.expiresAt),
      ...(hold.shopper === null ? {} : { shopper_id: hold.shopper }),
    };
  }

  orderView(order: ModelOrder): Record<string, unknown> {
    return {
      order_id: order.id,
      hold_id: order.holdId,
      product_id: this.productId,
      qty: order.qty,
      status: order.status,
      amount_cents: order.amountCents,
      currency: CURRENCY,
      created_at: iso(order.createdAt),
      pay_by: iso(order.payBy),
      updated_at: iso(order.updatedAt),
      payment_id: order.paymentId,
      paid_late: order.paidLate,
      ...(order.shopper === null ? {} : { shopper_id: order.shopper }),
    };
  }

  holdAnswer(status: number, hold: ModelHold): Expected {
    return { status, body: this.holdView(hold), fields: HOLD_FIELDS };
  }

  orderAnswer(status: number, order: ModelOrder): Expected {
    return { status, body: this.orderView(order), fields: ORDER_FIELDS };
  }

  // ---- time, expiry, history, retention --------------------------------------------------------

  /** Move the clock forward and release whatever fell due (holds, then unpaid orders). */
  advance(ms: number): void {
    this.now += ms;
    for (const hold of this.holds) {
      if (hold.status === "active" && hold.expiresAt <= this.now) hold.status = "expired";
    }
    for (const order of this.orders) {
      if (order.status === "pending" && order.payBy <= this.now) {
        order.status = "cancelled";
        order.updatedAt = this.now;
        this.recorded();
      }
    }
  }

  /** An order or refund event went to the outbox, to be copied to D1. */
  private recorded(): void {
    if (!this.d1Down) return;
    this.uncopiedSince ??= this.now;
    this.backlog++;
  }

  /**
   * The object's alarm: what is due was released by advance(); retention deletes what is old
   * enough and already in D1; then the outbox is copied, if D1 is there to take it.
   */
  alarm(): void {
    this.prune();
    if (!this.d1Down) {
      this.uncopiedSince = null;
      this.backlog = 0;
    }
  }

  /**
   * Retention: closed holds, final orders (with their holds), webhook and restock keys older than
   * RETENTION_DAYS; orders only once D1 has everything changed up to them.
   */
  private prune(): void {
    const cutoff = this.now - RETENTION_MS;
    const copiedCutoff = Math.min(cutoff, this.uncopiedSince ?? Infinity);
    for (const order of this.orders) {
      if (order.deleted || order.status === "pending" || order.updatedAt >= copiedCutoff) continue;
      order.deleted = true;
      const hold = this.holds.find((h) => h.id === order.holdId);
      if (hold) hold.deleted = true;
    }
    for (const hold of this.holds) {
      if ((hold.status === "expired" || hold.status === "released") && hold.expiresAt < cutoff) {
        hold.deleted = true;
      }
    }
    // A deleted order's tombstone (id, status, payment id, amount) outlives it by far.
    for (const order of this.orders) {
      if (order.deleted && order.updatedAt < this.now - TOMBSTONE_MS) order.forgotten = true;
    }
    for (const [key, entry] of this.webhookKeys) {
      if (entry.at < cutoff) this.webhookKeys.delete(key);
    }
    for (const [key, entry] of this.restockKeys) {
      if (entry.at < cutoff) this.restockKeys.delete(key);
    }
  }

  // ---- commands --------------------------------------------------------------------------------

  /**
   * POST /api/holds. Without a key, the Worker answers insufficient_stock itself while it
   * remembers the product sold out (the runner reads the product after every step, so it
   * remembers exactly when nothing is available); the object checks the shopper's limit before
   * the stock. With a key the object is always asked, and a key it remembers replays its hold.
   */
  hold(
    qty: number,
    shopper: Shopper,
    key: string | null,
  ): { expected: Expected; created?: ModelHold } {
    if (key !== null) {
      const earlier = this.holds.find((h) => h.key === key && !h.deleted);
      if (earlier) {
        if (earlier.qty !== qty || earlier.shopper !== shopper) {
          return { expected: fail(409, "idempotency_key_reused") };
        }
        return { expected: { ...this.holdAnswer(201, earlier), replayed: true } };
      }
    } else if (this.available === 0) {
      return { expected: fail(409, "insufficient_stock") };
    }
    if (shopper !== null && this.unitsOf(shopper) + qty > this.limit) {
      return { expected: fail(409, "shopper_limit_reached") };
    }
    if (this.available < qty) return { expected: fail(409, "insufficient_stock") };
    const hold: ModelHold = {
      id: "", // the runner fills in the id the object chose
      qty,
      shopper,
      status: "active",
      expiresAt: this.now + HOLD_TTL_MS,
      priceCents: this.priceCents,
      key,
      orderId: null,
      deleted: false,
    };
    this.holds.push(hold);
    return { expected: this.holdAnswer(201, hold), created: hold };
  }

  /** DELETE /api/holds/:id */
  release(holdId: string, by: Shopper): Expected {
    const hold = this.liveHold(holdId);
    if (!hold) return fail(404, "hold_not_found");
    if (hold.shopper !== null && hold.shopper !== by) return fail(403, "not_your_hold");
    if (hold.status === "ordered") return fail(409, "hold_already_ordered");
    if (hold.status === "active") hold.status = "released";
    return this.holdAnswer(200, hold);
  }

  /** POST /api/orders */
  order(holdId: string, by: Shopper): { expected: Expected; created?: ModelOrder } {
    const hold = this.liveHold(holdId);
    if (!hold) return { expected: fail(404, "hold_not_found") };
    if (hold.shopper !== null && hold.shopper !== by) {
      return { expected: fail(403, "not_your_hold") };
    }
    if (hold.status === "ordered") {
      const existing = this.liveOrder(hold.orderId!)!;
      return { expected: this.orderAnswer(200, existing) };
    }
    if (hold.status === "released") return { expected: fail(410, "hold_released") };
    if (hold.status === "expired") return { expected: fail(410, "hold_expired") };
    const order: ModelOrder = {
      id: "", // the runner fills in the id the object chose
      holdId: hold.id,
      qty: hold.qty,
      shopper: hold.shopper,
      amountCents: hold.qty * hold.priceCents,
      status: "pending",
      createdAt: this.now,
      payBy: this.now + PAYMENT_TTL_MS,
      updatedAt: this.now,
      paymentId: null,
      paidWith: null,
      paidLate: false,
      needsRefund: false,
      deleted: false,
    };
    hold.status = "ordered";
    this.orders.push(order);
    this.recorded();
    return { expected: this.orderAnswer(201, order), created: order };
  }

  /** The runner learnt the id the object gave a new order. */
  bindOrder(order: ModelOrder, id: string): void {
    order.id = id;
    this.holds.find((h) => h.id === order.holdId)!.orderId = id;
  }

  /** POST /api/orders/:id/cancel */
  cancel(orderId: string, by: Shopper): Expected {
    const order = this.liveOrder(orderId);
    if (!order) return fail(404, "order_not_found");
    if (order.shopper !== null && order.shopper !== by) return fail(403, "not_your_order");
    if (order.status === "paid" || order.status === "failed") {
      return fail(409, "order_not_pending");
    }
    if (order.status === "pending") {
      order.status = "cancelled";
      order.updatedAt = this.now;
      this.recorded();
    }
    return this.orderAnswer(200, order);
  }

  /** GET /api/orders/:id, as the admin. */
  readOrder(orderId: string): Expected {
    const order = this.liveOrder(orderId);
    return order ? this.orderAnswer(200, order) : fail(404, "order_not_found");
  }

  /** POST /api/admin/products/:id/restock */
  restock(qty: number, key: string | null): Expected {
    if (key !== null) {
      const earlier = this.restockKeys.get(key);
      if (earlier) {
        if (earlier.qty !== qty) return fail(409, "idempotency_key_reused");
        return { status: 200, body: { ...earlier.answer }, replayed: true };
      }
    }
    this.restocks.push(qty);
    const answer = this.stockView();
    if (key !== null) this.restockKeys.set(key, { qty, answer, at: this.now });
    return { status: 200, body: { ...answer } };
  }

  /** PATCH /api/admin/products/:id with max_units_per_shopper, late_payments or price_cents. */
  settings(change: { limit?: number | null; late?: LatePolicy | null; price?: number }): Expected {
    if (change.limit !== undefined) this.limitSetting = change.limit;
    if (change.late !== undefined) this.lateSetting = change.late;
    if (change.price !== undefined) this.priceCents = change.price;
    return { status: 200, body: this.productView() };
  }

  /** What GET /api/products/:id shows of the product: its stock and the settings in effect. */
  productView(): Record<string, unknown> {
    return {
      ...this.stockView(),
      price_cents: this.priceCents,
      max_units_per_shopper: this.limit,
      late_payments: this.latePayments,
    };
  }

  /**
   * POST /api/payments/webhook. A key the object remembers answers its first answer again (or
   * 409 for another order or status); a new key is decided by the order's state.
   */
  webhook(notice: Notice): Expected {
    const seen = this.webhookKeys.get(notice.key);
    if (seen) {
      if (seen.notice.orderId !== notice.orderId || seen.notice.status !== notice.status) {
        return fail(409, "idempotency_key_reused");
      }
      this.webhooks.duplicates++;
      return { status: 200, body: { ...seen.answer, duplicate: true }, fields: WEBHOOK_FIELDS };
    }
    const order = this.liveOrder(notice.orderId);
    const gone = this.orders.find((o) => o.id === notice.orderId && o.deleted && !o.forgotten);
    if (!order && !gone) return fail(404, "order_not_found"); // the key is not remembered
    const answer = order ? this.decide(order, notice) : this.decideDeleted(gone!, notice);
    this.webhookKeys.set(notice.key, { notice, answer, at: this.now });
    this.webhooks.processed++;
    if (answer.ignored) this.webhooks.ignored++;
    return { status: 200, body: { ...answer }, fields: WEBHOOK_FIELDS };
  }

  /** What a new key does to its order: the README's table ("What a new key does"). */
  private decide(order: ModelOrder, notice: Notice): WebhookAnswer {
    const ignored = (reason?: WebhookAnswer["reason"]): WebhookAnswer => ({
      order_id: order.id,
      order_status: order.status,
      duplicate: false,
      ignored: true,
      ...(reason ? { reason } : {}),
    });
    const pid = notice.paymentId;

    if (notice.status === "failure") {
      if (order.status !== "pending") return ignored();
      order.status = "failed";
      order.updatedAt = this.now;
      order.paymentId = pid ?? order.paymentId;
      this.recorded();
      return { order_id: order.id, order_status: "failed", duplicate: false };
    }

    // "A success with a payment_id the order (or one of its refunds) already has is the same
    // payment": money already accounted for, by the payment that paid the order or by a refund.
    // The id a failure named took no money (a declined attempt on a payment intent that the
    // shopper then completes is exactly this), so a success under it is money taken now, decided
    // like any other success: for a failed order, a late payment (refunded, or sold if allowed).
    const samePayment =
      pid !== undefined &&
      (order.paidWith === pid ||
        this.refunds.some((r) => r.orderId === order.id && r.paymentId === pid));
    if (samePayment) {
      return { order_id: order.id, order_status: order.status, duplicate: true };
    }
    if (order.status === "paid") {
      this.refund(order, "double_charge", notice);
      return ignored("double_charge");
    }
    const sameMoney =
      (notice.amountCents === undefined || notice.amountCents === order.amountCents) &&
      (notice.currency === undefined || notice.currency.toUpperCase() === CURRENCY);
    if (!sameMoney) {
      this.refund(order, "amount_mismatch", notice);
      return ignored("amount_mismatch");
    }
    if (order.status === "pending") {
      this.pay(order, pid, false);
      return { order_id: order.id, order_status: "paid", duplicate: false };
    }

    // A success for an order already closed (its window, its shopper, or a failure).
    const withinLimit =
      order.shopper === null || this.unitsOf(order.shopper) + order.qty <= this.limit;
    if (this.latePayments === "accept_if_available" && withinLimit && this.available >= order.qty) {
      this.pay(order, pid, true);
      return { order_id: order.id, order_status: "paid", duplicate: false, paid_late: true };
    }
    if (!order.needsRefund) {
      order.needsRefund = true;
      order.updatedAt = this.now;
      this.recorded();
    }
    this.refund(order, "late_payment", notice);
    return ignored();
  }

  /**
   * A payment for an order retention deleted, decided by its tombstone: a failure changes nothing,
   * the payment the order showed is a duplicate, any other success is money to give back.
   */
  private decideDeleted(order: ModelOrder, notice: Notice): WebhookAnswer {
    const answer = { order_id: order.id, order_status: order.status, duplicate: false };
    if (notice.status === "failure") return { ...answer, ignored: true };
    // As for a live order: the payment that paid it, or one already refunded, is the same
    // payment; the id of a failed attempt took no money.
    const pid = notice.paymentId;
    const samePayment =
      pid !== undefined &&
      ((order.status === "paid" && order.paidWith === pid) ||
        this.refunds.some((r) => r.orderId === order.id && r.paymentId === pid));
    if (samePayment) return { ...answer, duplicate: true };
    const reason = order.status === "paid" ? "double_charge" : "late_payment";
    this.refund(order, reason, notice);
    return { ...answer, ignored: true, ...(reason === "double_charge" ? { reason } : {}) };
  }

  private pay(order: ModelOrder, pid: string | undefined, late: boolean): void {
    order.status = "paid";
    order.updatedAt = this.now;
    // A paid order names the payment that paid it, not an attempt that failed before.
    order.paymentId = pid ?? null;
    order.paidWith = pid ?? null;
    order.paidLate = late;
    this.recorded();
  }

  private refund(order: ModelOrder, reason: RefundReason, notice: Notice): void {
    this.refunds.push({
      orderId: order.id,
      reason,
      paymentId: notice.paymentId ?? null,
      amountCents: notice.amountCents ?? order.amountCents,
      currency: notice.currency ?? CURRENCY,
    });
    this.recorded();
  }

  // ---- D1 --------------------------------------------------------------------------------------

  /** D1 goes away: the outbox was empty (the runner waited for it). */
  d1Fails(): void {
    this.d1Down = true;
  }

  /** D1 is back; the outbox is copied by the next alarm (the runner runs it). */
  d1Returns(): void {
    this.d1Down = false;
  }
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function countBy<T, K extends string>(
  items: T[],
  key: (item: T) => K,
  keys: K[],
): Record<K, number> {
  const counts = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  for (const item of items) counts[key(item)]++;
  return counts;
}
