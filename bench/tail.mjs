// `node bench/tail.mjs` (through npx or an npm script, for Node 22): where the hot-product tail at
// high concurrency comes from. One storm of holds (the bench's `hot` row) at
// BENCH_TAIL_CONNECTIONS (default 256) for BENCH_TAIL_SECONDS (default 5), measured several ways:
//
//   disk      the bench's own setup: workerd direct, the object's SQLite on local disk
//   tmpfs     the same server with its state on /dev/shm: a commit that waits for the disk costs
//             nothing there, so what the tail loses is what fsync costs
//   pinned    the disk setup with the server's processes (every thread) on CPU 0 and the load
//             generator on CPU 1 (taskset, util-linux): neither can take the other's core
//   profile   the disk setup with workerd's inspector sampling the JavaScript thread every 200 µs:
//             garbage-collection pauses (runs of "(garbage collector)" samples), and how much of
//             the storm the thread sat idle while requests waited
//
// Every response is kept with its connection and completion time, so the report shows how evenly
// the connections were served, whether the slow answers are the first on their connection (the
// connect burst) or cluster in time (stalls), the tail once the first second is over, the kernel's
// listen-queue drops (/proc/net/netstat), the load generator's own event-loop lag, and the
// latency of a 4 KiB write + fdatasync on the state's file system during the storm.
// BENCH_TAIL_SCENARIO picks another row of the bench (noop, soldout...). Writes
// bench/results/tail-<scenario>-c<connections>.md and .json.
import { execFileSync } from "node:child_process";
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { writeSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { cpuDelta, machineBusyMs, ownCpuMs, treeCpu } from "./lib/cpu.mjs";
import { freePort } from "./lib/net.mjs";
import { groupMembers, runMain } from "./lib/processes.mjs";
import { latencySummary } from "./lib/stats.mjs";
import { devtools } from "./lib/devtools.mjs";
import { SCENARIOS } from "./scenarios.mjs";
import { startWorkerd } from "./targets/workerd-direct.mjs";

const connections = Number(process.env.BENCH_TAIL_CONNECTIONS ?? 256);
const seconds = Number(process.env.BENCH_TAIL_SECONDS ?? 5);
const variants = (process.env.BENCH_TAIL_VARIANTS ?? "disk,tmpfs,pinned,profile").split(",");
const RESULTS = fileURLToPath(new URL("./results/", import.meta.url));
const scenarioKey = process.env.BENCH_TAIL_SCENARIO ?? "hot";
const hot = SCENARIOS.find((s) => s.key === scenarioKey);

/** Kernel TCP counters that say a connection attempt was dropped or queued too long. */
function tcpCounters() {
  const lines = readFileSync("/proc/net/netstat", "utf8").trim().split("\n");
  const out = {};
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i].split(/\s+/);
    const values = lines[i + 1].split(/\s+/);
    for (let j = 1; j < names.length; j++) out[names[j]] = Number(values[j]);
  }
  return out;
}
const DROP_COUNTERS = ["ListenOverflows", "ListenDrops", "TCPBacklogDrop", "TCPReqQFullDrop"];

/** Write 4 KiB and fdatasync in a loop on `dir`'s file system until `stop()`; latencies in ms. */
function fsyncProbe(dir) {
  const file = join(dir, "fsync-probe");
  const fd = openSync(file, "w");
  const block = Buffer.alloc(4096, 1);
  const latencies = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const started = performance.now();
      writeSync(fd, block, 0, block.length, 0);
      fdatasyncSync(fd);
      latencies.push(performance.now() - started);
      await sleep(20);
    }
  })();
  return async () => {
    running = false;
    await done;
    closeSync(fd);
    rmSync(file, { force: true });
    return latencySummary(latencies);
  };
}

const q = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];

