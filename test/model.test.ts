/**
 * Model-based test: random sequences of holds, releases, orders, cancels, webhooks (success,
 * failure, duplicate, late, mismatched, double, conflicting), clock jumps past deadlines with and
 * without the alarm, restocks, retention passes, D1 outages and settings changes, run against the
 * real Worker and product object and compared with a small reference model after every step
 * (test/model/). The known sequences of test/model/examples.ts first, then FUZZ_RUNS random ones
 * (300 under npm test); `npm run fuzz -- --runs N [--seed S]` for long runs. A failure prints the
 * seed, the path and the shrunk sequence, and how to replay it.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { it } from "vitest";
import { sequenceArb } from "./model/commands";
import { checkParameters, failureError, fuzzSettings } from "./model/report";
import { runSequence } from "./model/runner";

const settings = fuzzSettings(env.FUZZ_RUNS, env.FUZZ_SEED);

// A sequence takes well under a second; the rest is room for shrinking a failure.
const timeoutMs = 120_000 + settings.runs * 2_000;

it(
  `${settings.path ? "one replayed sequence agrees" : `${settings.runs} random sequences agree`} with the reference model`,
  async () => {
    const details = await fc.check(
      fc.asyncProperty(sequenceArb, (sequence) => runSequence(sequence)),
      checkParameters(settings),
    );
    if (details.failed) throw failureError(details, settings);
  },
  timeoutMs,
);
