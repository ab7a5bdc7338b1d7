// The Workers pool as every suite that runs inside workerd sets it up (the tests, the storage
// bench, the shard costs): wrangler.toml's bindings, the D1 migrations for the suite's setup file
// to apply, and the suite's own vars on top.
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";

export const root = fileURLToPath(new URL("..", import.meta.url));

/** @param {Record<string, string>} bindings vars of this suite, added to wrangler.toml's */
export async function workersPool(bindings) {
  return cloudflareTest({
    wrangler: { configPath: `${root}/wrangler.toml` },
    miniflare: {
      bindings: { TEST_MIGRATIONS: await readD1Migrations(`${root}/migrations`), ...bindings },
    },
  });
}

/**
 * An `onConsoleLog` for a bench run inside workerd: the line that starts with `marker` carries the
 * report as JSON, handed to `write` (in Node, where files can be written); the object's own JSON
 * log lines are dropped; anything else is shown.
 * @param {string} marker
 * @param {(report: any) => void} write
 */
export function benchReport(marker, write) {
  /** @param {string} log */
  return (log) => {
    if (log.startsWith(marker)) {
      write(JSON.parse(log.slice(marker.length)));
      return false;
    }
    if (log.startsWith('{"')) return false;
    return undefined;
  };
}
