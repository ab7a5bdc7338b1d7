// "wrangler dev": what `npm start` runs (migrations, then `wrangler dev` on the source), with its
// own state directory and port. Requests pass through wrangler's local proxy in front of workerd.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describeTree } from "../lib/cpu.mjs";
import { call } from "../lib/http.mjs";
import { freePort, listenersOf } from "../lib/net.mjs";
import { startGroup, stopGroup, waitFor } from "../lib/processes.mjs";
import { BENCH_VARS, ROOT, WRANGLER, WRANGLER_ENV, wrangler } from "./wrangler.mjs";

/** @param {{ tmp: string }} options */
export async function startWranglerDev({ tmp }) {
  const dir = join(tmp, "wrangler-dev");
  const state = join(dir, "state");
  mkdirSync(state, { recursive: true });
  await wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state]);

  const port = await freePort();
  const inspectorPort = await freePort();
  const vars = Object.entries(BENCH_VARS).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
  const started = startGroup(
    "wrangler dev",
    process.execPath,
    [
      WRANGLER,
      "dev",
      "--persist-to",
      state,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--show-interactive-dev-session=false",
      ...vars,
    ],
    { logFile: join(dir, "server.log"), cwd: ROOT, env: WRANGLER_ENV },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    "wrangler dev to answer GET /healthz",
    async () => (await call(url, "GET", "/healthz")).status === 200,
    {
      started,
      timeoutMs: 90_000,
      intervalMs: 250,
    },
  );
  const listeners = listenersOf(port);
  const tree = describeTree([started.pid]);
  return {
    key: "wrangler",
    label: "wrangler dev",
    url,
    serverPids: () => [started.pid],
    description: `\`wrangler dev\` on the source as under \`npm start\` (its request logging on). Port ${port} is served by ${listeners.map((l) => `${l.comm} (pid ${l.pid})`).join(", ") || "?"}: wrangler's proxy Worker, which forwards each request to a second workerd running our Worker with the inspector enabled, while wrangler's Node logs each request. Processes: ${tree}; CPU counts them all.`,
    listener: listeners,
    stop: () => stopGroup(started),
  };
}
