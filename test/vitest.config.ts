import { defineConfig } from "vitest/config";
import { root, workersPool } from "../scripts/workers-pool.mjs";
import { FAKE_STRIPE_KEY, startFakeStripe } from "./fake-stripe.mjs";

// Tests run inside workerd against the real Worker, Durable Object and a local D1, configured
// from wrangler.toml. Webhooks are signed in tests, as in production.
export default defineConfig(async () => {
  // The fake Stripe API the checkout tests talk to, on loopback (see test/fake-stripe.mjs).
  const fakeStripe = await startFakeStripe();
  return {
    root,
    plugins: [
      await workersPool({
        WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ADMIN_TOKEN: "test-admin-token",
        QUEUE_SECRET: "test-queue-secret-0123456789abcdef",
        // Most tests shop anonymously, as under npm start; the shopper tests name shoppers,
        // sign tokens and turn rate limits on per request.
        ALLOW_ANONYMOUS_SHOPPERS: "true",
        // Tests name shoppers in X-Shopper-Id, as a trusted storefront backend does; the
        // untrusted-header tests turn this off per request.
        TRUST_SHOPPER_HEADER: "true",
        RATE_LIMITS: "off",
        // The model-based test (test/model.test.ts): how many random sequences, and from which
        // seed ("" picks a new one each run and prints it on failure). `npm run fuzz` sets both.
        FUZZ_RUNS: process.env.FUZZ_RUNS || "300",
        FUZZ_SEED: process.env.FUZZ_SEED ?? "",
        FAKE_STRIPE_URL: fakeStripe,
        FAKE_STRIPE_KEY,
      }),
    ],
    test: {
      include: ["test/**/*.test.ts"],
      setupFiles: ["test/setup.ts"],
      testTimeout: 20_000,
      // The object's JSON log lines are shown for failing tests only.
      silent: "passed-only",
    },
  };
});
