// The API's shapes, for the JSDoc types of the pages: each is the generated OpenAPI type
// (src/contract/openapi.d.ts, from GET /openapi.json), so a field renamed or removed in the API
// fails `npm run typecheck:pages`. Comments only: the browser loads nothing from here.

/** @typedef {import("../../src/contract/openapi").components["schemas"]} Schemas */

/** @typedef {Schemas["StorefrontConfig"]} StorefrontConfig */
/** @typedef {Schemas["Product"]} Product */
/** @typedef {Schemas["Hold"]} Hold */
/** @typedef {Schemas["Order"]} Order */
/** @typedef {Schemas["QueueTicket"]} QueueTicket */
/** @typedef {Schemas["PaymentWebhookAnswer"]} PaymentWebhookAnswer */
/** @typedef {Schemas["CatalogueItem"]} CatalogueItem */
/** @typedef {Schemas["CatalogueList"]} CatalogueList */
/** @typedef {Schemas["ProductCreateRequest"]} ProductCreateRequest */
/** @typedef {Schemas["ProductUpdateRequest"]} ProductUpdateRequest */
/** @typedef {Schemas["ProductMetrics"]} ProductMetrics */
/** @typedef {Schemas["Refund"]} Refund */
/** @typedef {Schemas["RefundList"]} RefundList */
/** @typedef {Schemas["DeadLetter"]} DeadLetter */
/** @typedef {Schemas["DeadLetterList"]} DeadLetterList */
/** @typedef {Schemas["Error"]["error"]["code"]} ErrorCode */

/** @typedef {import("../../src/contract/openapi").paths} Paths */
/**
 * The JSON a route answers with 200, by its path and method, for answers with no named schema.
 * @template {keyof Paths} P
 * @template {"get" | "post" | "delete"} M
 * @typedef {Paths[P][M] extends { responses: { 200: { content: { "application/json": infer T } } } } ? T : never} Answer
 */
/** @typedef {Answer<"/api/orders/{id}/checkout", "post">} CheckoutSession */
/** @typedef {Answer<"/api/admin/orders", "get">} OrderList */
/** @typedef {Answer<"/api/admin/orders/{id}", "get">} OrderDetail */
/** @typedef {OrderDetail["timeline"][number]} TimelineEntry */

/**
 * A stock frame of the live socket (GET /api/products/:id/live, a WebSocket the OpenAPI document
 * does not describe; src/product/live.ts sends it): the product's counters on every change.
 * @typedef {{ type: "stock" } & Pick<Product, "stock" | "reserved" | "available" | "sold_out">} StockFrame
 */

/**
 * A queue frame of the live socket, for the ticket the socket follows (src/product/live.ts).
 * @typedef {{ type: "queue" } & Pick<QueueTicket, "position" | "state" | "admission_token" | "admission_expires_at">} QueueFrame
 */

/** @typedef {StockFrame | QueueFrame} LiveFrame */

export {};
