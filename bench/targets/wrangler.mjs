// Running the project's own wrangler (under the Node that runs the bench, i.e. the project's
// Node 22) for one-off commands.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const WRANGLER = fileURLToPath(
  new URL("../../node_modules/wrangler/bin/wrangler.js", import.meta.url),
);

/** Environment for wrangler as `npm start` sets it (no telemetry, no cf fetch), and no prompts. */
export const WRANGLER_ENV = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_HIDE_BANNER: "true",
  CI: "true",
  NO_COLOR: "1",
};

/**
 * The vars the bench gives the Worker on top of wrangler.toml: the admin token, unsigned
 * webhooks, anonymous shoppers, a trusted X-Shopper-Id and no rate limits as under `npm start`, and a hold TTL longer
 * than the whole run, so that no expiry sweep of earlier rows' holds lands inside a later row
 * (the baseline has no sweeper at all), and the queue's secret.
 */
export const BENCH_VARS = {
  ADMIN_TOKEN: "dev-admin-token",
  ALLOW_UNSIGNED_WEBHOOKS: "true",
  ALLOW_ANONYMOUS_SHOPPERS: "true",
  // The crowd names its shoppers in X-Shopper-Id, as a storefront backend would.
  TRUST_SHOPPER_HEADER: "true",
  RATE_LIMITS: "off",
  HOLD_TTL_SECONDS: "3600",
  // Signs queue tickets and admission tokens (the crowd rows turn a product's queue on).
  QUEUE_SECRET: "bench-queue-secret-0123456789abcdef",
};

/**
 * @param {string[]} args
 * @param {number} [timeoutMs]
 * @returns {Promise<string>} stdout
 */
export function wrangler(args, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [WRANGLER, ...args],
      { cwd: ROOT, env: WRANGLER_ENV, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        if (error)
          reject(
            new Error(`wrangler ${args.join(" ")} failed: ${error.message}\n${stdout}\n${stderr}`),
          );
        else resolve(stdout);
      },
    ).stdin?.end();
  });
}
