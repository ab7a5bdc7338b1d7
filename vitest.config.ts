import { defineConfig } from "vitest/config";

// `npm test` runs both projects in one run (one report, one exit code): the contract tests in
// workerd (test/vitest.config.ts), and the Node-side checks of the OpenAPI document (Redocly's
// lint, the generated client types), which need Node built-ins workerd does not have.
export default defineConfig({
  test: { projects: ["test/vitest.config.ts", "test/typed-client/vitest.config.mjs"] },
});
