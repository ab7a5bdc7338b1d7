import { defineConfig } from "vitest/config";

// `npm test` runs every project in one run (one report, one exit code): the contract tests in
// workerd (test/vitest.config.ts), the Node-side checks of the OpenAPI document (Redocly's
// lint, the generated client types), which need Node built-ins workerd does not have, and the
// escrow model test of the pure shard modules (test/shards/).
export default defineConfig({
  test: {
    projects: [
      "test/vitest.config.ts",
      "test/typed-client/vitest.config.mjs",
      "test/shards/vitest.config.mjs",
    ],
  },
});
