import { z } from "@hono/zod-openapi";
import { ERROR_STATUS, type ErrorCode } from "./errors";

/** Request and response shapes, declared once: they validate requests and document the API. */

const MAX_ID = 2_147_483_647;

export const ProductId = z.number().int().min(1).max(MAX_ID).openapi({ example: 1 });
export const ProductIdParam = z.object({
  id: z
    .string()
    .regex(/^[1-9][0-9]{0,9}$/, "product id must be a positive integer")
    .transform(Number)
    .pipe(ProductId)
    .openapi({ param: { name: "id", in: "path" }, example: "1" }),
});
export const OrderIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name: "id", in: "path" }, example: "ord_1_9f1c…" }),
});

const Timestamp = z.string().openapi({ format: "date-time", example: "2026-11-25T10:00:00.000Z" });

export const Product = z
  .object({
    id: ProductId,
    name: z.string(),
    price_cents: z.number().int(),
    currency: z.string().openapi({ example: "USD" }),
    stock: z.number().int().openapi({ description: "Units on hand, not yet sold." }),
    reserved: z
      .number()
      .int()
      .openapi({ description: "Units in active holds and pending orders." }),
    available: z.number().int().openapi({ description: "stock - reserved" }),
  })
  .openapi("Product");

export const HoldRequest = z
  .object({
    product_id: ProductId,
    qty: z
      .number()
      .int()
      .min(1)
      .openapi({ description: "1..MAX_QTY_PER_HOLD (default 5)", example: 1 }),
  })
  .strict()
  .openapi("HoldRequest");

export const IdempotencyKeyHeader = z.object({
  "idempotency-key": z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, "Idempotency-Key must be printable ASCII without spaces")
    .optional()
    .openapi({
      param: { name: "idempotency-key", in: "header" },
      description: "Retrying with the same key returns the same hold.",
    }),
});

export const Hold = z
  .object({
    hold_id: z.string().openapi({ example: "hld_1_3b8e…" }),
    product_id: ProductId,
    qty: z.number().int(),
    expires_at: Timestamp,
  })
  .openapi("Hold");

export const OrderRequest = z
  .object({ hold_id: z.string().min(1).max(200) })
  .strict()
  .openapi("OrderRequest");

export const OrderStatus = z.enum(["pending", "paid", "failed", "cancelled"]);
export type OrderStatus = z.infer<typeof OrderStatus>;

export const Order = z
  .object({
    order_id: z.string(),
    hold_id: z.string(),
    product_id: ProductId,
    qty: z.number().int(),
    status: OrderStatus,
    amount_cents: z.number().int(),
    currency: z.string(),
    created_at: Timestamp,
    pay_by: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Order");

export const PaymentStatus = z.enum(["success", "failure"]);
export type PaymentStatus = z.infer<typeof PaymentStatus>;

export const WebhookRequest = z
  .object({
    idempotency_key: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .openapi({ description: "Required unless the signed `webhook-id` header stands in for it." }),
    order_id: z.string().min(1).max(200),
    status: PaymentStatus,
  })
  .openapi("PaymentWebhook");

export const WebhookAnswer = z
  .object({
    order_id: z.string(),
    order_status: OrderStatus,
    duplicate: z.boolean(),
    ignored: z.boolean().optional(),
  })
  .openapi("PaymentWebhookAnswer");

export const ProductCreateRequest = z
  .object({
    id: ProductId,
    name: z.string().min(1).max(200),
    price_cents: z.number().int().min(0).max(100_000_000),
    currency: z.string().regex(/^[A-Z]{3}$/, "currency must be an ISO 4217 code such as USD"),
    stock: z.number().int().min(0).max(1_000_000_000),
  })
  .strict()
  .openapi("ProductCreateRequest");

export const RestockRequest = z
  .object({ qty: z.number().int().min(1).max(1_000_000_000) })
  .strict()
  .openapi("RestockRequest");

export const ProductMetrics = z
  .object({
    product_id: ProductId,
    stock: z.number().int(),
    reserved: z.number().int(),
    available: z.number().int(),
    sold: z.number().int(),
    initial_stock: z.number().int(),
    restocked: z.number().int(),
    holds: z.object({
      active: z.number().int(),
      ordered: z.number().int(),
      expired: z.number().int(),
    }),
    orders: z.object({
      pending: z.number().int(),
      paid: z.number().int(),
      failed: z.number().int(),
      cancelled: z.number().int(),
    }),
    webhooks: z.object({
      processed: z.number().int(),
      ignored: z.number().int(),
      duplicates: z.number().int(),
    }),
    refunds_required: z
      .number()
      .int()
      .openapi({ description: "Successful payments for orders already failed or cancelled." }),
    holds_rejected_since_start: z
      .number()
      .int()
      .openapi({ description: "409 insufficient_stock answers since the object last started." }),
    history_outbox_backlog: z
      .number()
      .int()
      .openapi({ description: "Order-history rows not yet written to D1." }),
    invariants: z.object({
      ok: z.boolean(),
      violations: z.array(z.string()),
    }),
  })
  .openapi("ProductMetrics");

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
    }),
  })
  .openapi("Error");

export type ProductView = z.infer<typeof Product>;
export type HoldView = z.infer<typeof Hold>;
export type OrderView = z.infer<typeof Order>;
export type WebhookAnswerView = z.infer<typeof WebhookAnswer>;
export type ProductMetricsView = z.infer<typeof ProductMetrics>;
