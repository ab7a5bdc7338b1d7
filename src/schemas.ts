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
export const HoldIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name: "id", in: "path" }, example: "hld_1_3b8e…" }),
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
    sale_starts_at: Timestamp.nullable().openapi({
      description: "Holds are refused before this time (409 sale_not_started); null: on sale now.",
    }),
    sale_ends_at: Timestamp.nullable().openapi({
      description: "Holds are refused from this time on (409 sale_ended); null: no end.",
    }),
    max_units_per_shopper: z.number().int().openapi({
      description:
        "Units one shopper may have in active holds, pending and paid orders: the product's own limit, else MAX_UNITS_PER_SHOPPER.",
    }),
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

export const HoldStatus = z.enum(["active", "ordered", "expired", "released"]);
export type HoldStatus = z.infer<typeof HoldStatus>;

const ShopperIdField = z.string().optional().openapi({
  description: "The shopper it belongs to; absent for an anonymous shopper (local use).",
});

export const Hold = z
  .object({
    hold_id: z.string().openapi({ example: "hld_1_3b8e…" }),
    product_id: ProductId,
    qty: z.number().int(),
    status: HoldStatus,
    expires_at: Timestamp,
    shopper_id: ShopperIdField,
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
    shopper_id: ShopperIdField,
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

const ProductName = z.string().min(1).max(200);
const PriceCents = z.number().int().min(0).max(100_000_000);
const SaleTime = z.iso
  .datetime({ offset: true, message: "an ISO 8601 date and time, e.g. 2026-12-01T09:00:00Z" })
  .nullable()
  .openapi({ format: "date-time", example: "2026-12-01T09:00:00Z" });
const UnitsPerShopper = z.number().int().min(1).max(1_000_000).nullable().openapi({
  description: "null: MAX_UNITS_PER_SHOPPER applies",
});

/** The settings an operator may give a product when creating it and change later. */
const ProductSettings = {
  sale_starts_at: SaleTime.optional(),
  sale_ends_at: SaleTime.optional(),
  max_units_per_shopper: UnitsPerShopper.optional(),
};

export const ProductCreateRequest = z
  .object({
    id: ProductId,
    name: ProductName,
    price_cents: PriceCents,
    currency: z.string().regex(/^[A-Z]{3}$/, "currency must be an ISO 4217 code such as USD"),
    stock: z.number().int().min(0).max(1_000_000_000),
    ...ProductSettings,
  })
  .strict()
  .openapi("ProductCreateRequest");

export const ProductUpdateRequest = z
  .object({
    name: ProductName.optional(),
    price_cents: PriceCents.optional().openapi({
      description: "For holds made from now on; a hold keeps the price it was made at.",
    }),
    ...ProductSettings,
  })
  .strict()
  .openapi("ProductUpdateRequest");

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
      released: z.number().int(),
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
      request_id: z
        .string()
        .openapi({ description: "Also in the Request-Id header and the logs." }),
    }),
  })
  .openapi("Error");

export type ProductView = z.infer<typeof Product>;
export type HoldView = z.infer<typeof Hold>;
export type OrderView = z.infer<typeof Order>;
export type WebhookAnswerView = z.infer<typeof WebhookAnswer>;
export type ProductMetricsView = z.infer<typeof ProductMetrics>;
