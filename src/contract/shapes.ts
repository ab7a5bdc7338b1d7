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

export const LatePayments = z.enum(["refund", "accept_if_available"]).openapi({
  description:
    "What a success for an order already cancelled or failed does: `refund` (the order's first final word stands; a refund is due) or `accept_if_available` (its units are sold if still there).",
});
export type LatePayments = z.infer<typeof LatePayments>;

export const QueueSettings = z
  .object({
    enabled: z.boolean(),
    admit_per_second: z.number().int().min(1).max(10_000).openapi({ example: 50 }),
    admission_ttl_seconds: z.number().int().min(10).max(3_600).openapi({ example: 60 }),
  })
  .openapi("QueueSettings", {
    description:
      "The product's fair queue: when enabled, holds need an admission token from POST /api/products/:id/queue.",
  });

export const Product = z
  .object({
    id: ProductId,
    name: z.string(),
    image_url: z.string().nullable().openapi({
      description:
        "The product's picture: an https URL, or a path on this origin (e.g. `/images/sneaker.svg`); null: none.",
      example: "/images/sneaker.svg",
    }),
    description: z.string().nullable().openapi({
      description: "A few plain sentences for the storefront; null: none.",
    }),
    price_cents: z.number().int(),
    currency: z.string().openapi({ example: "USD" }),
    stock: z.number().int().openapi({ description: "Units on hand, not yet sold." }),
    reserved: z
      .number()
      .int()
      .openapi({ description: "Units in active holds and pending orders." }),
    available: z.number().int().openapi({ description: "stock - reserved" }),
    sold_out: z.boolean().openapi({
      description:
        "Nothing left and nothing can come back (no stock, no active holds, no pending orders). With available 0 but sold_out false, units may still come back.",
    }),
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
    late_payments: LatePayments,
    queue: QueueSettings,
    shards: z.number().int().min(2).max(256).optional().openapi({
      description:
        "Objects the product's stock is split over (docs/sharding.md); absent: 1, one object sells it all. With more, `stock`, `reserved` and `available` are summed over the coordinator's pool and the shards, and `sold_out` is true only once the coordinator has certified that every unit is sold.",
      example: 4,
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
    admission_token: z.string().min(1).max(1_000).optional().openapi({
      description:
        "Required while the product's queue is on: the token an admitted ticket carries. One admission, one hold.",
    }),
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
      description:
        "Makes retries safe: a retry with the same key gets the first request's answer (marked `Idempotent-Replayed: true`) and changes nothing again.",
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
    order_number: z.string().openapi({
      example: "7ZK3M0QD",
      description:
        "For people (receipts, support): 8 Crockford base32 characters derived from the order id. Not unique across all time: a search by number may find more than one order; the order id is unique.",
    }),
    hold_id: z.string(),
    product_id: ProductId,
    qty: z.number().int(),
    status: OrderStatus,
    amount_cents: z.number().int(),
    currency: z.string(),
    created_at: Timestamp,
    pay_by: Timestamp,
    updated_at: Timestamp,
    payment_id: z
      .string()
      .nullable()
      .openapi({ description: "The gateway's payment id, once a payment named one." }),
    paid_late: z.boolean().openapi({
      description:
        "Paid after its window closed, accepted under LATE_PAYMENTS=accept_if_available.",
    }),
    shopper_id: ShopperIdField,
  })
  .openapi("Order");

const QueryProductId = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, "product_id must be a positive integer")
  .transform(Number)
  .pipe(ProductId)
  .optional()
  .openapi({ param: { name: "product_id", in: "query" }, example: "1" });

export const OrderListQuery = z.object({
  product_id: QueryProductId,
  status: OrderStatus.optional().openapi({ param: { name: "status", in: "query" } }),
  shopper_id: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .openapi({ param: { name: "shopper_id", in: "query" } }),
  payment_id: z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({ param: { name: "payment_id", in: "query" }, example: "pi_3Q…" }),
  order_number: z
    .string()
    .max(20)
    .optional()
    .openapi({
      param: { name: "order_number", in: "query" },
      example: "7ZK3M0QD",
      description:
        "8 Crockford base32 characters, any case (O reads as 0, I and L as 1). May match more than one order.",
    }),
  since: z.iso
    .datetime({ offset: true, message: "an ISO 8601 date and time, e.g. 2026-12-01T09:00:00Z" })
    .optional()
    .openapi({
      param: { name: "since", in: "query" },
      description: "Orders created at or after this time.",
    }),
  limit: z
    .string()
    .regex(/^[0-9]{1,3}$/, "limit must be a whole number from 1 to 100")
    .transform(Number)
    .pipe(z.number().int().min(1).max(100))
    .optional()
    .openapi({ param: { name: "limit", in: "query" }, description: "1..100, default 100." }),
  cursor: z
    .string()
    .max(500)
    .optional()
    .openapi({ param: { name: "cursor", in: "query" }, description: "From `next_cursor`." }),
});

export const OrderList = z
  .object({
    orders: z.array(Order),
    next_cursor: z
      .string()
      .nullable()
      .openapi({ description: "Pass as `cursor` (with the same filters) for the next page." }),
  })
  .openapi("OrderList");

export const TimelineKind = z.enum([
  "hold_created",
  "order_created",
  "payment_attempt",
  "paid",
  "failed",
  "cancelled",
  "expired",
  "refund_created",
  "refund_resolved",
]);

export const TimelineEntry = z
  .object({
    at: Timestamp,
    kind: TimelineKind,
    detail: z.string().nullable(),
  })
  .openapi("TimelineEntry");

export const OrderDetail = z
  .object({
    order: Order,
    timeline: z.array(TimelineEntry).openapi({ description: "Oldest first." }),
  })
  .openapi("OrderDetail");

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
    amount_cents: z.number().int().min(0).max(100_000_000_000).optional().openapi({
      description:
        "What was charged. When given (or `currency` is) and it differs from the order, a success does not pay the order: the money is recorded as a refund due (`amount_mismatch`).",
    }),
    currency: z
      .string()
      .regex(/^[A-Za-z]{3}$/, "currency must be an ISO 4217 code such as USD")
      .optional()
      .openapi({ description: "ISO 4217, any case (Stripe sends lowercase)." }),
    payment_id: z.string().min(1).max(255).optional().openapi({
      description:
        "The gateway's charge or payment-intent id: stored on the order; the same id under another key is the same payment.",
    }),
  })
  .openapi("PaymentWebhook", {
    description: "Other fields are accepted and ignored: gateways add fields over time.",
  });

