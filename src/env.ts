/**
 * What the Worker and each product's object receive. Bindings and variables come from
 * wrangler.toml through `Cloudflare.Env`, which `npm run types` generates
 * (worker-configuration.d.ts). Secrets are set with `wrangler secret put`, so they are
 * declared here, each optional because a deploy may not have set it.
 */
declare global {
  namespace Cloudflare {
    interface Env {
      /** Standard Webhooks secret (`whsec_…`); when set, every webhook must be signed with it. */
      WEBHOOK_SECRET?: string;
      /** Bearer token for /api/admin/*; admin routes are off while it is unset. */
      ADMIN_TOKEN?: string;
      /** HS256 key of the shopper JWTs a storefront backend mints; see src/shopper-auth.ts. */
      SHOPPER_TOKEN_SECRET?: string;
      /** HMAC key of queue tickets and admission tokens; the queue cannot be turned on without it. */
      QUEUE_SECRET?: string;
      /** The signing secret of a Stripe webhook endpoint (`whsec_…`), for POST /api/payments/stripe. */
      STRIPE_WEBHOOK_SECRET?: string;
      /** A Stripe secret key (`sk_live_…`/`sk_test_…`), for POST /api/orders/:id/checkout. */
      STRIPE_SECRET_KEY?: string;
    }
  }
}

export type Env = Cloudflare.Env;
