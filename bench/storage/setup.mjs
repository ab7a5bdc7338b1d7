// The D1 schema (catalogue and order history), as the tests apply it (test/setup.ts).
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
