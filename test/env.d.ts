import type { D1Migration } from "cloudflare:test";

// What the test pool adds to the Worker's bindings (see vitest.config.ts).
declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}
