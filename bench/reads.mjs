// @ts-check
// `npm run bench:reads`: the crowd that reads, refreshes and watches (issue 13), ours (workerd
// direct) and the PostgreSQL baseline in one run: product reads at c=64 and c=256 next to the
// no-op, a mixed row (readers at c=192 and hold writers at c=64 on one product at once), holds
// alone, the full checkout, and (ours only) holds with 4,000 and 20,000 live sockets open, the
// sockets held by child processes (lib/live-clients.mjs). Besides rates it counts the work per
// object from the product's metrics (load_since_start): object calls per read, messages the
// product object sent per flush. Prose and figures: bench/README.md and docs/performance.md.
//
//   BENCH_ROW_SECONDS=3   BENCH_TARGETS=workerd,baseline   BENCH_SOCKETS=4000,20000
import { fork } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { call, createProduct, JSON_HEADERS, productMetrics } from "./lib/http.mjs";
import { measure, warmUp } from "./lib/load.mjs";
import { runMain } from "./lib/processes.mjs";
import { SCENARIOS } from "./scenarios.mjs";
import { startBaseline } from "./targets/baseline.mjs";
import { startWorkerdDirect } from "./targets/workerd-direct.mjs";

const env = process.env;
const ROW_S = Number(env.BENCH_ROW_SECONDS ?? 3);
const TARGETS = (env.BENCH_TARGETS ?? "workerd,baseline").split(",");
const SOCKETS = (env.BENCH_SOCKETS ?? "4000,20000").split(",").map(Number).filter(Boolean);
const RESULTS = fileURLToPath(new URL("./results/", import.meta.url));
const AMPLE = 100_000_000;
const CLIENT = fileURLToPath(new URL("./lib/live-clients.mjs", import.meta.url));
/** Sockets per child process: each process (and workerd) has a 20,000 file-descriptor limit here. */
const PER_CHILD = 5_000;

let nextId = 7_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function product(target) {
  const id = nextId++;
  await createProduct(target.url, id, AMPLE);
  if ((await call(target.url, "GET", `/api/products/${id}`)).status !== 200)
    throw new Error(`product ${id} unreadable`);
  return id;
}

const holdRequest = (id) => ({
  method: "POST",
  path: "/api/holds",
  headers: JSON_HEADERS,
  body: JSON.stringify({ product_id: id, qty: 1 }),
});

/** The product object's own counters, when the target has them (ours). */
async function load(target, id) {
  if (target.key !== "workerd") return null;
  return (await productMetrics(target.url, id)).load_since_start;
}

function summary(name, row, more = {}) {
  return {
    name,
    rps: Math.round(row.rps),
    p50: row.latencyMs.p50,
    p99: row.latencyMs.p99,
    ok: row.ok,
    errors: row.errors,
    ...(row.errors ? { errorDetail: row.errorDetail } : {}),
    serverUsPerRequest: row.cpu.serverUsPerRequest && Math.round(row.cpu.serverUsPerRequest),
    serverCores: Number(row.cpu.serverCores.toFixed(2)),
    otherCores: Number(row.cpu.otherCores.toFixed(2)),
    ...more,
  };
}

