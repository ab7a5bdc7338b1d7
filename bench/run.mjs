// `npm run bench`: start each target in turn, run every scenario at every concurrency against it,
// check boundary correctness (and, on workerd direct, shared product reads with clients walking away: read-check.mjs), stop it, then print and save the results (bench/results/latest.* for a full run, partial.* otherwise).
// The shopper rows (tokens, bot) need a Worker that verifies shopper tokens: after the target's
// own rows they run on a second server of the same bundle with SHOPPER_TOKEN_SECRET set, which
// only the workerd targets can start. The plain rows keep anonymous shoppers and no secret.
// The crowd rows (crowd.mjs: many shoppers for few units, the product's queue off then on) run on
// the workerd targets after their rows and boundary check.
// Exits non-zero when a boundary, row or crowd check fails or a target that should run could not be started.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { boundaryCheck } from "./boundary.mjs";
import { readCheck } from "./read-check.mjs";
import { CONFIG } from "./config.mjs";
import { runCrowd } from "./crowd.mjs";
import { measure, warmUp } from "./lib/load.mjs";
import { runMain } from "./lib/processes.mjs";
import { chartSvg } from "./report/chart-svg.mjs";
import { judgeGoals } from "./report/goals.mjs";
import { markdownReport } from "./report/markdown.mjs";
import {
  BOUNDARY_HEADER,
  BOUNDARY_NUMERIC,
  boundaryCells,
  CROWD_HEADER,
  CROWD_NUMERIC,
  crowdCells,
  HEADER,
  resultCells,
  terminalTable,
} from "./report/tables.mjs";
import { SCENARIOS } from "./scenarios.mjs";
import { startBaseline } from "./targets/baseline.mjs";
import { startMiniflareEntry, startWorkerdDirect } from "./targets/workerd-direct.mjs";
import { startWranglerDev } from "./targets/wrangler-dev.mjs";
import { ROOT } from "./targets/wrangler.mjs";

const RESULTS = fileURLToPath(new URL("./results/", import.meta.url));
const STARTERS = {
  workerd: startWorkerdDirect,
  miniflare: startMiniflareEntry,
  wrangler: startWranglerDev,
  baseline: startBaseline,
};
const log = (line) => process.stderr.write(`${line}\n`);
/** Cores used by processes other than the servers and the load generator above which a row is flagged. */
const NOISY_CORES = 0.2;

function commit() {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: ROOT,
      encoding: "utf8",
    }).trim();
    const dirty = execFileSync(
      "git",
      ["status", "--porcelain", "--", "src", "migrations", "wrangler.toml"],
      { cwd: ROOT, encoding: "utf8" },
    ).trim();
    return dirty ? `${head} with uncommitted changes in src/` : head;
  } catch {
    return "unknown";
  }
}

/** Product ids for this run: every target starts from empty state, so plain counting is enough. */
function productIds() {
  let next = 1000;
  return { next: () => next++ };
}

const scenario = (key) => SCENARIOS.find((s) => s.key === key);
/** Why the crowd rows are missing for a target. */
const NO_CROWD =
  "the crowd rows run on the workerd targets only: the baseline has no queue, and wrangler dev (the same code behind a proxy) would only be slower";
/** Why the shopper rows are missing for a target that cannot start a server with the secret. */
const NO_SHOPPER_SERVER =
  "only the workerd targets start a second server with SHOPPER_TOKEN_SECRET set (the baseline has no shoppers)";

/** JIT, caches and the first object's start-up, before anything is recorded: `holds` storms. */
async function warm(target, ids, holds) {
  const { requests } = await holds.prepare(target, ids);
  await warmUp(target, [{ method: "GET", path: "/healthz" }], 16, CONFIG.warmUpSeconds / 2);
  await warmUp(target, requests, 16, CONFIG.warmUpSeconds);
}

const progress = (row) =>
  `  ${row.scenario.padEnd(9)} c=${String(row.connections).padEnd(4)} ${row.rps.toFixed(0).padStart(6)} req/s  p50 ${row.latencyMs.p50?.toFixed(2)} ms  p99 ${row.latencyMs.p99?.toFixed(2)} ms  ok ${row.ok}  409 ${row.expected}  errors ${row.errors}  server ${row.cpu.serverUsPerRequest?.toFixed(0)} µs/req${row.failures.length ? `  FAILED: ${row.failures.join("; ")}` : ""}`;