/** One measured storm; every response with its connection and completion time. */
async function storm(target, ids, stateDir) {
  const prepared = await hot.prepare(target, ids);
  const responses = [];
  const byClient = new Map();
  const countersBefore = tcpCounters();
  const serverBefore = treeCpu(target.serverPids());
  const machineBefore = machineBusyMs();
  const loadBefore = ownCpuMs();
  const stopProbe = fsyncProbe(stateDir);
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const started = performance.now();
  // V8's profile timestamps are CLOCK_MONOTONIC microseconds, as process.hrtime is: they align.
  const startedUs = Number(process.hrtime.bigint() / 1000n);
  const instance = autocannon({
    url: target.url,
    requests: prepared.requests,
    connections,
    duration: seconds,
    pipelining: 1,
    timeout: 10,
  });
  instance.on("response", (client, status, _bytes, latency) => {
    let index = byClient.get(client);
    if (index === undefined) byClient.set(client, (index = byClient.size));
    responses.push({ conn: index, at: performance.now() - started, latency, status });
  });
  await instance;
  const elapsedS = (performance.now() - started) / 1000;
  loop.disable();
  const fsync = await stopProbe();
  const loadGenMs = ownCpuMs() - loadBefore;
  const server = cpuDelta(serverBefore, treeCpu(target.serverPids()));
  const otherCores =
    Math.max(0, machineBusyMs() - machineBefore - server.totalMs - loadGenMs) / 1000 / elapsedS;
  const countersAfter = tcpCounters();
  return {
    responses,
    startedUs,
    elapsedS,
    fsync,
    serverCores: server.totalMs / 1000 / elapsedS,
    otherCores,
    loadGenLagMs: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
    drops: Object.fromEntries(
      DROP_COUNTERS.map((k) => [k, (countersAfter[k] ?? 0) - (countersBefore[k] ?? 0)]),
    ),
  };
}

/** What the responses say about the tail. */
function analyse(run) {
  const { responses } = run;
  const latencies = Float64Array.from(responses.map((r) => r.latency)).sort();
  const p99 = q(latencies, 0.99);
  const slow = responses.filter((r) => r.latency >= p99);
  const firstOfConn = new Set();
  const seen = new Set();
  for (const r of [...responses].sort((a, b) => a.at - b.at)) {
    if (!seen.has(r.conn)) {
      seen.add(r.conn);
      firstOfConn.add(r);
    }
  }
  const steady = Float64Array.from(
    responses.filter((r) => r.at > 1000).map((r) => r.latency),
  ).sort();
  const perConn = new Map();
  for (const r of responses) {
    const e = perConn.get(r.conn) ?? { n: 0, max: 0, sum: 0 };
    e.n++;
    e.sum += r.latency;
    e.max = Math.max(e.max, r.latency);
    perConn.set(r.conn, e);
  }
  const counts = Float64Array.from([...perConn.values()].map((e) => e.n)).sort();
  const maxes = Float64Array.from([...perConn.values()].map((e) => e.max)).sort();
  // Slow answers by the 100 ms window they completed in: stalls show as a few crowded windows.
  const windows = new Map();
  for (const r of slow)
    windows.set(Math.floor(r.at / 100), (windows.get(Math.floor(r.at / 100)) ?? 0) + 1);
  const crowded = [...windows.values()].sort((a, b) => b - a);
  const top3 = crowded.slice(0, 3).reduce((a, b) => a + b, 0);
  // Time share: how long the mean request waited vs the median (Little: mean = c / throughput).
  const mean = latencies.reduce((a, b) => a + b, 0) / latencies.length;
  return {
    n: responses.length,
    rps: responses.length / run.elapsedS,
    p50: q(latencies, 0.5),
    p95: q(latencies, 0.95),
    p99,
    max: latencies[latencies.length - 1],
    mean,
    steady: {
      n: steady.length,
      p50: q(steady, 0.5),
      p99: q(steady, 0.99),
      max: steady[steady.length - 1],
    },
    slow: {
      n: slow.length,
      firstOnConnection: slow.filter((r) => firstOfConn.has(r)).length,
      inFirstSecond: slow.filter((r) => r.at <= 1000).length,
      windows: windows.size,
      inTop3Windows: top3,
      connections: new Set(slow.map((r) => r.conn)).size,
    },
    firstRequest: latencySummary([...firstOfConn].map((r) => r.latency)),
    perConnection: {
      connections: counts.length,
      responses: {
        min: counts[0],
        p10: q(counts, 0.1),
        p50: q(counts, 0.5),
        p90: q(counts, 0.9),
        max: counts[counts.length - 1],
      },
      maxLatency: {
        p10: q(maxes, 0.1),
        p50: q(maxes, 0.5),
        p90: q(maxes, 0.9),
        max: maxes[maxes.length - 1],
      },
    },
  };
}

