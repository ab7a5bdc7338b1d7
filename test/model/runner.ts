/**
 * Runs one sequence of commands against the real Worker and product object and against the
 * reference model, side by side. Each command goes to the real system and to the model; the
 * answers must agree (status, error code, and the body the model can predict), and after every
 * step the product's figures, the full invariant check and the rows retention may delete must
 * agree too. At the end D1 must hold every order and refund, as the model has them.
 *
 * Each sequence sells a product of its own, on a clock of its own that starts at the real time
 * and only moves forward; the real clock is back between sequences.
 */
import { expect, vi } from "vitest";
import { newProduct, type Answer } from "../helpers";
import {
  describeCommand,
  describeSetup,
  SHOPPERS,
  type By,
  type Command,
  type Money,
  type PaymentIdChoice,
  type Sequence,
} from "./commands";
import {
  CURRENCY,
  ProductModel,
  type Expected,
  type ModelHold,
  type ModelOrder,
  type Notice,
  type Shopper,
} from "./model";
import {
  cancelOrder,
  Clock,
  getProduct,
  historyInD1,
  metrics,
  patchSettings,
  postHold,
  postOrder,
  postRestock,
  postWebhook,
  readOrderAsAdmin,
  releaseHold,
  rowCounts,
  runAlarm,
  setObjectD1,
  waitForOutbox,
} from "./system";

const DAY_MS = 86_400_000;
/** Past the history copier's longest backoff (60 s), and past retention's 60 s re-check. */
const PAST_BACKOFF_MS = 61_000;
const NAMED = SHOPPERS.filter((s): s is string => s !== null);
/** The object's log lines of the sequence that is running, shown when it fails. */
const LOG_LINES_SHOWN = 40;

/** Run one sequence; throws, with the steps it ran and what they answered, when it disagrees. */
export async function runSequence(sequence: Sequence): Promise<void> {
  const logs = captureLogs();
  let clock: Clock | undefined;
  let run: Run | undefined;
  try {
    const productId = await newProduct(sequence.setup.stock, sequence.setup.priceCents);
    clock = new Clock();
    run = new Run(productId, sequence, clock);
    await run.start();
    for (const [index, command] of sequence.commands.entries()) await run.step(index, command);
    await run.finish();
  } catch (error) {
    throw run ? run.explain(error, logs.lines) : error;
  } finally {
    clock?.stop();
    logs.stop();
  }
}

/** Keep the object's JSON log lines for the report instead of printing them for every run. */
function captureLogs() {
  const lines: string[] = [];
  const spies = (["log", "warn", "error"] as const).map((level) =>
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
    }),
  );
  return { lines, stop: () => spies.forEach((spy) => spy.mockRestore()) };
}

/** Requests the runner sent that a later command may send again. */
interface Journal {
  keyedHolds: { key: string; qty: number; shopper: Shopper }[];
  keyedRestocks: { key: string; qty: number }[];
  webhooks: Notice[];
}

class Run {
  private readonly model: ProductModel;
  private readonly journal: Journal = { keyedHolds: [], keyedRestocks: [], webhooks: [] };
  /** The steps so far, with what each answered: the report of a failure. */
  private readonly transcript: string[] = [];
  private serial = 0;
  /** What the current step is about (a hold, an order, a key), for the transcript. */
  private target = "";

  constructor(
    private readonly productId: number,
    private readonly sequence: Sequence,
    private readonly clock: Clock,
  ) {
    this.model = new ProductModel(productId, sequence.setup, clock.now);
  }