async function benchRows(target, scenarios, ids, rows) {
  for (const scenario of scenarios) {
    for (const connections of CONFIG.concurrencies) {
      const prepared = await scenario.prepare(target, ids);
      const row = await measure({
        target,
        requests: prepared.requests,
        connections,
        durationS: CONFIG.rowSeconds,
        ok: scenario.ok,
        expected: scenario.expected,
      });
      const record = {
        target: target.key,
        scenario: scenario.key,
        ...row,
        extra: prepared.extra?.(row.elapsedS),
        failures: (await prepared.check?.(row)) ?? [],
      };
      rows.push(record);
      log(progress(record));
      await sleep(250);
    }
  }
}

const crowdProgress = (c) =>
  `  crowd     ${c.mode.padEnd(9)} ${c.shoppers} shoppers for ${c.units} units${c.shards > 1 ? ` on ${c.shards} shards` : ""} at c=${c.connections}: all answered in ${c.allAnsweredS.toFixed(1)} s, ${c.arrivals.perS.toFixed(0)} arrivals/s, hold p99 ${c.latencyMs.hold.p99?.toFixed(1)} ms (${c.latencyMs.hold.n}), poll p99 ${c.latencyMs.poll.p99?.toFixed(1) ?? "–"} ms (${c.latencyMs.poll.n}), ${c.errors.total} errors (${c.errors.status503} × 503), sold ${c.unitsSold}, fairness ${c.fairness.share === null ? "–" : `${(c.fairness.share * 100).toFixed(0)}%`}${c.failures.length ? `  FAILED: ${c.failures.join("; ")}` : ""}`;

/** The crowd, queue off then on, each on a fresh product of the same server. */
async function benchCrowds(target, ids, crowds) {
  for (const queue of [false, true]) {
    const crowd = {
      target: target.key,
      ...(await runCrowd(target, ids, { ...CONFIG.crowd, queue })),
    };
    crowds.push(crowd);
    log(crowdProgress(crowd));
    await sleep(250);
  }
}

async function benchTarget(target, scenarios, ids, rows, boundaries) {
  await warm(target, ids, scenario("hot"));
  await benchRows(target, scenarios, ids, rows);
  const boundary = { target: target.key, ...(await boundaryCheck(target, ids)) };
  boundaries.push(boundary);
  log(
    `  boundary  ${boundary.passed ? "PASS" : "FAIL"}: ${boundary.ok} × 201, ${boundary.expected} × 409, ${boundary.errors} errors; reserved ${boundary.metrics.reserved}, available ${boundary.metrics.available}, invariants ${boundary.metrics.invariants?.ok ? "ok" : "VIOLATED"}${boundary.failures.length ? ` — ${boundary.failures.join("; ")}` : ""}`,
  );
  if (target.key !== "workerd") return;
  const reads = await readCheck(target, ids);
  log(
    `  shared reads  ${reads.passed ? "PASS" : "FAIL"}: ${reads.ok} of ${reads.reads} reads × 200 while ${reads.walkedAway} clients walked away mid-read; ${reads.callsPerRead.toFixed(3)} object calls per read`,
  );
  if (!reads.passed) throw new Error(`shared reads: ${reads.failures.join("; ")}`);
}

const NOTES = [
  "Ours is **workerd direct**: the goals and the “vs baseline” column use it (“vs baseline” divides by the baseline row of the same scenario and concurrency: req/s above 1× and p99 below 1× favour ours). wrangler dev rows show what `npm start` gives, proxy included.",
  "Load: autocannon 9 as a library in the bench's own Node process (one thread, HTTP/1.1 keep-alive, no pipelining, a new connection per virtual client at the start of each row), on the same 2 cores as the server; its CPU per request is the “loadgen µs/req” column and the worst stall of its event loop during the row is “loadgen max lag ms” (small values mean latency tails are the server's). Latency percentiles come from every response time, not a histogram.",
  "Server CPU: utime+stime from /proc/<pid>/stat of the processes the bench started and all their descendants (plus reaped children), read before and after each row; “server cores” is CPU seconds per wall second.",
  "Sold-out 409s are the expected answer in the soldout row and the boundary check, never errors. In checkout, req/s counts all three requests; completed (paid) checkouts/s are in parentheses.",
  "Locally, workerd runs the Worker and every Durable Object on one thread, so ours can use one core at most (see “server cores”) and spreading the load over 8 objects cannot add parallelism here; on Cloudflare each object runs where it lives. The baseline spreads over both cores (Node plus PostgreSQL backends).",
  "Every row uses fresh products. HOLD_TTL_SECONDS is 3600 for the run so that no expiry sweep of earlier rows' holds lands inside a later row (the baseline has no sweeper at all).",
  "The baseline follows the classic design: a transaction per write that locks the product (or hold, or order) row with SELECT … FOR UPDATE, checks, inserts, updates the counters and commits, retried up to 5 times with backoff on 40P01/40001; webhook idempotency keys in a table with a unique key. PostgreSQL server settings are at their defaults (fsync and synchronous_commit on), data on the same disk as the Worker's local state.",
  "Crowd: a driver of its own (crowd.mjs), not autocannon: a fixed number of concurrent requests over keep-alive connections (node:http Agent), shared by shoppers who each join, poll, hold, order and pay; a free slot takes an admitted shopper's next step first, then a poll that is due, then the next arrival. Each request kind's latency is its own column; 503, 429 and socket errors are retried up to 5 times and counted.",
  "Local workerd keeps each Durable Object's SQLite in a file on local disk; Cloudflare's storage (replicated, with output gates) has other latencies. These figures compare designs on one small machine; they are not production numbers.",
];

