// `npx vitest run --config bench/shards/vitest.config.mjs`: the per-operation costs the shard
// simulation is fed with (costs.test.mjs), measured inside workerd against today's ProductObject
// through its RPC stub, as a shard would be called. The test prints one "SHARD_COSTS <json>"
// line; onConsoleLog below (in Node) writes it to bench/results/shard-costs.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { benchReport, root, workersPool } from "../../scripts/workers-pool.mjs";

const results = fileURLToPath(new URL("../results/", import.meta.url));
const MARKER = "SHARD_COSTS ";

export default defineConfig(async () => ({
  root,
  plugins: [
    await workersPool({
      ADMIN_TOKEN: "dev-admin-token",
      ALLOW_ANONYMOUS_SHOPPERS: "true",
      RATE_LIMITS: "off",
      HOLD_TTL_SECONDS: "3600",
    }),
  ],
  test: {
    include: ["bench/shards/**/*.test.mjs"],
    setupFiles: ["bench/storage/setup.mjs"],
    testTimeout: 600_000,
    onConsoleLog: benchReport(MARKER, (report) => {
      mkdirSync(results, { recursive: true });
      writeFileSync(`${results}shard-costs.json`, `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(
        `${JSON.stringify(report, null, 2)}\nWrote bench/results/shard-costs.json\n`,
      );
    }),
  },
}));
