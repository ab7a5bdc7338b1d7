import type { D1Migration } from "cloudflare:test";
import type { Env } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends import("../src/env").Env {
      TEST_MIGRATIONS: D1Migration[];
      WEBHOOK_SECRET: string;
      ADMIN_TOKEN: string;
    }
  }
}
export type TestEnv = Env;
