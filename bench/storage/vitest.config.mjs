// `npx vitest run --config bench/storage/vitest.config.mjs`: the storage bench (storage.test.mjs),
// inside workerd with the same @cloudflare/vitest-plugin setup as the tests (test/vitest.config.ts),
// where Date can be faked and alarms run on demand. The test prints its figures as one
// "STORAGE_REPORT <json>" line; onConsoleLog below (in Node, outside workerd) turns it into
// bench/results/storage.md and storage.json. The object's own JSON log lines are dropped.
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { benchReport, root, workersPool } from "../../scripts/workers-pool.mjs";
import { storageMarkdown } from "./report.mjs";

const results = fileURLToPath(new URL("../results/", import.meta.url));
const MARKER = "STORAGE_REPORT ";

function writeReport(report) {
  mkdirSync(results, { recursive: true });
  writeFileSync(`${results}storage.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${results}storage.md`, storageMarkdown(report));
  process.stdout.write(
    `\n${storageMarkdown(report)}\nWrote bench/results/storage.md and storage.json\n`,
  );
}

export default defineConfig(async () => ({
  root,
  plugins: [
    await workersPool({
      ADMIN_TOKEN: "dev-admin-token",
      QUEUE_SECRET: "storage-bench-queue-secret-0123456789",
      ALLOW_ANONYMOUS_SHOPPERS: "true",
      ALLOW_UNSIGNED_WEBHOOKS: "true",
      RATE_LIMITS: "off",
      STORAGE_BENCH_HOLDS: process.env.STORAGE_BENCH_HOLDS ?? "",
    }),
  ],
  test: {
    include: ["bench/storage/**/*.test.mjs"],
    setupFiles: ["bench/storage/setup.mjs"],
    testTimeout: 900_000,
    hookTimeout: 60_000,
    // The object's JSON log lines (one per expired hold, per retention slice...) are dropped.
    onConsoleLog: benchReport(MARKER, writeReport),
  },
}));