  async start(): Promise<void> {
    const { limit, latePayments } = this.sequence.setup;
    if (limit !== null || latePayments !== null) {
      const patch = {
        ...(limit === null ? {} : { max_units_per_shopper: limit }),
        ...(latePayments === null ? {} : { late_payments: latePayments }),
      };
      const res = await patchSettings(this.productId, patch);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    await this.checkState();
  }

  async step(index: number, command: Command): Promise<void> {
    const line = `${String(index + 1).padStart(2)}. ${describeCommand(command)}`;
    const about = () => (this.target ? ` [${this.target}]` : "");
    this.target = "";
    try {
      const outcome = await this.apply(command);
      this.transcript.push(`${line}${about()} → ${outcome}`);
    } catch (error) {
      this.transcript.push(`${line}${about()} ✗`);
      throw error;
    }
    try {
      await this.checkState();
    } catch (error) {
      this.transcript.push("    ✗ the state after this step");
      throw error;
    }
  }

  /** The end: D1 back, the history copied, every order as the model has it, in the object and in D1. */
  async finish(): Promise<void> {
    if (this.model.d1Down) {
      this.transcript.push(`    (end) D1 back up → ${await this.d1Up()}`);
      await this.checkState();
    }
    await waitForOutbox(this.productId);
    for (const order of this.model.orders) {
      this.compare(await readOrderAsAdmin(order.id), this.model.readOrder(order.id), "GET order");
    }
    const d1 = await historyInD1(this.productId);
    expect(d1.orders, "the order history in D1").toEqual(
      [...this.model.orders]
        .sort((a, b) => (a.id < b.id ? -1 : 1))
        .map((o) => ({
          order_id: o.id,
          status: o.status,
          payment_id: o.paymentId,
          paid_late: o.paidLate ? 1 : 0,
          needs_refund: o.needsRefund ? 1 : 0,
          qty: o.qty,
          amount_cents: o.amountCents,
        })),
    );
    const refundKey = (r: Record<string, unknown>) =>
      [r.order_id, r.reason, r.payment_id, r.amount_cents, r.currency].join("|");
    const sorted = (refunds: Record<string, unknown>[]) =>
      refunds.map((r) => ({ ...r })).sort((a, b) => (refundKey(a) < refundKey(b) ? -1 : 1));
    expect(sorted(d1.refunds), "the refunds in D1").toEqual(
      sorted(
        this.model.refunds.map((r) => ({
          order_id: r.orderId,
          reason: r.reason,
          payment_id: r.paymentId,
          amount_cents: r.amountCents,
          currency: r.currency,
          status: "due",
        })),
      ),
    );
  }

  /** The failure, with the product, the steps and what they answered, and the object's logs. */
  explain(error: unknown, logs: string[]): unknown {
    const context = [
      `${describeSetup(this.sequence.setup)} (product ${this.productId})`,
      ...this.transcript,
      "",
    ].join("\n");
    const shown = logs.slice(-LOG_LINES_SHOWN);
    const tail = shown.length
      ? `\n\nThe last ${shown.length} of ${logs.length} log line(s) of this run:\n${shown.join("\n")}`
      : "";
    if (error instanceof Error) {
      error.message = `${context}\n${error.message}${tail}`;
      return error;
    }
    return new Error(`${context}\n${String(error)}${tail}`);
  }

  // ---- the commands ----------------------------------------------------------------------------

  /**
   * Send one command to both sides and compare. Returns what it answered, for the transcript
   * (which adds `target`: the hold, order or key it was about).
   */
  private async apply(command: Command): Promise<string> {
    const model = this.model;
    switch (command.kind) {
      case "hold": {
        const shopper = command.shopper;
        const key = command.keyed ? this.newKey("hold") : null;
        if (key) this.journal.keyedHolds.push({ key, qty: command.qty, shopper });
        return this.sendHold(command.qty, shopper, key);
      }
      case "checkout": {
        const shopper = command.shopper;
        const held = await this.sendHold(command.qty, shopper, null);
        const hold = model.holds.at(-1);
        if (!hold || hold.status !== "active" || hold.id === "") return held;
        return `${held}; ${await this.sendOrder(hold, shopper)}`;
      }
      case "hold-again": {
        const sent = choose(this.journal.keyedHolds, command.pick);
        if (!sent) return "skipped: no keyed hold yet";
        const qty = command.change === "qty" ? (sent.qty % 3) + 1 : sent.qty;
        const shopper = command.change === "shopper" ? nextShopper(sent.shopper) : sent.shopper;
        this.target = sent.key;
        return this.sendHold(qty, shopper, sent.key);
      }
      case "release": {
        const hold = choose(model.holds, command.pick);
        if (!hold) return "skipped: no hold yet";
        const by = requester(hold.shopper, command.by);
        this.target = this.name(hold);
        const expected = model.release(hold.id, by);
        return this.compare(await releaseHold(hold.id, by), expected, "release");
      }
      case "order": {
        const hold = choose(model.holds, command.pick);
        if (!hold) return "skipped: no hold yet";
        this.target = this.name(hold);
        return this.sendOrder(hold, requester(hold.shopper, command.by));
      }
      case "cancel": {
        const order = choose(model.orders, command.pick);
        if (!order) return "skipped: no order yet";
        const by = requester(order.shopper, command.by);
        this.target = this.name(order);
        const expected = model.cancel(order.id, by);
        return this.compare(await cancelOrder(order.id, by), expected, "cancel");
      }
      case "read-order": {
        const order = choose(model.orders, command.pick);
        if (!order) return "skipped: no order yet";
        this.target = this.name(order);
        const expected = model.readOrder(order.id);
        return this.compare(await readOrderAsAdmin(order.id), expected, "GET order");
      }
      case "webhook": {
        const order = choose(model.orders, command.pick);
        if (!order) return "skipped: no order yet";
        const notice: Notice = {
          key: this.newKey("evt"),
          orderId: order.id,
          status: command.status,
          ...money(order, command.money),
          ...this.paymentId(order, command.paymentId),
        };
        this.journal.webhooks.push(notice);
        this.target = `${this.name(order)}, ${describeNotice(notice)}`;
        return this.sendWebhook(notice);
      }
      case "webhook-again": {
        const notice = choose(this.journal.webhooks, command.pick);
        if (!notice) return "skipped: no webhook yet";
        this.target = notice.key;
        return this.sendWebhook(notice);
      }
      case "webhook-conflict": {
        const notice = choose(this.journal.webhooks, command.pick);
        if (!notice) return "skipped: no webhook yet";
        const others = model.orders.filter((o) => o.id !== notice.orderId);
        const other = command.change === "order" ? choose(others, command.other) : undefined;
        const flipped: Notice["status"] = notice.status === "success" ? "failure" : "success";
        const reused: Notice = other
          ? { ...notice, orderId: other.id }
          : { ...notice, status: flipped };
        const target = other ? `for ${this.name(other)}` : `as ${flipped}`;
        this.target = `${notice.key} ${target}`;
        return this.sendWebhook(reused);
      }
      case "restock": {
        const key = command.keyed ? this.newKey("restock") : null;
        if (key) this.journal.keyedRestocks.push({ key, qty: command.qty });
        return this.sendRestock(command.qty, key);
      }
      case "restock-again": {
        const sent = choose(this.journal.keyedRestocks, command.pick);
        if (!sent) return "skipped: no keyed restock yet";
        const qty = command.sameQty ? sent.qty : (sent.qty % 3) + 1;
        this.target = `${sent.key}, qty ${qty}`;
        return this.sendRestock(qty, sent.key);
      }
      case "clock": {
        const ms = this.jumpMs(command.jump);
        this.advance(ms);
        if (!command.alarm) return `now +${ms} ms`;
        const ran = await runAlarm(this.productId);
        model.alarm();
        return `now +${ms} ms, ${ran ? "alarm ran" : "no alarm was set"}`;
      }
      case "retention":
        return this.retentionPass();
      case "d1":
        if (command.up !== model.d1Down) return `no change: D1 is ${command.up ? "up" : "down"}`;
        return command.up ? this.d1Up() : this.d1Down();
      case "settings": {
        const { limit, late, price } = command;
        const patch = {
          ...(limit === undefined ? {} : { max_units_per_shopper: limit }),
          ...(late === undefined ? {} : { late_payments: late }),
          ...(price === undefined ? {} : { price_cents: price }),
        };
        const expected = model.settings({ limit, late, price });
        return this.compare(await patchSettings(this.productId, patch), expected, "PATCH");
      }
    }
  }

  private async sendHold(qty: number, shopper: Shopper, key: string | null): Promise<string> {
    const { expected, created } = this.model.hold(qty, shopper, key);
    const res = await postHold(this.productId, qty, shopper, key);
    if (!created || res.status !== 201) return this.compare(res, expected, "hold", true);
    created.id = this.newId(res.body.hold_id, "hld", this.model.holds);
    const view = this.model.holdView(created);
    return `${this.compare(res, { ...expected, body: view }, "hold", true)}: ${this.name(created)}`;
  }

  private async sendOrder(hold: ModelHold, by: Shopper): Promise<string> {
    const { expected, created } = this.model.order(hold.id, by);
    const res = await postOrder(hold.id, by);
    if (!created || res.status !== 201) return this.compare(res, expected, "order");
    this.model.bindOrder(created, this.newId(res.body.order_id, "ord", this.model.orders));
    const view = this.model.orderView(created);
    return `${this.compare(res, { ...expected, body: view }, "order")}: ${this.name(created)}`;
  }

  private async sendWebhook(notice: Notice): Promise<string> {
    const expected = this.model.webhook(notice);
    return this.compare(await postWebhook(notice), expected, "webhook");
  }

  private async sendRestock(qty: number, key: string | null): Promise<string> {
    const expected = this.model.restock(qty, key);
    return this.compare(await postRestock(this.productId, qty, key), expected, "restock", true);
  }

  /** 31 days on: the alarm deletes what retention allows; one more alarm must find nothing left. */
  private async retentionPass(): Promise<string> {
    // With D1 up, what was written before is copied first, so D1 does not hold retention back.
    if (!this.model.d1Down) await waitForOutbox(this.productId);
    const ran: boolean[] = [];
    for (const ms of [31 * DAY_MS, PAST_BACKOFF_MS]) {
      this.advance(ms);
      ran.push(await runAlarm(this.productId));
      this.model.alarm();
    }
    return `alarms ${ran.map((r) => (r ? "ran" : "not set")).join(", ")}; the model keeps rows ${JSON.stringify(this.model.rowCounts())}`;
  }

  /** D1 fails from now on; whatever was written before is in D1 already. */
  private async d1Down(): Promise<string> {
    await waitForOutbox(this.productId);
    await setObjectD1(this.productId, false);
    this.model.d1Fails();
    return "the object's D1 fails every write";
  }

  /**
   * D1 is back. The copier is backing off (up to 60 s), so the clock moves past that and the
   * alarm copies the backlog; one more alarm lets retention delete what it held back for D1.
   */
  private async d1Up(): Promise<string> {
    await setObjectD1(this.productId, true);
    this.model.d1Returns();
    this.advance(PAST_BACKOFF_MS);
    const first = await runAlarm(this.productId);
    this.model.alarm();
    await waitForOutbox(this.productId);
    this.advance(PAST_BACKOFF_MS);
    const second = await runAlarm(this.productId);
    this.model.alarm();
    return `backlog copied (alarms ${first ? "ran" : "not set"}, ${second ? "ran" : "not set"})`;
  }

  private advance(ms: number): void {
    this.clock.advance(ms);
    this.model.advance(ms);
  }

  /** A fixed jump, or to just before, at or just after the earliest deadline of its kind. */
  private jumpMs(jump: Extract<Command, { kind: "clock" }>["jump"]): number {
    if ("ms" in jump) return jump.ms;
    const deadlines =
      jump.deadline === "hold"
        ? this.model.holds.filter((h) => h.status === "active").map((h) => h.expiresAt)
        : this.model.orders.filter((o) => o.status === "pending").map((o) => o.payBy);
    if (deadlines.length === 0) return 1_000;
    return Math.max(1, Math.min(...deadlines) + jump.offsetMs - this.model.now);
  }

  // ---- checks ----------------------------------------------------------------------------------

  /** Compare an answer with the model's; returns a short summary for the transcript. */
  private compare(res: Answer, expected: Expected, what: string, keyed = false): string {
    const body = JSON.stringify(res.body);
    if ("code" in expected) {
      expect({ status: res.status, code: res.body?.error?.code }, `${what}: ${body}`).toEqual({
        status: expected.status,
        code: expected.code,
      });
    } else {
      expect(res.status, `${what} status: ${body}`).toBe(expected.status);
      const actual = only(res.body, expected.fields ?? Object.keys(expected.body));
      expect(actual, `${what} answer`).toEqual(expected.body);
      if (keyed) {
        expect(res.headers.get("idempotent-replayed"), `${what}: Idempotent-Replayed`).toBe(
          expected.replayed ? "true" : null,
        );
      }
    }
    return summary(res);
  }

  /** The product's figures, the full invariant check, and the rows, after every step. */
  private async checkState(): Promise<void> {
    const model = this.model;
    const product = model.productView();
    const body = (await getProduct(this.productId)).body;
    expect(shaped(body, product), "GET /api/products/:id").toEqual(product);
    const counters = {
      ...model.stockView(),
      sold: model.sold,
      initial_stock: model.initialStock,
      restocked: model.restocked,
      holds: model.holdCounts(),
      orders: model.orderCounts(),
      webhooks: model.webhooks,
      refunds: { due: model.refunds.length, resolved: 0 },
      history_dead_letters: 0,
      invariants: { ok: true, checked: "full", violations: [] },
      // While D1 is down every order and refund event waits in the outbox: none is lost.
      ...(model.d1Down ? { history_outbox_backlog: model.backlog } : {}),
    };
    const m = (await metrics(this.productId)).body;
    expect(shaped(m, counters), "metrics?check=full").toEqual(counters);
    expect(await rowCounts(this.productId), "rows in the object's SQLite").toEqual(
      model.rowCounts(),
    );
  }

  // ---- helpers ---------------------------------------------------------------------------------

  /** "hold 2", "order 1": the n-th made in this sequence, as the transcript names them. */
  private name(item: ModelHold | ModelOrder): string {
    return "holdId" in item
      ? `order ${this.model.orders.indexOf(item) + 1}`
      : `hold ${this.model.holds.indexOf(item) + 1}`;
  }

  private newKey(label: string): string {
    return `${label}-${this.productId}-${++this.serial}`;
  }

  /** An id the object just made: of this product, and never seen before. */
  private newId(id: unknown, prefix: string, known: { id: string }[]): string {
    expect(id, `a new ${prefix} id`).toEqual(
      expect.stringMatching(`^${prefix}_${this.productId}_`),
    );
    expect(
      known.filter((k) => k.id === id),
      `a new ${prefix} id`,
    ).toEqual([]);
    return id as string;
  }

  /** The payment id a webhook names. */
  private paymentId(order: ModelOrder, choice: PaymentIdChoice): { paymentId?: string } {
    const fresh = () => `pi_${this.productId}_${++this.serial}`;
    switch (choice) {
      case "none":
        return {};
      case "new":
        return { paymentId: fresh() };
      case "order's":
        return { paymentId: order.paymentId ?? fresh() };
      case "refund's": {
        const refunded = this.model.refunds.filter(
          (r) => r.orderId === order.id && r.paymentId !== null,
        );
        return { paymentId: refunded.at(-1)?.paymentId ?? fresh() };
      }
    }
  }
}

/** A webhook's key and what it says, for the transcript. */
function describeNotice(notice: Notice): string {
  const money = [notice.amountCents, notice.currency].filter((v) => v !== undefined).join(" ");
  return [notice.key, money, notice.paymentId].filter(Boolean).join(", ");
}

/** What a webhook says was charged. */
function money(order: ModelOrder, choice: Money): { amountCents?: number; currency?: string } {
  switch (choice) {
    case "omitted":
      return {};
    case "exact":
      return { amountCents: order.amountCents, currency: CURRENCY };
    case "lowercase":
      return { amountCents: order.amountCents, currency: CURRENCY.toLowerCase() };
    case "short":
      return { amountCents: order.amountCents - 1 };
    case "other_currency":
      return { amountCents: order.amountCents, currency: "USD" };
  }
}

/** The n-th item counting back from the latest, round and round (undefined when there is none). */
function choose<T>(items: readonly T[], pick: number): T | undefined {
  return items.length === 0 ? undefined : items[items.length - 1 - (pick % items.length)];
}

/** Who asks: the owner (null for an anonymous hold), another named shopper, or nobody. */
function requester(owner: Shopper, by: By): Shopper {
  if (by === "owner") return owner;
  if (by === "anonymous") return null;
  return NAMED.find((s) => s !== owner)!;
}

function nextShopper(shopper: Shopper): Shopper {
  return SHOPPERS[(SHOPPERS.indexOf(shopper) + 1) % SHOPPERS.length] ?? null;
}

function only(body: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in body).map((k) => [k, body[k]]));
}

/**
 * The actual value cut to the shape of the expected one, at every level: the fields the model
 * speaks of (a field the API adds later is not this test's business; a missing one is).
 */
function shaped(actual: unknown, expected: unknown): unknown {
  if (!isRecord(actual) || !isRecord(expected)) return actual;
  return Object.fromEntries(
    Object.keys(expected)
      .filter((k) => k in actual)
      .map((k) => [k, shaped(actual[k], expected[k])]),
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One short phrase for an answer, for the transcript. */
function summary(res: Answer): string {
  const b = res.body ?? {};
  if (b.error) return `${res.status} ${b.error.code}`;
  if (b.order_status) {
    const flags = ["duplicate", "ignored", "paid_late"].filter((f) => b[f] === true);
    return `${res.status} ${[b.order_status, ...flags, b.reason].filter(Boolean).join(" ")}`;
  }
  if (b.status) return `${res.status} ${b.status}`;
  if (b.stock !== undefined) return `${res.status} stock ${b.stock}, available ${b.available}`;
  return String(res.status);
}
