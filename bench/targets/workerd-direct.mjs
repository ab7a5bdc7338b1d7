// "workerd direct": the Worker bundled as `wrangler deploy` would upload it, run by workerd through
// Miniflare, with the load generator connected to a workerd socket bound straight to the Worker
// (checked below: the listener must be workerd itself). "miniflare entry" is the same server
// reached through Miniflare's default entry socket and its router Worker, for comparison.
// Either can start a second server of the same bundle with SHOPPER_TOKEN_SECRET set, for the rows
// that need shopper tokens (`withShopperTokens`).
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { call } from "../lib/http.mjs";
import { freePort, listenersOf } from "../lib/net.mjs";
import { startGroup, stopGroup, waitFor } from "../lib/processes.mjs";
import { SHOPPER_TOKEN_SECRET } from "../lib/shoppers.mjs";
import { BENCH_VARS, ROOT, wrangler } from "./wrangler.mjs";

const SERVER = fileURLToPath(new URL("./workerd-direct-server.mjs", import.meta.url));

/**
 * @param {{ tmp: string, via?: "direct" | "entry", inspectorPort?: number,
 *   vars?: Record<string, string>, bundle?: string }} options
 *   `vars` are added to BENCH_VARS. `bundle` is an index.js built earlier in the run: a second
 *   server runs the very same code even if src/ changed meanwhile.
 */
export async function startWorkerd({ tmp, via = "direct", inspectorPort, vars = {}, bundle }) {
  const dir = mkdtempSync(join(tmp, `workerd-${via}-`));
  const state = join(dir, "state");
  mkdirSync(state, { recursive: true });
  if (!bundle) {
    await wrangler(["deploy", "--dry-run", "--outdir", join(dir, "bundle")]);
    bundle = join(dir, "bundle", "index.js");
  }

  const entryPort = await freePort();
  const directPort = await freePort();
  const started = startGroup("workerd (Miniflare host + workerd)", process.execPath, [SERVER], {
    logFile: join(dir, "server.log"),
    cwd: ROOT,
    env: {
      ...process.env,
      BENCH_BUNDLE: bundle,
      BENCH_STATE: state,
      BENCH_PORT: String(entryPort),
      BENCH_DIRECT_PORT: String(directPort),
      BENCH_CONFIG: join(ROOT, "wrangler.toml"),
      BENCH_MIGRATIONS: join(ROOT, "migrations"),
      BENCH_VARS: JSON.stringify({ ...BENCH_VARS, ...vars }),
      ...(inspectorPort ? { BENCH_INSPECTOR_PORT: String(inspectorPort) } : {}),
    },
  });
  try {
    await waitFor(
      "workerd to start",
      () => readFileSync(started.logFile, "utf8").includes("READY "),
      { started },
    );
    const port = via === "direct" ? directPort : entryPort;
    const url = `http://127.0.0.1:${port}`;
    await waitFor("GET /healthz", async () => (await call(url, "GET", "/healthz")).status === 200, {
      started,
      timeoutMs: 10_000,
    });
    const listeners = listenersOf(port);
    if (listeners.length === 0 || !listeners.every((l) => l.comm === "workerd")) {
      throw new Error(
        `port ${port} should be served by workerd itself, found ${JSON.stringify(listeners)}`,
      );
    }
    const extraVars = Object.keys(vars).length ? ` Also set: ${Object.keys(vars).join(", ")}.` : "";
    const common = `The bundle from \`wrangler deploy --dry-run\`, run by workerd (started programmatically with Miniflare; same bindings and vars as wrangler.toml, DO SQLite storage, migrated D1).${extraVars} Port ${port} is served by workerd (pid ${listeners[0].pid}), no Node process in the request path. CPU counts workerd plus the idle Miniflare host (Node).`;
    return {
      key: via === "direct" ? "workerd" : "miniflare",
      label: via === "direct" ? "workerd direct" : "miniflare entry",
      url,
      serverPids: () => [started.pid],
      description:
        via === "direct"
          ? `${common} The socket is bound straight to the Worker's default entrypoint, as on Cloudflare.`
          : `${common} Requests first pass through Miniflare's router Worker (its default entry socket), as \`dispatchFetch\` and \`wrangler dev\` use.`,
      listener: listeners,
      bundle,
      /** The product queue exists here (QUEUE_SECRET is in BENCH_VARS): the crowd rows run. */
      crowd: true,
      /** The same bundle on a new server (own state and port) with SHOPPER_TOKEN_SECRET set. */
      withShopperTokens: () =>
        startWorkerd({ tmp, via, bundle, vars: { ...vars, SHOPPER_TOKEN_SECRET } }),
      stop: () => stopGroup(started),
    };
  } catch (error) {
    await stopGroup(started);
    throw error;
  }
}

export const startWorkerdDirect = (options) => startWorkerd({ ...options, via: "direct" });
export const startMiniflareEntry = (options) => startWorkerd({ ...options, via: "entry" });
