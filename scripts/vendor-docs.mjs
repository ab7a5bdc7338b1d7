// @ts-check
// Copy the API reference's renderer (the single-file browser build of the pinned
// @scalar/api-reference package) into public/vendor/, so /docs loads its script from this origin
// and never from a CDN. Run by `npm install` (postinstall); the copy is not committed.
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const from = fileURLToPath(
  new URL("../node_modules/@scalar/api-reference/dist/browser/standalone.js", import.meta.url),
);
const to = fileURLToPath(new URL("../public/vendor/scalar-api-reference.js", import.meta.url));

if (!existsSync(from)) {
  // Installed without dev dependencies: /docs then has no renderer, and says nothing else.
  console.warn(`vendor-docs: ${from} is missing; /docs will not render.`);
} else {
  mkdirSync(fileURLToPath(new URL("../public/vendor/", import.meta.url)), { recursive: true });
  copyFileSync(from, to);
}
