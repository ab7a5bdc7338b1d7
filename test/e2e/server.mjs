// Start the local server the way `npm start` does (scripts/start.mjs), on free ports and with a
// state directory of its own, so an end-to-end run never touches a developer's .wrangler/state
// and never collides with an `npm start` already on 8787.
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeStripe } from "./fake-stripe.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const wrangler = join(root, "node_modules/wrangler/bin/wrangler.js");
const startScript = join(root, "scripts/start.mjs");

/** No network beyond loopback, as under `npm start`. */
const quietEnv = {
  ...process.env,
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_HIDE_BANNER: "true",
  WRANGLER_SEND_METRICS: "false",
};

/**
 * A port nothing listens on right now (the kernel picks it; we free it at once).
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/**
 * @param {import("node:child_process").ChildProcess} child
 * @returns {Promise<number>}
 */
function exitOf(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode ?? 1);
    else child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/**
 * Apply the D1 migrations into `persistTo`. start.mjs applies them too, but without
 * --persist-to (it always migrates the default .wrangler/state), so a fresh directory would
 * otherwise have no tables; applying them twice is harmless.
 * @param {string} persistTo
 * @param {import("node:fs").WriteStream} log
 */
async function migrate(persistTo, log) {
  const child = spawn(
    process.execPath,
    [wrangler, "d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo],
    { cwd: root, env: quietEnv, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const code = await exitOf(child);
  if (code !== 0) throw new Error(`wrangler d1 migrations apply exited with ${code}`);
}

/** The webhook secret the fake Stripe signs with and the server checks (a test value). */
const STRIPE_WEBHOOK_SECRET = "whsec_e2e_fake_stripe";

/**
 * Start the server; resolves once GET /healthz answers. `vars` are extra `--var NAME:value`
 * settings; `logFile` gets the server's output (shown when something fails). With `fakeStripe`,
 * a fake Stripe API (fake-stripe.mjs) starts first on loopback and the server is pointed at it
 * (STRIPE_SECRET_KEY, STRIPE_API_BASE, STRIPE_WEBHOOK_SECRET), so checkout runs end to end.
 * @param {{ vars?: Record<string, string>, logFile?: string, timeoutMs?: number, fakeStripe?: boolean }} [options]
 */
export async function startServer({
  vars = {},
  logFile,
  timeoutMs = 90_000,
  fakeStripe = false,
} = {}) {
  const persistTo = await mkdtemp(join(tmpdir(), "flash-sale-e2e-"));
  const log = createWriteStream(logFile ?? "/dev/null", { flags: "w" });
  await migrate(persistTo, log);
  const port = await freePort();
  const inspectorPort = await freePort();
  const stripe = fakeStripe
    ? await startFakeStripe({
        webhookSecret: STRIPE_WEBHOOK_SECRET,
        appBase: () => `http://127.0.0.1:${port}`,
      })
    : null;
  if (stripe) {
    vars = {
      ...vars,
      STRIPE_SECRET_KEY: "sk_test_e2e_fake_stripe",
      STRIPE_API_BASE: stripe.base,
      STRIPE_WEBHOOK_SECRET,
    };
  }
  const args = [startScript, "--port", String(port), "--inspector-port", String(inspectorPort)];
  args.push("--persist-to", persistTo);
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  // Its own process group: wrangler starts workerd and more, and stop() ends them all at once.
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: quietEnv,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const exited = exitOf(child);
  const baseUrl = `http://127.0.0.1:${port}`;

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    /** @param {NodeJS.Signals} signal */
    const signalGroup = (signal) => {
      try {
        process.kill(-(child.pid ?? 0), signal);
      } catch {
        // the group is gone already
      }
    };
    signalGroup("SIGTERM");
    const gone = await Promise.race([
      exited.then(() => true),
      new Promise((resolve) => setTimeout(() => resolve(false), 5_000)),
    ]);
    // Whatever is left of the group (workerd children included) does not outlive the run.
    signalGroup("SIGKILL");
    await stripe?.stop();
    if (!gone) await exited;
    log.end();
    await rm(persistTo, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    try {
      const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return { baseUrl, port, persistTo, stripe, stop };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the server did not answer ${baseUrl}/healthz within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await stop();
  throw new Error("the server exited before it answered /healthz");
}

// `node test/e2e/server.mjs [--fake-stripe] [NAME:value …]`: the same server, kept running, to
// look at the pages.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const fakeStripe = args.includes("--fake-stripe");
  const pairs = args.filter((arg) => arg !== "--fake-stripe");
  const vars = Object.fromEntries(pairs.map((arg) => arg.split(/:(.*)/s, 2)));
  const server = await startServer({ vars, logFile: process.env.E2E_SERVER_LOG, fakeStripe });
  console.log(`listening on ${server.baseUrl} (state in ${server.persistTo})`);
  if (server.stripe) console.log(`fake Stripe on ${server.stripe.base}`);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
