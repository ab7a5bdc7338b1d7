import type { D1Migration } from "cloudflare:test";

// What the test pool adds to the Worker's bindings (see vitest.config.ts).
declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** Sequences the model-based test runs (test/model.test.ts). */
      FUZZ_RUNS: string;
      /** Its fast-check seed, optionally with a replay path ("seed:path"); "" for a new one. */
      FUZZ_SEED: string;
      /** The fake Stripe API on loopback (test/fake-stripe.mjs), and the key it accepts. */
      FAKE_STRIPE_URL: string;
      FAKE_STRIPE_KEY: string;
    }
  }
}

/** Vite's `?raw` imports: a file's text (test/trust-headers.test.ts reads public/_headers). */
declare module "*?raw" {
  const text: string;
  export default text;
}
