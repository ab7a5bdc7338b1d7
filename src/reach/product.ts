import type { Context } from "hono";
import type { CatalogueCache } from "../catalogue/catalogue";
import type { CatalogueEntry } from "../contract/catalogue-entry";
import { failure, type Failure } from "../contract/errors";
import type { Env } from "../env";
import { HttpError } from "../http/error-answer";
import type { AppEnv } from "../http/context";
import { logEvent, type LogFields } from "../log";
import type { ProductObject } from "../product/product-object";
import type { ProductView } from "../contract/shapes";
import { configFrom } from "../config";
import { relayName, relayPlan } from "../contract/live";
import { withRetries, type RetryPolicy } from "./retry";
import { shardName } from "../contract/ids";
import { ProductReads } from "./product-reads";

/**
 * The object's RPC methods as the Worker sees them. Answers are plain data, so the class's own
 * signatures describe them exactly (the generated stub type turns unions into unions of promises).
 */
export type ProductStub = Pick<
  ProductObject,
  | "readProduct"
  | "createHold"
  | "releaseHold"
  | "createOrder"
  | "readOrder"
  | "readOrderTrail"
  | "startCheckout"
  | "saveCheckout"
  | "cancelOrder"
  | "settlePayment"
  | "restock"
  | "updateProduct"
  | "readMetrics"
  | "resolveRefund"
  | "listDeadLetters"
  | "retryDeadLetter"
  | "joinQueue"
  | "readQueue"
  | "readCatalogueEntry"
  | "leaveQueue"
  | "changeShards"
  | "pushShardSettings"
>;
/** The stub of a product's object, or of its shard k (`shard` not null; docs/sharding.md). */
export type StubFor = (env: Env, productId: number, shard?: number | null) => ProductStub;
export type ProductMethod = keyof ProductStub;

/** What a method takes beyond the product and the request, which every call names anyway. */
export type ProductInput<M extends ProductMethod> = Omit<
  Parameters<ProductStub[M]>[0],
  "productId" | "requestId" | "shard"
>;
export type ProductAnswer<M extends ProductMethod> = Awaited<ReturnType<ProductStub[M]>>;

/** The 404 to answer when the product does not exist. */
export type UnknownCode =
  "product_not_found" | "hold_not_found" | "order_not_found" | "refund_not_found";

export interface ProductCall<M extends ProductMethod> {
  productId: number;
  /** The shard whose object keeps what the call is about; null or absent: the product's own. */
  shard?: number | null;
  method: M;
  /** The method's input; a function of the attempt (1, 2, ...) when it depends on it. */
  input: ProductInput<M> | ((attempt: number) => ProductInput<M>);
  /** What a product that does not exist is answered with (default `product_not_found`). */
  unknown?: UnknownCode;
  /** The id the request names, for that 404 and for the retry log line. */
  fields?: LogFields;
  /** Not safe to repeat: a single attempt, no retries. */
  once?: boolean;
  /** Sees the answer, a failure too, before a failure is thrown (the sold-out memory reads it). */
  observe?: (answer: ProductAnswer<M>) => void;
}

/** A product read, with the entity tag of exactly that answer. */
export interface ProductRead {
  product: ProductView;
  /** The product as JSON, serialised once per object call and sent as is to every reader. */
  body: string;
  etag: string;
}

export interface ProductsOptions {
  stubFor: StubFor;
  retry: RetryPolicy;
  catalogue: CatalogueCache;
}

/** How long a page told `live_full` waits before trying a socket again (it polls meanwhile). */
export const LIVE_FULL_RETRY_S = 30;

/**
 * Every request for a product goes to the one object named after it, or, on a sharded product,
 * to the object of the shard that keeps the shopper or the id (`<product>:<k>`, the same class).
 */
export const productStub: StubFor = (env, productId, shard = null) =>
  env.PRODUCTS.getByName(shard === null ? String(productId) : shardName(productId, shard));

