// `npm run test:e2e`: start the local server on a free port with a state directory of its own,
// and a fake Stripe API beside it for the checkout hand-off; run the browser tests (node:test,
// playwright-core driving Debian's Chromium) against it; stop the server's whole process group,
// and exit with the tests' status.
//
// E2E_BASE_URL=http://127.0.0.1:8787 npm run test:e2e runs the tests against a server that is
// already running instead (it must have npm start's local settings).
import { spawn } from "node:child_process";
import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "./server.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const resultsDir = fileURLToPath(new URL("../../test-results/e2e/", import.meta.url));
const started = Date.now();

/**
 * Holds last 20 s here instead of 120, so that a test can watch one expire (every other flow
 * finishes well inside that), and an order may be paid for 50 minutes: Stripe keeps a Checkout
 * Session open at least 30, and the server opens none for an order with less time left.
 */
const SERVER_VARS = { HOLD_TTL_SECONDS: "20", PAYMENT_TTL_SECONDS: "3000" };

await mkdir(resultsDir, { recursive: true });
/** @type {Awaited<ReturnType<typeof startServer>> | null} */
let server = null;
const stopServer = async () => {
  const s = server;
  server = null;
  await s?.stop();
};
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => void stopServer().then(() => process.exit(130)));
}

let baseUrl = process.env.E2E_BASE_URL;
if (!baseUrl) {
  const logFile = join(resultsDir, "server.log");
  console.log("e2e: starting the local server…");
  try {
    server = await startServer({ vars: SERVER_VARS, logFile, fakeStripe: true });
  } catch (error) {
    console.error(
      `e2e: ${error instanceof Error ? error.message : error}; its output is in ${logFile}`,
    );
    process.exit(1);
  }
  baseUrl = server.baseUrl;
  console.log(`e2e: server on ${baseUrl} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const files = (await readdir(here)).filter((name) => name.endsWith(".test.mjs")).sort();
const tests = spawn(
  process.execPath,
  ["--test", "--test-reporter=spec", ...files.map((name) => join(here, name))],
  {
    env: {
      ...process.env,
      E2E_BASE_URL: baseUrl,
      // The hold-expiry test needs short holds, and the checkout test the fake Stripe: each is
      // skipped against a server started elsewhere.
      ...(server
        ? { E2E_HOLD_TTL_SECONDS: SERVER_VARS.HOLD_TTL_SECONDS, E2E_FAKE_STRIPE: "1" }
        : {}),
    },
    stdio: "inherit",
  },
);
const code = await new Promise((resolve) =>
  tests.once("exit", (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0))),
);
await stopServer();
console.log(
  `e2e: ${code === 0 ? "passed" : "FAILED"} in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${resultsDir}`,
);
process.exit(code);
