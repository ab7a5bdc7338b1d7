// @ts-check
// src/shards/ (TypeScript, extensionless imports) bundled by esbuild for Node, so the simulation
// runs the very functions the objects run, not a copy of their rules.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** @returns {Promise<any>} every export of src/shards/ */
export async function loadShardModules() {
  const out = await build({
    stdin: {
      contents: ["blocks", "home", "ledger", "quota", "transfer"]
        .map((m) => `export * from "./src/shards/${m}";`)
        .join("\n"),
      resolveDir: root,
      loader: "ts",
    },
    bundle: true,
    format: "esm",
    platform: "neutral",
    write: false,
  });
  const code = out.outputFiles[0]?.text ?? "";
  return import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);
}
