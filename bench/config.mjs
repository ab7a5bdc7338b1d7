// What a run measures and for how long, from flags and environment variables:
//   --quick or BENCH_QUICK=1   ~1 s rows and a short warm-up (for smoke tests)
//   BENCH_ROW_SECONDS=N        seconds per row (default 3; 1 in quick mode)
//   BENCH_TARGETS=a,b          any of workerd,miniflare,wrangler,baseline (default: workerd,wrangler,baseline)
//   BENCH_SCENARIOS=a,b        any of noop,hot,read,soldout,checkout,spread,tokens,bot,crowd (default: all; boundary always runs)
//   BENCH_CONCURRENCY=1,16     connection counts (default 1,16,64,256)
//   BENCH_PG_POOL=N            the baseline's pg pool size (default 10)
//   BENCH_CROWD_SHOPPERS=N     shoppers in the crowd rows (default 20,000; 2,000 quick)
//   BENCH_CROWD_UNITS=N        units they race for (default 100; 20 quick)
//   BENCH_CROWD_CONNECTIONS=N  the crowd's concurrent requests (default 256)
//   BENCH_CROWD_SHARDS=N       the crowd's product split over N shards (default 1, docs/sharding.md)
import { DEFAULT_POOL_SIZE } from "./targets/baseline.mjs";

const env = process.env;
const list = (value, fallback) =>
  value
    ? value
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : fallback;

const quick = env.BENCH_QUICK === "1" || process.argv.includes("--quick");
const narrowed =
  quick ||
  [
    "BENCH_ROW_SECONDS",
    "BENCH_TARGETS",
    "BENCH_SCENARIOS",
    "BENCH_CONCURRENCY",
    "BENCH_PG_POOL",
    "BENCH_CROWD_SHOPPERS",
    "BENCH_CROWD_UNITS",
    "BENCH_CROWD_CONNECTIONS",
    "BENCH_CROWD_SHARDS",
  ].some((name) => env[name]);

export const CONFIG = {
  quick,
  rowSeconds: Number(env.BENCH_ROW_SECONDS ?? (quick ? 1 : 3)),
  warmUpSeconds: quick ? 1 : 2,
  concurrencies: list(env.BENCH_CONCURRENCY, ["1", "16", "64", "256"]).map(Number),
  targets: list(env.BENCH_TARGETS, ["workerd", "wrangler", "baseline"]),
  scenarios: list(env.BENCH_SCENARIOS, null),
  poolSize: Number(env.BENCH_PG_POOL ?? DEFAULT_POOL_SIZE),
  /** The crowd rows (crowd.mjs): queue off, then on; reduced in quick mode. */
  crowd: {
    shoppers: Number(env.BENCH_CROWD_SHOPPERS ?? (quick ? 2_000 : 20_000)),
    units: Number(env.BENCH_CROWD_UNITS ?? (quick ? 20 : 100)),
    connections: Number(env.BENCH_CROWD_CONNECTIONS ?? 256),
    shards: Number(env.BENCH_CROWD_SHARDS ?? 1),
  },
  /** The row the targets are judged at. */
  goalConcurrency: 64,
  /** Only a full run replaces the results the README shows (latest.*); a narrower one writes partial.*. */
  reportName: narrowed ? "partial" : "latest",
};
