// Lint with the type checker: in a Durable Object a forgotten `await` changes what commits when,
// so floating and misused promises are errors (typescript-eslint's type-aware rules, as
// honojs/middleware uses them). Formatting is prettier's job, not the linter's.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

/** `_name` marks a deliberately unused binding; rest siblings pick what is left of an object. */
const UNUSED = { argsIgnorePattern: "^_", varsIgnorePattern: "^_", ignoreRestSiblings: true };

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      ".wrangler/",
      "bench/results/",
      "test-results/",
      "public/vendor/",
      "**/worker-configuration.d.ts",
    ],
  },
  js.configs.recommended,
  {
    files: ["**/*.ts"],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["vitest.config.ts", "test/vitest.config.ts"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", UNUSED],
      // Only to add to the runtime's global `Cloudflare.Env` (src/env.ts, test/env.d.ts).
      "@typescript-eslint/no-namespace": ["error", { allowDeclarations: true }],
    },
  },
  {
    // Tests read JSON answers as loosely typed values and fake async APIs with plain functions.
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    files: ["**/*.mjs", "**/*.js"],
    ignores: ["public/**"],
    languageOptions: { globals: globals.node },
    rules: { "no-unused-vars": ["error", UNUSED] },
  },
  {
    // The browser tests run in Node, but the callbacks they hand to page.evaluate run in the page.
    files: ["test/e2e/**/*.mjs"],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
  {
    // The storefront's and the console's ES modules run in the browser (public/ is served as
    // Workers static assets), not in Node.
    files: ["public/**/*.js"],
    languageOptions: { globals: globals.browser },
    rules: { "no-unused-vars": ["error", UNUSED] },
  },
);
