// The OpenAPI checks that need Node rather than workerd: Redocly's linter and openapi-typescript
// (both use Node built-ins, and Ajv's code generation, which workerd forbids). The document comes
// from the app itself, imported here in Node: its generation touches no binding. The Workers pool
// (test/openapi.test.ts) checks that workerd serves the same document.
//
//   npx vitest run --config test/typed-client/vitest.config.mjs            check
//   npx vitest run --config test/typed-client/vitest.config.mjs --update   regenerate
//                                                  (npm run openapi:types)
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["test/typed-client/**/*.spec.mjs"],
    environment: "node",
    testTimeout: 60_000,
  },
});