async function main() {
  const startedAt = new Date().toISOString();
  const tmp = mkdtempSync(join(tmpdir(), "flash-sale-bench-"));
  chmodSync(tmp, 0o755); // PostgreSQL runs as its own user and must reach its folder in here
  process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
  const selected = SCENARIOS.filter((s) => !CONFIG.scenarios || CONFIG.scenarios.includes(s.key));
  const scenarios = selected.filter((s) => !s.shoppers);
  const shopperScenarios = selected.filter((s) => s.shoppers);
  const crowdSelected = !CONFIG.scenarios || CONFIG.scenarios.includes("crowd");
  const crowds = [];
  const ids = productIds();
  const rows = [];
  const boundaries = [];
  const targets = [];
  const skipped = [];
  const problems = [];
  log(
    `bench: ${CONFIG.targets.join(", ")} × ${[...selected.map((s) => s.key), ...(crowdSelected ? ["crowd"] : [])].join(", ")} at c=${CONFIG.concurrencies.join("/")}, ${CONFIG.rowSeconds} s per row${CONFIG.quick ? " (quick)" : ""}${crowdSelected ? `; crowd ${CONFIG.crowd.shoppers} shoppers for ${CONFIG.crowd.units} units at c=${CONFIG.crowd.connections}` : ""}`,
  );

  for (const key of CONFIG.targets) {
    const start = STARTERS[key];
    if (!start) {
      problems.push(`unknown target "${key}" (use ${Object.keys(STARTERS).join(", ")})`);
      continue;
    }
    log(`\n▶ ${key}: starting…`);
    let target;
    try {
      target = await start({ tmp, poolSize: CONFIG.poolSize });
    } catch (error) {
      problems.push(`${key} could not be started: ${error.message}`);
      log(`  ${problems.at(-1)}`);
      continue;
    }
    if (target.skipped) {
      skipped.push({ key, reason: target.skipped });
      log(`  skipped: ${target.skipped}`);
      continue;
    }
    const { stop, serverPids, bundle, withShopperTokens, ...info } = target;
    targets.push(info);
    log(`  ${target.label} at ${target.url}: ${target.description}`);
    try {
      await benchTarget(target, scenarios, ids, rows, boundaries);
      if (crowdSelected && target.crowd) await benchCrowds(target, ids, crowds);
      else if (crowdSelected) skipped.push({ key, rows: "crowd", reason: NO_CROWD });
    } catch (error) {
      problems.push(`${key} failed mid-run: ${error.stack ?? error}`);
      log(`  ${problems.at(-1)}`);
    } finally {
      await stop();
    }
    if (shopperScenarios.length === 0) continue;
    const shopperKeys = shopperScenarios.map((s) => s.key).join(", ");
    if (!withShopperTokens) {
      skipped.push({ key, rows: shopperKeys, reason: NO_SHOPPER_SERVER });
      log(`  ${shopperKeys} skipped: ${NO_SHOPPER_SERVER}`);
      continue;
    }
    // One server at a time: the first is stopped, so the two never share the machine.
    log(`\n▶ ${key} with SHOPPER_TOKEN_SECRET (for ${shopperKeys}): starting…`);
    let shopperServer;
    try {
      shopperServer = await withShopperTokens();
      info.shopperServer = shopperServer.description;
      log(`  at ${shopperServer.url}: ${shopperServer.description}`);
      await warm(shopperServer, ids, scenario("tokens"));
      await benchRows(shopperServer, shopperScenarios, ids, rows);
    } catch (error) {
      problems.push(`${key} with shopper tokens failed: ${error.stack ?? error}`);
      log(`  ${problems.at(-1)}`);
    } finally {
      await shopperServer?.stop();
    }
  }

  const goals = judgeGoals(rows, CONFIG.goalConcurrency, "workerd", crowds);
  // Rows during which other processes (a test run, a build) used a fair share of the machine.
  const noisyRows = [
    ...rows.map((r) => ({ ...r, name: `${r.target} ${r.scenario} c=${r.connections}` })),
    ...crowds.map((c) => ({ ...c, name: `${c.target} crowd ${c.mode} c=${c.connections}` })),
  ]
    .filter((r) => r.cpu.otherCores > NOISY_CORES)
    .map((r) => `${r.name}: others used ${r.cpu.otherCores.toFixed(2)} cores`);
  const labels = Object.fromEntries(targets.map((t) => [t.key, t.label]));
  const results = {
    meta: {
      startedAt,
      finishedAt: new Date().toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
      commit: commit(),
      quick: CONFIG.quick,
      rowSeconds: CONFIG.rowSeconds,
      concurrencies: CONFIG.concurrencies,
      crowd: CONFIG.crowd,
      notes: NOTES,
    },
    targets,
    skipped,
    goals,
    boundary: boundaries,
    rows,
    crowds,
    noisyRows,
    problems,
  };

  const header = `\nFlash-sale checkout benchmark — ${results.meta.machine}, ${CONFIG.rowSeconds} s per row${CONFIG.quick ? " (quick mode)" : ""}\n`;
  console.log(header);
  console.log(terminalTable(HEADER, resultCells(rows, labels)));
  console.log("\nBoundary correctness (stock 1,000; 20,000 holds at c=256):");
  console.log(terminalTable(BOUNDARY_HEADER, boundaryCells(boundaries, labels), BOUNDARY_NUMERIC));
  if (crowds.length) {
    console.log(
      `\nCrowd (${CONFIG.crowd.shoppers} shoppers, each its own id, for ${CONFIG.crowd.units} units at c=${CONFIG.crowd.connections}; latencies in ms, p50 / p99):`,
    );
    console.log(terminalTable(CROWD_HEADER, crowdCells(crowds, labels), CROWD_NUMERIC));
  }
  console.log("\nTargets (workerd direct):");
  for (const g of goals)
    console.log(
      `  ${g.met === null ? "NOT MEASURED" : g.met ? "MET   " : "MISSED"}  ${g.goal}: ${g.detail}`,
    );
  for (const s of skipped)
    console.log(`\nSkipped ${s.rows ? `${s.rows} on ` : ""}${s.key}: ${s.reason}`);
  if (noisyRows.length) {
    console.log(
      `\nWARNING: ${noisyRows.length} row(s) ran while other processes used more than ${NOISY_CORES} cores; rerun on a quiet machine:`,
    );
    for (const line of noisyRows) console.log(`  ${line}`);
  }

  mkdirSync(RESULTS, { recursive: true });
  const name = CONFIG.reportName;
  writeFileSync(join(RESULTS, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(RESULTS, `${name}.md`), markdownReport(results, `${name}.svg`));
  const subtitle = `${results.meta.machine}; ${CONFIG.rowSeconds} s per row; commit ${results.meta.commit}; ${startedAt}`;
  writeFileSync(join(RESULTS, `${name}.svg`), chartSvg(rows, targets, SCENARIOS, subtitle));
  console.log(`\nWrote bench/results/${name}.json, ${name}.md, ${name}.svg`);

  const failedBoundaries = boundaries.filter((b) => !b.passed);
  for (const b of failedBoundaries)
    console.error(`\nBOUNDARY CHECK FAILED for ${labels[b.target]}: ${b.failures.join("; ")}`);
  const failedRows = rows.filter((r) => r.failures.length > 0);
  for (const r of failedRows)
    console.error(
      `\nCHECK FAILED for ${labels[r.target]} ${r.scenario} c=${r.connections}: ${r.failures.join("; ")}`,
    );
  const failedCrowds = crowds.filter((c) => c.failures.length > 0);
  for (const c of failedCrowds)
    console.error(
      `\nCROWD CHECK FAILED for ${labels[c.target]} ${c.mode}: ${c.failures.join("; ")}`,
    );
  for (const p of problems) console.error(`\nPROBLEM: ${p}`);
  const failed =
    failedBoundaries.length + failedRows.length + failedCrowds.length + problems.length;
  return failed === 0 ? 0 : 1;
}

runMain(main);
