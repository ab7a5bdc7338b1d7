// `npm start` (and `npm run dev`): apply the D1 migrations locally, then run `wrangler dev` with
// the local-only settings. Plain Node rather than a shell line, so it runs the same on Windows.
// Arguments after `--` reach `wrangler dev`, and a `--var NAME:value` given there wins over the
// defaults below.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const devVars = fileURLToPath(new URL("../.dev.vars", import.meta.url));
const wrangler = fileURLToPath(
  new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url),
);

/** Local-only settings: never what a deploy gets (see the README's configuration table). */
const LOCAL_VARS = {
  ALLOW_UNSIGNED_WEBHOOKS: "true",
  ALLOW_ANONYMOUS_SHOPPERS: "true",
  // No storefront backend locally: the pages and curl name their shopper in X-Shopper-Id.
  TRUST_SHOPPER_HEADER: "true",
  RATE_LIMITS: "off",
  ADMIN_TOKEN: "dev-admin-token",
  // Fixed, so queue tickets survive a restart of the local server.
  QUEUE_SECRET: "dev-queue-secret-not-for-production",
};

// No network beyond loopback: no request.cf lookup, no update check, no telemetry.
const env = {
  ...process.env,
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_HIDE_BANNER: "true",
  WRANGLER_SEND_METRICS: "false",
};

/** Run wrangler with these arguments; resolves with its exit code. */
function run(args, stdin) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [wrangler, ...args], {
      env,
      stdio: [stdin, "inherit", "inherit"],
    });
    const stop = () => child.kill("SIGINT");
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    child.on("exit", (code, signal) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

const extra = process.argv.slice(2);
const given = new Set();
for (let i = 0; i < extra.length; i++) {
  if (extra[i] === "--var" && extra[i + 1]) given.add(extra[i + 1].split(":")[0]);
}
/** A variable as `wrangler dev` will see it: `--var`, else .dev.vars, else wrangler.toml. */
function setting(name) {
  for (let i = 0; i < extra.length; i++) {
    if (extra[i] === "--var" && extra[i + 1]?.startsWith(`${name}:`)) {
      return extra[i + 1].slice(name.length + 1);
    }
  }
  const read = (file, pattern) => {
    const path = fileURLToPath(new URL(file, import.meta.url));
    return existsSync(path) ? pattern.exec(readFileSync(path, "utf8"))?.[1] : undefined;
  };
  return (
    read("../.dev.vars", new RegExp(`^\\s*${name}\\s*=\\s*"?([^"\\n]*)"?\\s*$`, "m")) ??
    read("../wrangler.toml", new RegExp(`^\\s*${name}\\s*=\\s*"([^"]*)"`, "m"))
  );
}

// Stripe keeps a Checkout Session open at least 30 minutes, and a session must close by the
// order's pay_by: with a key, a shorter payment window could never be paid through Checkout.
// (A deployed Worker has no start to refuse at: its checkout answers 503 payments_misconfigured.)
const paymentTtl = Number(setting("PAYMENT_TTL_SECONDS") ?? "900");
if (setting("STRIPE_SECRET_KEY") && paymentTtl < 1800) {
  console.error(
    `npm start: STRIPE_SECRET_KEY is set but PAYMENT_TTL_SECONDS is ${paymentTtl}. Stripe Checkout ` +
      "keeps a session open at least 1800 seconds and a session must close before the order's " +
      "payment window does: start with `npm start -- --var PAYMENT_TTL_SECONDS:2400` (or remove the key).",
  );
  process.exit(1);
}

// An ADMIN_TOKEN no bearer header can carry would lock the operator out (the Worker answers every
// admin request 503 admin_token_invalid): refuse to start with it, whether given or in .dev.vars.
const BEARER_TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;
const adminTokens = extra.flatMap((arg, i) =>
  extra[i - 1] === "--var" && arg.startsWith("ADMIN_TOKEN:")
    ? [arg.slice("ADMIN_TOKEN:".length)]
    : [],
);
if (existsSync(devVars)) {
  const line = /^ADMIN_TOKEN\s*=\s*"?(.*?)"?\s*$/m.exec(readFileSync(devVars, "utf8"));
  if (line && !given.has("ADMIN_TOKEN")) adminTokens.push(line[1] ?? "");
}
for (const token of adminTokens) {
  if (!BEARER_TOKEN.test(token)) {
    console.error(
      "npm start: ADMIN_TOKEN has characters a bearer token cannot carry, so no request could " +
        "ever use it. Use only A-Z a-z 0-9 - . _ ~ + / (and = at the end).",
    );
    process.exit(1);
  }
}

// The Worker refuses every request when RATE_LIMITS is neither on nor off (src/config.ts); refuse
// to start with one here, where there is a start to refuse.
for (let i = 0; i < extra.length; i++) {
  const [name, ...rest] = extra[i - 1] === "--var" ? extra[i].split(":") : [];
  const value = rest.join(":");
  if (name === "RATE_LIMITS" && value !== "on" && value !== "off") {
    console.error(`RATE_LIMITS must be on or off, got "${value}"; not starting.`);
    process.exit(1);
  }
}
const defaults = Object.entries(LOCAL_VARS)
  .filter(([name]) => !given.has(name))
  .flatMap(([name, value]) => ["--var", `${name}:${value}`]);

// The same state directory for the migrations as for the server (`-- --persist-to DIR`).
const persistAt = extra.indexOf("--persist-to");
const persist =
  persistAt >= 0 && extra[persistAt + 1] ? ["--persist-to", extra[persistAt + 1]] : [];
// stdin is not a terminal here, so wrangler applies the migrations without asking.
const migrated = await run(["d1", "migrations", "apply", "DB", "--local", ...persist], "ignore");
if (migrated !== 0) process.exit(migrated);
process.exit(await run(["dev", ...defaults, ...extra], "inherit"));
