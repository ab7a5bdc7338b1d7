import type { Env } from "../env";
import { logEvent, type LogFields } from "../log";
import type { ProductObject } from "../product/product-object";
import { DEFAULT_RETRY, withRetries, type RetryPolicy } from "./retry";

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
>;
export type StubFor = (env: Env, productId: number) => ProductStub;

/** Every request for a product goes to the one object named after it. */
export const productStub: StubFor = (env, productId) => env.PRODUCTS.getByName(String(productId));

/**
 * Call a product object, retrying transient failures with a fresh stub each time (a stub that
 * saw an error may be broken). `fields` name what the call is about, for the retry log line.
 */
export function callProduct<T>(
  env: Env,
  productId: number,
  fields: LogFields,
  call: (stub: ProductStub, attempt: number) => Promise<T>,
  stubFor: StubFor = productStub,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<T> {
  return withRetries(
    (attempt) => call(stubFor(env, productId), attempt),
    policy,
    (attempt, delayMs, error) =>
      logEvent(
        "Transient error, retrying",
        { product_id: productId, ...fields, attempt, delay_ms: delayMs, error: String(error) },
        "warn",
      ),
  );
}
