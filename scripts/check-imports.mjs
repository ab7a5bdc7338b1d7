// @ts-check
// The direction of imports in src/, checked by `npm run check`: routes -> services -> product,
// nothing imports a route but the app that mounts them, and the product object never imports a
// Worker-only module. Type-only imports count too: a type is part of what a module depends on.
// Plain Node and no dependency: the rule is a table of five layers, easier to read here than as
// a linter plugin's configuration.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const src = join(root, "src");

/**
 * Each layer may import itself and the layers it lists. `shared` is what the Worker and the
 * object agree on; `services` are the Worker's own concerns; `entry` composes the rest.
 * @type {Record<string, { paths: string[]; may: string[] }>}
 */
const LAYERS = {
  shared: { paths: ["env.ts", "log.ts", "config.ts", "contract/", "queue/", "shards/"], may: [] },
  product: { paths: ["product/"], may: ["shared"] },
  // The live-socket relay object: a Durable Object of its own, fed by the product's object.
  live: { paths: ["live/"], may: ["shared"] },
  services: {
    paths: ["http/", "auth/", "catalogue/", "reach/", "payments/"],
    may: ["shared", "product", "live"],
  },
  routes: { paths: ["routes/"], may: ["shared", "product", "services", "live"] },
  entry: {
    paths: ["app.ts", "index.ts"],
    may: ["shared", "product", "services", "routes", "live"],
  },
};

/** @param {string} file a path relative to src/ */
function layerOf(file) {
  for (const [name, layer] of Object.entries(LAYERS)) {
    if (layer.paths.some((p) => (p.endsWith("/") ? file.startsWith(p) : file === p))) return name;
  }
  return null;
}

/** @param {string} dir @returns {string[]} */
function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.ts$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** @param {string} from @param {string} spec */
function resolveImport(from, spec) {
  const base = resolve(dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, join(base, "index.ts")]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not this one
    }
  }
  return null;
}

const problems = [];
for (const file of sources(src)) {
  const from = relative(src, file);
  const fromLayer = layerOf(from);
  if (fromLayer === null) {
    problems.push(`${from}: in no layer; add its folder to LAYERS in scripts/check-imports.mjs`);
    continue;
  }
  const text = readFileSync(file, "utf8");
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
    const target = resolveImport(file, match[1] ?? "");
    if (target === null) continue;
    const to = relative(src, target);
    const toLayer = layerOf(to);
    if (toLayer === null) continue;
    const routeImport = toLayer === "routes" && to !== "routes/deps.ts";
    const allowed =
      toLayer === fromLayer
        ? !(routeImport && fromLayer === "routes")
        : (LAYERS[fromLayer]?.may ?? []).includes(toLayer);
    if (!allowed) {
      const why = routeImport
        ? "nothing imports a route but the app"
        : `${fromLayer} may not import ${toLayer}`;
      problems.push(`src/${from} imports src/${to}: ${why}`);
    }
  }
}

if (problems.length > 0) {
  console.error(
    `Import direction (routes -> services -> product -> shared):\n  ${problems.join("\n  ")}`,
  );
  process.exit(1);
}
console.log("Import direction: ok");
