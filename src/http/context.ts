import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { CatalogueCache } from "../catalogue/catalogue";
import type { FrontierCache } from "../queue/frontier-cache";
import type { Env } from "../env";
import type { LogFields } from "../log";
import type { ProductStub } from "../reach/product";
import type { SoldOutMemory } from "../catalogue/sold-out";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** `cf-ray`, or one made up for the request: on every answer and every log line it causes. */
    requestId: string;
    /** The shopper of a route that takes or gives back stock; null when anonymous (local only). */
    shopperId: string | null;
    webhookMessageId: string | null;
  };
}

export type App = OpenAPIHono<AppEnv>;

export interface AskOptions {
  /** The 404 to answer when the product does not exist (default `product_not_found`). */
  unknown?: "product_not_found" | "hold_not_found" | "order_not_found" | "refund_not_found";
  /** What the call is about, for the retry log line. */
  fields?: LogFields;
  /** Not safe to repeat (a single attempt, no retries). */
  once?: boolean;
}

/**
 * How routes reach a product object, with the stub the app was built with. The product is
 * looked up in the catalogue first (cached per isolate), so a product that does not exist is
 * answered 404 without waking an object; transient failures are retried unless `once` is set.
 */
export type AskProduct = <T>(
  c: Context<AppEnv>,
  productId: number,
  options: AskOptions,
  call: (stub: ProductStub, attempt: number) => Promise<T>,
) => Promise<T>;

/** What every route module is built with. */
export interface RouteDeps {
  ask: AskProduct;
  soldOut: SoldOutMemory;
  catalogue: CatalogueCache;
  frontiers: FrontierCache;
}

/** The part of every object call that names the product and the request. */
export function callFor(c: Context<AppEnv>, productId: number) {
  return { productId, requestId: c.get("requestId") };
}