/**
 * How the Worker reaches a product, the one way: look the product up in the catalogue (once per
 * request, cached per isolate), so a product that does not exist is answered 404 without waking
 * an object; call its object, retrying transient failures with a fresh stub each time (a stub
 * that saw an error may be broken); answer the success, or throw the failure as the HTTP error.
 * Routes never see a stub.
 */
export class Products {
  /** Catalogue entries this request already looked up, so a route and its call share one. */
  private readonly looked = new WeakMap<Context<AppEnv>, Map<number, Promise<CatalogueEntry>>>();

  /** Concurrent product reads in this isolate share object calls (see ProductReads). */
  readonly reads = new ProductReads<ProductRead>();

  constructor(private readonly options: ProductsOptions) {}

  /**
   * The product as its object has it now: the answer of a write-free object call that started
   * after this read arrived, shared with the other reads of the product waiting for one.
   */
  async readProduct(c: Context<AppEnv>, productId: number): Promise<ProductRead> {
    await this.entry(c, productId);
    return this.reads.read(String(productId), async () => {
      const { product } = await this.call(c, { productId, method: "readProduct", input: {} });
      const body = JSON.stringify(product);
      return { product, body, etag: entityTag(body) };
    });
  }

  /** The product's catalogue entry: 404 when it does not exist, 503 when D1 cannot be read. */
  entry(
    c: Context<AppEnv>,
    productId: number,
    unknown: UnknownCode = "product_not_found",
    fields: LogFields = {},
  ): Promise<CatalogueEntry> {
    let entries = this.looked.get(c);
    if (!entries) this.looked.set(c, (entries = new Map<number, Promise<CatalogueEntry>>()));
    let entry = entries.get(productId);
    if (!entry) {
      entry = this.lookup(c, productId, unknown, fields);
      entries.set(productId, entry);
    }
    return entry;
  }

  /** Call the product's object: the success, or the failure thrown as an HttpError. */
  async call<M extends ProductMethod>(
    c: Context<AppEnv>,
    call: ProductCall<M>,
  ): Promise<Extract<ProductAnswer<M>, { ok: true }>> {
    const answer = await this.answer(c, call);
    call.observe?.(answer);
    const result = answer as { ok: true } | Failure;
    if (!result.ok) throw new HttpError(result.code, result.message);
    return answer as Extract<ProductAnswer<M>, { ok: true }>;
  }

  /** As `call`, but a failure is returned as it came, for the route to decide on. */
  async answer<M extends ProductMethod>(
    c: Context<AppEnv>,
    call: ProductCall<M>,
  ): Promise<ProductAnswer<M>> {
    const { productId, method, input, fields = {}, unknown, shard = null } = call;
    await this.entry(c, productId, unknown, fields);
    const requestFields = { request_id: c.get("requestId"), ...fields };
    const policy = call.once ? { ...this.options.retry, attempts: 1 } : this.options.retry;
    return withRetries(
      (attempt) => {
        const stub = this.options.stubFor(c.env, productId, shard);
        const given = typeof input === "function" ? input(attempt) : input;
        // Called as a method of the stub: an RPC stub's function has no `call` of its own.
        const methods = stub as unknown as Record<M, (arg: unknown) => Promise<ProductAnswer<M>>>;
        return methods[method]({ ...given, productId, shard, requestId: c.get("requestId") });
      },
      policy,
      (attempt, delayMs, error) =>
        logEvent(
          "Transient error, retrying",
          {
            product_id: productId,
            ...requestFields,
            attempt,
            delay_ms: delayMs,
            error: String(error),
          },
          "warn",
        ),
    );
  }

