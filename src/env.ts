import type { ProductObject } from "./product/product-object";

/** Bindings and variables the Worker and each product's Durable Object receive. */
export interface Env {
  PRODUCTS: DurableObjectNamespace<ProductObject>;
  DB: D1Database;
  HOLD_TTL_SECONDS?: string;
  PAYMENT_TTL_SECONDS?: string;
  MAX_QTY_PER_HOLD?: string;
  /** Standard Webhooks secret (`whsec_…`); when set, every webhook must be signed with it. */
  WEBHOOK_SECRET?: string;
  /** "true" lets unsigned webhooks in when no secret is set. Local development only. */
  ALLOW_UNSIGNED_WEBHOOKS?: string;
  /** Bearer token for /api/admin/*; admin routes are off while it is unset. */
  ADMIN_TOKEN?: string;
}
