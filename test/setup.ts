import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, vi } from "vitest";

// Applied once per test file; migrations that already ran are skipped.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

// Every test starts on the real clock with no spies left over from the one before (a test that
// fakes Date or spies on console to read log lines need not clean up after itself).
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});
