// "workerd direct": the Worker bundled as `wrangler deploy` would upload it, run by workerd through
// Miniflare, with the load generator connected to a workerd socket bound straight to the Worker
// (checked below: the listener must be workerd itself). "miniflare entry" is the same server
// reached through Miniflare's default entry socket and its router Worker, for comparison.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { call } from "../lib/http.mjs";
import { freePort, listenersOf } from "../lib/net.mjs";
import { startGroup, stopGroup, waitFor } from "../lib/processes.mjs";
import { BENCH_VARS, ROOT, wrangler } from "./wrangler.mjs";

const SERVER = fileURLToPath(new URL("./workerd-direct-server.mjs", import.meta.url));

/** @param {{ tmp: string, via?: "direct" | "entry", inspectorPort?: number }} options */
export async function startWorkerd({ tmp, via = "direct", inspectorPort }) {
  const dir = join(tmp, `workerd-${via}`);
  const bundleDir = join(dir, "bundle");
  const state = join(dir, "state");
  mkdirSync(state, { recursive: true });
  await wrangler(["deploy", "--dry-run", "--outdir", bundleDir]);

  const entryPort = await freePort();
  const directPort = await freePort();
  const started = startGroup("workerd (Miniflare host + workerd)", process.execPath, [SERVER], {
    logFile: join(dir, "server.log"),
    cwd: ROOT,
    env: {
      ...process.env,
      BENCH_BUNDLE: join(bundleDir, "index.js"),
      BENCH_STATE: state,
      BENCH_PORT: String(entryPort),
      BENCH_DIRECT_PORT: String(directPort),
      BENCH_CONFIG: join(ROOT, "wrangler.toml"),
      BENCH_MIGRATIONS: join(ROOT, "migrations"),
      BENCH_VARS: JSON.stringify(BENCH_VARS),
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
    const common = `The bundle from \`wrangler deploy --dry-run\`, run by workerd (started programmatically with Miniflare; same bindings and vars as wrangler.toml, DO SQLite storage, migrated D1). Port ${port} is served by workerd (pid ${listeners[0].pid}), no Node process in the request path. CPU counts workerd plus the idle Miniflare host (Node).`;
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
      stop: () => stopGroup(started),
    };
  } catch (error) {
    await stopGroup(started);
    throw error;
  }
}

export const startWorkerdDirect = (options) => startWorkerd({ ...options, via: "direct" });
export const startMiniflareEntry = (options) => startWorkerd({ ...options, via: "entry" });