/** Open `count` live sockets on a product from child processes; resolves with the children. */
async function openSockets(target, productId, count) {
  const children = [];
  for (let left = count; left > 0; left -= PER_CHILD) {
    const child = fork(CLIENT, [], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
    children.push(child);
    const opened = new Promise((resolve) => child.once("message", resolve));
    child.send({ url: target.url, productId, count: Math.min(PER_CHILD, left) });
    await opened;
  }
  return children;
}

const ask = (child, message) =>
  new Promise((resolve) => {
    child.once("message", resolve);
    child.send(message);
  });

async function socketTotals(children) {
  const reports = await Promise.all(children.map((child) => ask(child, "report")));
  return reports.reduce(
    (sum, r) => ({
      opened: sum.opened + r.opened,
      failed: sum.failed + r.failed,
      frames: sum.frames + r.frames,
    }),
    { opened: 0, failed: 0, frames: 0 },
  );
}

async function rowsFor(target) {
  const rows = [];
  const log = (row) => {
    rows.push(row);
    console.log(`  ${target.key.padEnd(8)} ${JSON.stringify(row)}`);
  };
  const warmId = await product(target);
  await warmUp(target, [{ method: "GET", path: "/healthz" }], 16, 1);
  await warmUp(target, [holdRequest(warmId)], 16, 2);
  await warmUp(target, [{ method: "GET", path: `/api/products/${warmId}` }], 16, 1);

  for (const c of [64, 256]) {
    const noop = await measure({
      target,
      requests: [{ method: "GET", path: "/healthz" }],
      connections: c,
      durationS: ROW_S,
      ok: [200],
    });
    log(summary(`noop c=${c}`, noop));
    const id = await product(target);
    const before = await load(target, id);
    const read = await measure({
      target,
      requests: [{ method: "GET", path: `/api/products/${id}` }],
      connections: c,
      durationS: ROW_S,
      ok: [200],
    });
    const after = await load(target, id);
    const objectReads = after && before ? after.product_reads - before.product_reads : null;
    log(
      summary(`read c=${c}`, read, {
        ofNoop: Number((read.rps / noop.rps).toFixed(2)),
        objectReads,
        objectCallsPerRead:
          objectReads === null ? null : Number((objectReads / read.responses).toFixed(4)),
      }),
    );
  }

  const holdId = await product(target);
  const alone = await measure({
    target,
    requests: [holdRequest(holdId)],
    connections: 64,
    durationS: ROW_S,
    ok: [201],
  });
  log(summary("holds c=64 alone", alone));

  const mixedId = await product(target);
  const before = await load(target, mixedId);
  const [readers, writers] = await Promise.all([
    measure({
      target,
      requests: [{ method: "GET", path: `/api/products/${mixedId}` }],
      connections: 192,
      durationS: ROW_S,
      ok: [200],
    }),
    measure({
      target,
      requests: [holdRequest(mixedId)],
      connections: 64,
      durationS: ROW_S,
      ok: [201],
    }),
  ]);
  const after = await load(target, mixedId);
  const objectReads = after && before ? after.product_reads - before.product_reads : null;
  log(
    summary("mixed: reads c=192", readers, {
      objectReads,
      objectCallsPerRead:
        objectReads === null ? null : Number((objectReads / readers.responses).toFixed(4)),
    }),
  );
  log(summary("mixed: holds c=64", writers));

  const checkout = SCENARIOS.find((s) => s.key === "checkout");
  if (!checkout) throw new Error("no checkout scenario");
  const prepared = await checkout.prepare(target, { next: () => nextId++ });
  const full = await measure({
    target,
    requests: prepared.requests,
    connections: 64,
    durationS: ROW_S,
    ok: checkout.ok,
  });
  log(summary("checkout c=64", full, prepared.extra?.(full.elapsedS)));

  if (target.key !== "workerd") return rows;
  for (const count of SOCKETS) {
    const id = await product(target);
    const children = await openSockets(target, id, count);
    const open = await socketTotals(children);
    await sleep(500);
    const framesBefore = (await socketTotals(children)).frames;
    const loadBefore = await load(target, id);
    const row = await measure({
      target,
      requests: [holdRequest(id)],
      connections: 64,
      durationS: ROW_S,
      ok: [201],
    });
    await sleep(600); // the last flush
    const loadAfter = await load(target, id);
    const framesAfter = (await socketTotals(children)).frames;
    const flushes = loadAfter.live_flushes - loadBefore.live_flushes;
    const messages = loadAfter.live_relay_messages - loadBefore.live_relay_messages;
    log(
      summary(`holds c=64, ${count} sockets asked`, row, {
        socketsOpen: open.opened,
        socketsRefused: open.failed,
        ofAlone: Number((row.rps / alone.rps).toFixed(2)),
        framesDeliveredPerS: Math.round((framesAfter - framesBefore) / row.elapsedS),
        productFlushes: flushes,
        productMessagesPerFlush: flushes ? Number((messages / flushes).toFixed(2)) : null,
        relays: loadAfter.live_relays,
      }),
    );
    await Promise.all(children.map((child) => ask(child, "close")));
    await sleep(1_000);
  }
  return rows;
}

async function main() {
  const tmp = mkdtempSync(join(tmpdir(), "flash-sale-reads-"));
  chmodSync(tmp, 0o755);
  process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
  const results = { startedAt: new Date().toISOString(), rowSeconds: ROW_S, targets: {} };
  for (const key of TARGETS) {
    const start =
      key === "workerd" ? startWorkerdDirect : key === "baseline" ? startBaseline : null;
    if (!start) throw new Error(`unknown target ${key}`);
    console.log(`▶ ${key}`);
    const target = await start({ tmp });
    if (target.skipped) {
      console.log(`  skipped: ${target.skipped}`);
      continue;
    }
    try {
      results.targets[key] = await rowsFor({ ...target, key });
    } finally {
      await target.stop();
    }
  }
  results.machine = `${cpus().length} × ${cpus()[0]?.model ?? "CPU"}`;
  results.finishedAt = new Date().toISOString();
  writeFileSync(join(RESULTS, "reads.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote bench/results/reads.json`);
  // An error in any row (a 500 from a coalesced read answered in the wrong request, say) fails the run.
  const failed = Object.entries(results.targets).flatMap(([key, rows]) =>
    rows.filter((row) => row.errors > 0).map((row) => `${key} ${row.name}: ${row.errors} errors`),
  );
  for (const line of failed) console.error(`FAILED ${line}`);
  return failed.length ? 1 : 0;
}

runMain(main);
