// The escrow model test (test/shards/): src/shards/ is pure (no Workers API), so it runs in Node,
// thousands of interleavings a second. `npm test` includes it through vitest.config.ts.
//
//   npx vitest run --config test/shards/vitest.config.mjs
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    name: "shards",
    include: ["test/shards/**/*.spec.ts"],
    environment: "node",
    testTimeout: 120_000,
  },
});
