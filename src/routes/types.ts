import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Env } from "../env";
import type { LogFields } from "../log";
import type { ProductStub } from "../product-client";
import type { SoldOutMemory } from "../sold-out";

export interface AppEnv {
  Bindings: Env;
  Variables: { webhookMessageId: string | null };
}

export type App = OpenAPIHono<AppEnv>;

/**
 * How routes reach a product object, with the stub the app was built with. Transient failures are
 * retried unless `once` is set (for calls that are not safe to repeat).
 */
export type AskProduct = <T>(
  env: Env,
  productId: number,
  fields: LogFields,
  call: (stub: ProductStub, attempt: number) => Promise<T>,
  once?: boolean,
) => Promise<T>;

/** What every route module is built with. */
export interface RouteDeps {
  ask: AskProduct;
  soldOut: SoldOutMemory;
}