  /**
   * Hand a WebSocket upgrade to one of the product's relay objects (src/live/relay.ts), once the
   * product is known to exist: a ticket's socket to its own relay (`seq mod relays`, so a newer
   * socket replaces the older), any other to a relay drawn at random, then up to two more if that
   * one is full. Past them: 503 `live_full` (the page polls instead).
   */
  async upgrade(
    c: Context<AppEnv>,
    productId: number,
    ticket: { seq: number; shopperId: string | null } | null,
  ): Promise<Response> {
    await this.entry(c, productId);
    const config = configFrom(c.env);
    const plan = relayPlan(config.maxLiveSockets, config.liveSocketsPerRelay);
    const first = ticket ? ticket.seq % plan.relays : Math.floor(Math.random() * plan.relays);
    const tries = ticket ? 1 : Math.min(3, plan.relays);
    for (let i = 0; i < tries; i++) {
      const k = (first + i * Math.ceil(plan.relays / tries)) % plan.relays;
      const headers = new Headers({
        upgrade: "websocket",
        "x-product-id": String(productId),
        "x-relay": String(k),
        "x-relay-cap": String(plan.capOf(k)),
        "x-request-id": c.get("requestId"),
      });
      if (ticket) {
        headers.set("x-ticket-seq", String(ticket.seq));
        if (ticket.shopperId !== null) headers.set("x-ticket-shopper", ticket.shopperId);
      }
      const relay = c.env.LIVE_RELAYS.getByName(relayName(productId, k));
      const answer = await relay.fetch(new Request(c.req.url, { headers }));
      if (answer.status === 101) return answer;
      const refused = await answer.json<Failure>();
      if (refused.code !== "live_full") throw new HttpError(refused.code, refused.message);
    }
    throw new HttpError(
      "live_full",
      `Product ${productId} has as many live sockets open as it allows; poll GET /api/products/${productId} instead.`,
      { "Retry-After": String(LIVE_FULL_RETRY_S) },
    );
  }

  private async lookup(
    c: Context<AppEnv>,
    productId: number,
    unknown: UnknownCode,
    fields: LogFields,
  ): Promise<CatalogueEntry> {
    let entry;
    try {
      entry = await this.options.catalogue.lookup(c.env.DB, productId);
    } catch (error) {
      entry = await this.askObject(c, productId, { ...fields, error: String(error) });
    }
    if (!entry) {
      const id = fields.hold_id ?? fields.order_id ?? fields.refund_id ?? productId;
      throw new HttpError(unknown, `No ${unknown.replace("_not_found", "")} ${String(id)}.`);
    }
    return entry;
  }

  /**
   * D1 cannot be read and this isolate never read the entry: the product's object knows its own
   * product once it has opened (also after a restart), and answers without D1 and without writing.
   * An object that never opened cannot tell whether the product exists: that is a 503, not a 404.
   */
  private async askObject(
    c: Context<AppEnv>,
    productId: number,
    fields: LogFields,
  ): Promise<CatalogueEntry> {
    const logFields = { request_id: c.get("requestId"), ...fields, product_id: productId };
    let answer;
    try {
      answer = await withRetries(
        () =>
          this.options
            .stubFor(c.env, productId)
            .readCatalogueEntry({ productId, requestId: c.get("requestId") }),
        this.options.retry,
        () => undefined,
      );
    } catch (error) {
      answer = failure("service_unavailable", String(error));
    }
    if (answer.ok) {
      logEvent("Product catalogue unavailable, the product's object answered.", logFields, "warn");
      this.options.catalogue.rememberFromObject(productId, answer.entry);
      return answer.entry;
    }
    logEvent("Product catalogue unavailable.", logFields, "error");
    throw new HttpError(
      "service_unavailable",
      "The product catalogue cannot be read right now; retry shortly.",
    );
  }
}

/**
 * A strong entity tag for an answer body: FNV-1a over its UTF-16 code units, twice with different
 * seeds (64 bits), enough to tell apart two states of one product; computed once per object call,
 * not per read.
 */
export function entityTag(body: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ body.length;
  for (let i = 0; i < body.length; i++) {
    const unit = body.charCodeAt(i);
    a = Math.imul(a ^ unit, 0x01000193);
    b = Math.imul(b ^ unit, 0x5bd1e995);
  }
  return `"${(a >>> 0).toString(36)}${(b >>> 0).toString(36)}"`;
}