export const WebhookAnswer = z
  .object({
    order_id: z.string(),
    order_status: OrderStatus,
    duplicate: z.boolean(),
    ignored: z.boolean().optional(),
    reason: z.enum(["amount_mismatch", "double_charge"]).optional().openapi({
      description: "Why a success did not pay the order; a refund due was recorded.",
    }),
    paid_late: z.boolean().optional().openapi({
      description: "A success after the order closed, accepted because its units were still there.",
    }),
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

const ImageUrl = z
  .string()
  .max(2_048)
  .refine(
    (value) => {
      // A path on this origin ("/images/a.svg", not the protocol-relative "//host/a.svg")...
      if (value.startsWith("/")) return !value.startsWith("//") && !/[\s\\]/.test(value);
      // ...or an absolute https URL.
      try {
        return new URL(value).protocol === "https:" && !/\s/.test(value);
      } catch {
        return false;
      }
    },
    { message: "an https URL or a path on this origin starting with /, e.g. /images/shoe.svg" },
  )
  .nullable()
  .openapi({
    description:
      "An https URL, or a path on this origin starting with `/`; at most 2048 characters. null clears it.",
    example: "/images/sneaker.svg",
  });
const Description = z
  .string()
  .max(2_000)
  .nullable()
  .openapi({ description: "At most 2000 characters; null clears it." });

/** The settings an operator may give a product when creating it and change later. */
const ProductSettings = {
  image_url: ImageUrl.optional(),
  description: Description.optional(),
  sale_starts_at: SaleTime.optional(),
  sale_ends_at: SaleTime.optional(),
  max_units_per_shopper: UnitsPerShopper.optional(),
  late_payments: LatePayments.nullable()
    .optional()
    .openapi({ description: "null: LATE_PAYMENTS applies" }),
  queue: z
    .object({
      enabled: z.boolean(),
      admit_per_second: QueueSettings.shape.admit_per_second.optional(),
      admission_ttl_seconds: QueueSettings.shape.admission_ttl_seconds.optional(),
    })
    .strict()
    .optional()
    .openapi({
      description:
        "Turn the queue on or off; the rates not given keep their current values (defaults 50 and 60). Needs QUEUE_SECRET.",
    }),
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
    shards: z
      .number()
      .int()
      .min(1, "shards: 1 to 256")
      .max(256, "shards: 1 to 256")
      .optional()
      .openapi({
        description:
          "Split the stock over this many objects (docs/sharding.md). Only while nothing is held or pending on any of them (409 `shards_busy` otherwise); free units held by shards go back to the pool first.",
      }),
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
    units_sold: z
      .number()
      .int()
      .openapi({ description: "Units in paid orders (the same as `sold`)." }),
    revenue_cents: z.number().int().openapi({
      description:
        "The amounts of paid orders, in the product's currency (a refund due does not lower it; resolving one is done at the gateway).",
    }),
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
      .openapi({ description: "Refunds due (the same as refunds.due)." }),
    refunds: z.object({ due: z.number().int(), resolved: z.number().int() }),
    holds_rejected_since_start: z
      .number()
      .int()
      .openapi({ description: "409 insufficient_stock answers since the object last started." }),
    history_outbox_backlog: z
      .number()
      .int()
      .openapi({ description: "Order-history rows not yet written to D1." }),
    history_dead_letters: z
      .number()
      .int()
      .openapi({ description: "History events D1 refused, waiting for an operator." }),
    history_failing_attempts: z
      .number()
      .int()
      .openapi({ description: "Copies to D1 that failed in a row (0 when history flows)." }),
    storage_bytes: z
      .number()
      .int()
      .openapi({ description: "Size of the object's SQLite database." }),
    queue: z.object({
      enabled: z.boolean(),
      issued: z.number().int().openapi({ description: "Tickets given out." }),
      waiting: z.number().int().openapi({ description: "Tickets not admitted yet." }),
      admitted_unused: z
        .number()
        .int()
        .openapi({ description: "Admissions in their TTL not used for a hold yet." }),
      frontier: z.number().int().openapi({ description: "Highest place admitted." }),
    }),
    load_since_start: z
      .object({
        product_reads: z.number().int().openapi({
          description:
            "Product reads this object answered (the Worker shares one among concurrent reads).",
        }),
        live_relays: z
          .number()
          .int()
          .openapi({ description: "Relay objects with live sockets that this object feeds." }),
        live_flushes: z
          .number()
          .int()
          .openapi({ description: "Flushes of a change to the relays (at most 4 a second)." }),
        live_relay_messages: z.number().int().openapi({
          description:
            "Messages sent to relays: one per relay per flush, whatever the number of sockets.",
        }),
      })
      .openapi({ description: "Work this object did since it last started, for load checks." }),
    invariants: z.object({
      ok: z.boolean(),
      checked: z.enum(["counters", "full"]).openapi({
        description: "`full` (with ?check=full) re-derives every counter from the rows.",
      }),
      violations: z.array(z.string()),
    }),
    shards: z
      .object({
        count: z.number().int().openapi({ description: "The product's `shards` setting." }),
        pool: z.number().int().openapi({ description: "Units granted to no shard." }),
        in_flight: z.number().int().openapi({
          description:
            "Units in grants and returns sent but not yet applied (0 when quiescent; they are counted in the check).",
        }),
        sold_out_certified: z.boolean(),
        per_shard: z.array(
          z.object({
            shard: z.number().int(),
            stock: z.number().int().openapi({ description: "Its quota: free + held + pending." }),
            reserved: z.number().int(),
            available: z.number().int(),
            sold: z.number().int(),
            granted: z.number().int(),
            returned: z.number().int(),
            holds_active: z.number().int(),
            orders_pending: z.number().int(),
            dead_letters: z.number().int().openapi({
              description:
                "This shard's `history_dead_letters`: list and retry them with `?shard=k` on the dead-letter routes.",
            }),
            invariants_ok: z.boolean(),
          }),
        ),
      })
      .optional()
      .openapi({
        description:
          "A product whose stock is split over shards (docs/sharding.md): the figures above are summed over the coordinator and every shard, and the check adds pool + shard quotas + sold = stock.",
      }),
  })
  .openapi("ProductMetrics");

export const RefundReason = z.enum(["late_payment", "double_charge", "amount_mismatch"]);
export type RefundReason = z.infer<typeof RefundReason>;
export const RefundStatus = z.enum(["due", "resolved"]);

export const Refund = z
  .object({
    refund_id: z.string().openapi({ example: "rfd_1_7c0e…" }),
    order_id: z.string(),
    product_id: ProductId,
    amount_cents: z.number().int(),
    currency: z.string(),
    payment_id: z.string().nullable(),
    reason: RefundReason,
    status: RefundStatus,
    created_at: Timestamp,
    resolved_at: Timestamp.nullable(),
    note: z.string().nullable(),
  })
  .openapi("Refund");

export const RefundList = z
  .object({
    refunds: z.array(Refund),
    next_cursor: z
      .string()
      .nullable()
      .openapi({ description: "Pass as `cursor` for the next page." }),
  })
  .openapi("RefundList");

export const RefundListQuery = z.object({
  status: RefundStatus.optional().openapi({ param: { name: "status", in: "query" } }),
  product_id: z
    .string()
    .regex(/^[1-9][0-9]{0,9}$/, "product_id must be a positive integer")
    .transform(Number)
    .pipe(ProductId)
    .optional()
    .openapi({ param: { name: "product_id", in: "query" }, example: "1" }),
  cursor: z
    .string()
    .max(500)
    .optional()
    .openapi({ param: { name: "cursor", in: "query" }, description: "From `next_cursor`." }),
});

export const RefundIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name: "id", in: "path" }, example: "rfd_1_7c0e…" }),
});

