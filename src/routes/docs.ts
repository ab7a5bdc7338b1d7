import { Scalar } from "@scalar/hono-api-reference";
import { NONCE, secureHeaders } from "hono/secure-headers";
import { EXAMPLE_COMPONENTS, HEADER_COMPONENTS, RESPONSE_COMPONENTS } from "../http/openapi";
import { ErrorBody } from "../contract/shapes";
import type { App } from "../http/context";

/**
 * The OpenAPI 3.1 document (generated from the same zod schemas that validate requests) and the
 * API reference that renders it. Neither is an operation of the API itself, so neither is in the
 * document's `paths`.
 */
export const OPENAPI_PATH = "/openapi.json";
export const DOCS_PATH = "/docs";
/**
 * The renderer's single-file browser build, served from this origin: `npm install` copies it from
 * the pinned @scalar/api-reference package into public/ (scripts/vendor-docs.mjs), so no
 * third-party script ever runs on the console's origin.
 */
export const SCALAR_SCRIPT = "/vendor/scalar-api-reference.js";

/**
 * The reference page's policy: scripts from this origin and its own inline start-up script (by
 * nonce); the renderer injects its styles; it reads the document from this origin; nobody may
 * frame it.
 */
const docsHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'", NONCE],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", "data:"],
    fontSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: "DENY",
  referrerPolicy: "no-referrer",
  crossOriginEmbedderPolicy: false,
});

const SECURITY_SCHEMES = {
  AdminToken: {
    type: "http",
    scheme: "bearer",
    description:
      "Operator routes: `Authorization: Bearer $ADMIN_TOKEN` (set with `wrangler secret put ADMIN_TOKEN`). Without a valid one, 401 `unauthorized` with a `WWW-Authenticate` challenge; while ADMIN_TOKEN is unset, every operator route is 403 `admin_disabled`. It also reads any order (GET /api/orders/{id}).",
  },
  ShopperToken: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "When SHOPPER_TOKEN_SECRET is set: the shopper's HS256 JWT, minted by the storefront's backend (`sub` = the shopper id, `exp` required; `npm run shopper-token` mints one locally). Routes that take or give back stock then require it (401 `shopper_token_required`; a bad, expired or foreign token is 401 `invalid_shopper_token`), and `X-Shopper-Id` is ignored.",
  },
  ShopperId: {
    type: "apiKey",
    in: "header",
    name: "X-Shopper-Id",
    description:
      "When SHOPPER_TOKEN_SECRET is not set and TRUST_SHOPPER_HEADER=true: a trusted storefront backend names the shopper (1 to 128 printable ASCII characters, else 422 `invalid_request`). For trusted backends only: a browser could claim any id, so without TRUST_SHOPPER_HEADER=true a request that sends the header is 503 `shopper_auth_not_configured` (whatever ALLOW_ANONYMOUS_SHOPPERS says). Naming no one is shopping anonymously, allowed only while ALLOW_ANONYMOUS_SHOPPERS=true (local use); otherwise the routes that take stock answer 503 `shopper_auth_not_configured`.",
  },
  WebhookSignature: {
    type: "apiKey",
    in: "header",
    name: "webhook-signature",
    description:
      "Standard Webhooks (https://www.standardwebhooks.com): the gateway signs `{webhook-id}.{webhook-timestamp}.{raw body}` with HMAC-SHA256 under WEBHOOK_SECRET (`whsec_…`) and sends three headers: `webhook-id` (the message id, which stands in for `idempotency_key`), `webhook-timestamp` (Unix seconds, accepted within 5 minutes) and `webhook-signature` (`v1,<base64>`; several, space-separated, while a secret is rotated). Anything else is 401 `invalid_signature`; without WEBHOOK_SECRET, 503 `webhook_secret_not_configured`, unless ALLOW_UNSIGNED_WEBHOOKS=true (local use), where unsigned webhooks are accepted.",
  },
  StripeSignature: {
    type: "apiKey",
    in: "header",
    name: "stripe-signature",
    description:
      "Stripe's own signature header (`t=…,v1=…`), verified with the `stripe` package against STRIPE_WEBHOOK_SECRET (from Stripe's dashboard). Missing, wrong or stale: 400 `invalid_stripe_signature`, as Stripe expects.",
  },
} as const;

const TAGS = [
  {
    name: "Products",
    description: "A product's stock, exact at the moment of the read, and live updates.",
  },
  {
    name: "Holds",
    description: "Short-lived reservations of units: the first step of a checkout.",
  },
  { name: "Queue", description: "The fair queue a product may have during a sale." },
  { name: "Orders", description: "A hold turned into an order, waiting for its payment." },
  {
    name: "Payments",
    description: "The payment gateway's notifications, each applied exactly once.",
  },
  {
    name: "Admin",
    description: "Operator routes: products, stock, metrics, refunds and dead letters.",
  },
  { name: "Service", description: "The deployment itself: liveness and storefront settings." },
];

const DESCRIPTION = `Holds, orders and an exactly-once payment webhook, with one Durable Object per product.

JSON in and out, snake_case. Every error answer has the shape \`{"error": {"code", "message", "request_id"}}\` (the \`Error\` schema); its \`code\` says what happened, and each operation lists the codes it can answer, with an example of each. Every answer carries a \`Request-Id\` header. Any operation can also answer 405 (another method on its path, with \`Allow\`), 413 (a request body over 16 KiB) and 500 (a bug). Unknown paths are 404 \`not_found\`.

The rendered reference is at [${DOCS_PATH}](${DOCS_PATH}); this document is at \`${OPENAPI_PATH}\`.`;

export function docsRoutes(app: App): void {
  const registry = app.openAPIRegistry;
  registry.register("Error", ErrorBody);
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) {
    registry.registerComponent("securitySchemes", name, scheme);
  }
  for (const [name, header] of Object.entries(HEADER_COMPONENTS)) {
    registry.registerComponent("headers", name, header);
  }
  for (const [name, response] of Object.entries(RESPONSE_COMPONENTS)) {
    registry.registerComponent("responses", name, response);
  }
  for (const [name, example] of Object.entries(EXAMPLE_COMPONENTS)) {
    registry.registerComponent("examples", name, example);
  }

  app.doc31(OPENAPI_PATH, {
    openapi: "3.1.0",
    info: { title: "Flash-sale checkout", version: "1.0.0", description: DESCRIPTION },
    servers: [
      { url: "http://127.0.0.1:8787", description: "Local: `npm start` (wrangler dev)" },
      {
        url: "https://{host}",
        description: "Production: where `wrangler deploy` put the Worker",
        variables: {
          host: {
            default: "flash-sale-checkout.your-subdomain.workers.dev",
            description: "The Worker's workers.dev address or custom domain.",
          },
        },
      },
    ],
    tags: TAGS,
  });

  // Scalar's API reference: this HTML page, whose browser loads Scalar's renderer from this
  // origin and reads the document from OPENAPI_PATH. Nothing here fetches anything.
  app.get(
    DOCS_PATH,
    docsHeaders,
    Scalar((c) => ({
      url: OPENAPI_PATH,
      pageTitle: "Flash-sale checkout API",
      cdn: SCALAR_SCRIPT,
      nonce: c.get("secureHeadersNonce"),
      // Scalar's default fonts come from its own servers; the system's will do.
      withDefaultFonts: false,
    })),
  );
}
