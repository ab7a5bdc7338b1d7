// The Worker on workerd with no Node proxy in front: Miniflare configures and starts workerd, and
// workerd's own sockets take the benchmark's connections. This process only relays workerd's logs.
// Two sockets: BENCH_DIRECT_PORT is bound straight to the Worker's default entrypoint (nothing in
// front of it, as on Cloudflare); BENCH_PORT is Miniflare's usual entry socket, which first passes
// each request through Miniflare's own router Worker (still inside workerd).
//
// Usage (spawned by workerd-direct.mjs): node workerd-direct-server.mjs
//   env BENCH_BUNDLE   the bundled Worker (`wrangler deploy --dry-run --outdir`), index.js
//       BENCH_STATE    directory for Durable Object and D1 state
//       BENCH_PORT     loopback port for Miniflare's entry socket
//       BENCH_DIRECT_PORT  loopback port bound directly to the Worker
//       BENCH_CONFIG   wrangler.toml, for bindings and vars
//       BENCH_MIGRATIONS  D1 migrations directory
//       BENCH_VARS     JSON object of vars to add (BENCH_VARS; SHOPPER_TOKEN_SECRET on the shopper server)
//       BENCH_INSPECTOR_PORT  optional: workerd's DevTools inspector (for bench/profile.mjs)
// Prints "READY <url>" once the Worker answers and migrations are applied.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_splitSqlQuery } from "wrangler";

const env = process.env;
// The bundle is one ES module, so the source-tree module rules do not apply. The static pages are
// left out too: on Cloudflare, `run_worker_first` sends /api/* straight to the Worker, while
// Miniflare emulates the asset router locally with two more Workers in front of every request
// (measured: the no-op went from about 12,000 to 3,800 requests/s with them).
const {
  modulesRules: _rules,
  assets: _assets,
  ...workerOptions
} = /** @type {Record<string, any>} */ (
  unstable_getMiniflareWorkerOptions(env.BENCH_CONFIG).workerOptions
);

// Wrangler describes the Worker in Miniflare 4's option shape; Miniflare 5 converts it.
const mf = new Miniflare(
  convertV4MiniflareOptions({
    ...workerOptions,
    modules: true,
    scriptPath: env.BENCH_BUNDLE,
    modulesRoot: dirname(env.BENCH_BUNDLE),
    bindings: { ...workerOptions.bindings, ...JSON.parse(env.BENCH_VARS ?? "{}") },
    unsafeDirectSockets: [{ host: "127.0.0.1", port: Number(env.BENCH_DIRECT_PORT) }],
    host: "127.0.0.1",
    port: Number(env.BENCH_PORT),
    resourcePersistencePath: env.BENCH_STATE,
    logRequests: false,
    inspectorPort: env.BENCH_INSPECTOR_PORT ? Number(env.BENCH_INSPECTOR_PORT) : undefined,
    cf: false, // a placeholder request.cf: no fetch from the network
    log: new Log(LogLevel.WARN),
  }),
);

async function applyMigrations() {
  const db = await mf.getD1Database("DB");
  const files = readdirSync(env.BENCH_MIGRATIONS)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  for (const file of files) {
    for (const statement of unstable_splitSqlQuery(
      readFileSync(join(env.BENCH_MIGRATIONS, file), "utf8"),
    )) {
      await db.prepare(statement).run();
    }
  }
  return files.length;
}

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await mf.dispose().catch(() => {});
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

const url = await mf.ready;
const applied = await applyMigrations();
console.log(`READY ${url.href} migrations=${applied}`);