/** GC pauses and idle time from a CPU profile: runs of consecutive samples of one kind. */
function profileRuns(profile) {
  const kind = new Map(profile.nodes.map((n) => [n.id, n.callFrame.functionName]));
  const runs = { "(garbage collector)": [], "(idle)": [] };
  let current = null;
  let length = 0;
  const total = { "(garbage collector)": 0, "(idle)": 0, all: 0 };
  for (let i = 0; i < profile.samples.length; i++) {
    const name = kind.get(profile.samples[i]);
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    total.all += dt;
    if (name in total) total[name] += dt;
    if (name === current) length += dt;
    else {
      if (current in runs) runs[current].push(length);
      current = name;
      length = dt;
    }
  }
  if (current in runs) runs[current].push(length);
  const summary = (list) => {
    const sorted = Float64Array.from(list).sort();
    return {
      count: sorted.length,
      totalMs: sorted.reduce((a, b) => a + b, 0),
      p99: q(sorted, 0.99) ?? 0,
      max: sorted[sorted.length - 1] ?? 0,
      over10ms: sorted.filter((v) => v > 10).length,
      over50ms: sorted.filter((v) => v > 50).length,
    };
  };
  return {
    wallMs: total.all,
    gc: summary(runs["(garbage collector)"]),
    idle: summary(runs["(idle)"]),
  };
}

/**
 * Stalls: stretches of at least STALL_MS in which no response completed although every connection
 * had a request out (the storm is closed-loop). For each, what the JavaScript thread did meanwhile
 * according to the profile: garbage collection, idle (waiting for the event loop), or busy.
 */
const STALL_MS = 30;
function stalls(run, profile) {
  const done = run.responses.map((r) => r.at).sort((a, b) => a - b);
  const found = [];
  for (let i = 1; i < done.length; i++) {
    if (done[i] - done[i - 1] >= STALL_MS) found.push({ from: done[i - 1], to: done[i] });
  }
  // The profile's samples on the storm's timeline (ms from its start).
  const kind = new Map(profile.nodes.map((n) => [n.id, n.callFrame.functionName]));
  const samples = [];
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const name = kind.get(profile.samples[i]);
    const bucket =
      name === "(garbage collector)"
        ? "gc"
        : name === "(idle)"
          ? "idle"
          : name === "(program)"
            ? "native"
            : "js";
    samples.push({
      at: (t - run.startedUs) / 1000,
      dt: (profile.timeDeltas[i + 1] ?? 0) / 1000,
      bucket,
    });
  }
  const totals = { ms: 0, gc: 0, idle: 0, native: 0, js: 0 };
  for (const stall of found) {
    totals.ms += stall.to - stall.from;
    for (const sample of samples) {
      if (sample.at >= stall.from && sample.at < stall.to) totals[sample.bucket] += sample.dt;
    }
  }
  const slow = run.responses.filter((r) => r.latency >= analyse(run).p99);
  const hitByStall = slow.filter((r) =>
    found.some((stall) => stall.from < r.at && stall.to > r.at - r.latency),
  ).length;
  return {
    count: found.length,
    longest: Math.max(0, ...found.map((s) => s.to - s.from)),
    ...totals,
    slow: slow.length,
    hitByStall,
  };
}

const f = (v, d = 1) =>
  v === null || v === undefined || Number.isNaN(v)
    ? "–"
    : v.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

/** Pin every thread of these processes to one CPU (taskset -a -p). */
function pin(pids, cpu) {
  for (const pid of pids)
    execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(pid)], { stdio: "ignore" });
}

async function variant(name, tmp) {
  const onTmpfs = name === "tmpfs";
  const base = onTmpfs ? mkdtempSync("/dev/shm/flash-sale-tail-") : tmp;
  const inspectorPort = name === "profile" ? await freePort() : undefined;
  const target = await startWorkerd({ tmp: base, via: "direct", inspectorPort });
  const pinned = name === "pinned";
  try {
    if (pinned) {
      pin(groupMembers(target.serverPids()[0]), 0);
      pin([process.pid], 1);
    }
    let id = 9000;
    const ids = { next: () => id++ };
    const warm = await hot.prepare(target, ids);
    await autocannon({ url: target.url, requests: warm.requests, connections: 16, duration: 2 });
    let cdp = null;
    if (inspectorPort) {
      cdp = await devtools(inspectorPort);
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
      await cdp.send("Profiler.start");
    }
    const run = await storm(target, ids, base);
    let profile = null;
    let stallReport = null;
    if (cdp) {
      const raw = (await cdp.send("Profiler.stop")).profile;
      cdp.close();
      profile = profileRuns(raw);
      stallReport = stalls(run, raw);
    }
    return { name, run, analysis: analyse(run), profile, stalls: stallReport };
  } finally {
    if (pinned) pin([process.pid], "0-1");
    await target.stop();
    if (onTmpfs) rmSync(base, { recursive: true, force: true });
  }
}