export const RefundResolveRequest = z
  .object({
    note: z
      .string()
      .trim()
      .min(1, "a note is required: say how the money went back")
      .max(1_000)
      .openapi({
        description:
          "Required: how the money went back, e.g. the gateway's refund id (1..1000 characters, not blank).",
        example: "Refunded in Stripe: re_3Q…",
      }),
  })
  .strict()
  .openapi("RefundResolveRequest");

export const DeadLetter = z
  .object({
    seq: z.number().int(),
    event: z.string().openapi({ example: "order_paid" }),
    order_id: z.string(),
    attempts: z.number().int(),
    error: z.string(),
    queued_at: Timestamp,
    failed_at: Timestamp,
    payload: z.record(z.string(), z.unknown()),
  })
  .openapi("DeadLetter");

export const DeadLetterList = z
  .object({ dead_letters: z.array(DeadLetter), next_cursor: z.string().nullable() })
  .openapi("DeadLetterList");

export const DeadLetterParams = z.object({
  id: ProductIdParam.shape.id,
  seq: z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/, "seq must be a positive integer")
    .transform(Number)
    .openapi({ param: { name: "seq", in: "path" }, example: "42" }),
});

export const QueueTicket = z
  .object({
    ticket: z.string().openapi({ description: "Signed: keep it; it carries your place." }),
    product_id: ProductId,
    position: z.number().int().nullable().openapi({
      description:
        "Live place in line (1 = next); null before the pre-queue is shuffled and once admitted.",
    }),
    state: z.enum(["waiting", "admitted", "expired", "sold_out", "left"]).openapi({
      description:
        "`left`: its shopper left the line (DELETE /api/queue/{ticket}); join again for a new place.",
    }),
    admission_token: z.string().optional().openapi({
      description: "Once admitted, to the ticket's own shopper: send it with the hold.",
    }),
    admission_expires_at: Timestamp.optional(),
    estimated_wait_seconds: z.number().int().optional(),
  })
  .openapi("QueueTicket");

export const QueueLeft = z
  .object({
    ticket: z.string(),
    state: z.literal("left"),
  })
  .openapi("QueueLeft");

export const QueueJoinRequest = z.object({}).strict().openapi("QueueJoinRequest");

export const TicketParam = z.object({
  ticket: z
    .string()
    .min(1)
    .max(1_000)
    .openapi({ param: { name: "ticket", in: "path" }, example: "qt1.eyJw….Xk3…" }),
});

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
export type RefundView = z.infer<typeof Refund>;
export type DeadLetterView = z.infer<typeof DeadLetter>;