function report(results) {
  const lines = [
    `# The ${scenarioKey} tail at c=${connections}`,
    "",
    `\`node bench/tail.mjs\` (BENCH_TAIL_SCENARIO=${scenarioKey}, BENCH_TAIL_CONNECTIONS=${connections}, BENCH_TAIL_SECONDS=${seconds}), ${new Date().toISOString()}: ${hot.title} (the bench's \`${scenarioKey}\` row), autocannon as in the bench (new connections at the start, keep-alive, no pipelining), after a 2 s warm-up at c=16. Latencies in ms.`,
    "",
    "| variant | req/s | p50 | p95 | p99 | max | mean | p99 after the first second | slow (≥ p99): first on their connection / in the first second / connections | slow in the 3 most crowded 100 ms windows | responses per connection min / p50 / max | worst latency per connection p10 / p50 / max | fsync 4 KiB p50 / p99 / max | server cores | others' cores | loadgen lag max | listen drops |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- | --- | ---: | ---: | ---: | --- |",
  ];
  for (const { name, run, analysis: a } of results) {
    const drops = Object.entries(run.drops)
      .filter(([, v]) => v)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    lines.push(
      `| ${name} | ${f(a.rps, 0)} | ${f(a.p50)} | ${f(a.p95)} | ${f(a.p99)} | ${f(a.max)} | ${f(a.mean)} | ${f(a.steady.p99)} | ${a.slow.firstOnConnection} / ${a.slow.inFirstSecond} / ${a.slow.connections} of ${a.slow.n} | ${a.slow.inTop3Windows} of ${a.slow.n} (in ${a.slow.windows} windows) | ${a.perConnection.responses.min} / ${a.perConnection.responses.p50} / ${a.perConnection.responses.max} | ${f(a.perConnection.maxLatency.p10, 0)} / ${f(a.perConnection.maxLatency.p50, 0)} / ${f(a.perConnection.maxLatency.max, 0)} | ${f(run.fsync.p50, 2)} / ${f(run.fsync.p99, 1)} / ${f(run.fsync.max, 1)} | ${f(run.serverCores, 2)} | ${f(run.otherCores, 2)} | ${f(run.loadGenLagMs.max, 0)} | ${drops || "none"} |`,
    );
  }
  const profiled = results.find((r) => r.profile);
  if (profiled) {
    const { gc, idle, wallMs } = profiled.profile;
    lines.push(
      "",
      `Profile (the \`profile\` variant, sampled every 200 µs over ${f(wallMs / 1000, 1)} s of the JavaScript thread): garbage collection ${f(gc.totalMs, 0)} ms in ${gc.count} pauses (p99 ${f(gc.p99, 2)} ms, longest ${f(gc.max, 1)} ms, ${gc.over10ms} over 10 ms, ${gc.over50ms} over 50 ms); the thread sat idle ${f(idle.totalMs, 0)} ms (${f((idle.totalMs / wallMs) * 100, 0)}% of the storm) in ${idle.count} stretches (longest ${f(idle.max, 1)} ms, ${idle.over10ms} over 10 ms, ${idle.over50ms} over 50 ms).`,
    );
    const st = profiled.stalls;
    lines.push(
      "",
      `Stalls (≥ ${STALL_MS} ms with no response completing, every connection waiting): ${st.count}, ${f(st.ms, 0)} ms in all (longest ${f(st.longest, 0)} ms). Meanwhile the JavaScript thread was in garbage collection ${f(st.gc, 0)} ms, idle ${f(st.idle, 0)} ms, in native code ${f(st.native, 0)} ms and running JavaScript ${f(st.js, 0)} ms. ${st.hitByStall} of the ${st.slow} slow answers (≥ p99) were waiting during a stall.`,
    );
  }
  lines.push("");
  return lines.join("\n");
}

async function main() {
  const tmp = mkdtempSync(join(tmpdir(), "flash-sale-tail-"));
  process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
  const results = [];
  for (const name of variants) {
    const result = await variant(name, tmp);
    results.push(result);
    const a = result.analysis;
    console.error(
      `${name}: ${f(a.rps, 0)} req/s, p50 ${f(a.p50)} p99 ${f(a.p99)} max ${f(a.max)} ms; others ${f(result.run.otherCores, 2)} cores`,
    );
  }
  const text = report(results);
  console.log(text);
  const name = `tail-${scenarioKey}-c${connections}`;
  writeFileSync(join(RESULTS, `${name}.md`), text);
  writeFileSync(
    join(RESULTS, `${name}.json`),
    `${JSON.stringify(
      results.map(({ run, ...rest }) => ({ ...rest, run: { ...run, responses: undefined } })),
      null,
      2,
    )}\n`,
  );
  console.log(`Wrote bench/results/${name}.md`);
}

runMain(main);
