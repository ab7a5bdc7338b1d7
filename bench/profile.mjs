// `npm run bench:profile`: where a hold's time goes inside workerd. Starts the Worker as in the
// bench's "workerd direct" target with workerd's DevTools inspector on, samples the JavaScript CPU
// profile during a hot-product hold storm (or another scenario), and prints self time by function
// and by origin (our src/, hono, zod, ...), mapped through the bundle's source map, next to the
// process's total CPU time from /proc (the rest is native: HTTP, RPC to the object, SQLite, GC).
//
//   BENCH_PROFILE_SCENARIO=hot|noop|read|soldout|checkout|spread|tokens|bot   (default hot)
//   BENCH_PROFILE_CONNECTIONS=64   BENCH_PROFILE_SECONDS=5
// Writes bench/results/profile-<scenario>.md. The inspector adds overhead: use the numbers here for
// proportions, and `npm run bench` for throughput.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { cpuDelta, treeCpu } from "./lib/cpu.mjs";
import { devtools } from "./lib/devtools.mjs";
import { freePort } from "./lib/net.mjs";
import { runMain } from "./lib/processes.mjs";
import { SHOPPER_TOKEN_SECRET } from "./lib/shoppers.mjs";
import { SCENARIOS } from "./scenarios.mjs";
import { startWorkerd } from "./targets/workerd-direct.mjs";

const scenarioKey = process.env.BENCH_PROFILE_SCENARIO ?? "hot";
const connections = Number(process.env.BENCH_PROFILE_CONNECTIONS ?? 64);
const seconds = Number(process.env.BENCH_PROFILE_SECONDS ?? 5);
const RESULTS = fileURLToPath(new URL("./results/", import.meta.url));

/** Which package or folder a source path belongs to. */
function origin(source) {
  if (!source) return "(native / runtime)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
  if (nm) return nm[1];
  const src = /(src\/.*)$/.exec(source);
  if (src) return src[1].split("/").slice(0, 2).join("/");
  return source;
}

function summarize(profile, sourceMap) {
  const byFunction = new Map();
  const byOrigin = new Map();
  const total = { ms: 0 };
  // Self time per node from the sample timeline.
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
  }
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (!us) continue;
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    let where = url ? `${url}:${lineNumber + 1}` : "";
    let source = null;
    if (url && sourceMap && url.endsWith("index.js")) {
      const entry = sourceMap.findEntry(lineNumber, columnNumber);
      if (entry?.originalSource) {
        source = entry.originalSource;
        where = `${source.replace(/^.*?(node_modules\/|src\/)/, "$1")}:${entry.originalLine + 1}`;
      }
    }
    const name = functionName || (url ? "(anonymous)" : "");
    const label = !url
      ? name.startsWith("(")
        ? name
        : `${name || "(anonymous)"} (runtime built-in)`
      : `${name || "(anonymous)"}  ${where}`;
    const bucket =
      name === "(idle)"
        ? "(idle)"
        : name === "(garbage collector)"
          ? "(garbage collector)"
          : name === "(program)"
            ? "(program: native, not JS)"
            : origin(source ?? url);
    byFunction.set(label, (byFunction.get(label) ?? 0) + us / 1000);
    byOrigin.set(bucket, (byOrigin.get(bucket) ?? 0) + us / 1000);
    if (name !== "(idle)") total.ms += us / 1000;
  }
  const sorted = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return { byFunction: sorted(byFunction), byOrigin: sorted(byOrigin), busyMs: total.ms };
}

async function main() {
  const scenario = SCENARIOS.find((s) => s.key === scenarioKey);
  if (!scenario) throw new Error(`unknown scenario ${scenarioKey}`);
  const tmp = mkdtempSync(join(tmpdir(), "flash-sale-profile-"));
  process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
  const inspectorPort = await freePort();
  // The shopper rows (tokens, bot) need the Worker to verify tokens, as in the bench's second server.
  const vars = scenario.shoppers ? { SHOPPER_TOKEN_SECRET } : {};
  const target = await startWorkerd({ tmp, via: "direct", inspectorPort, vars });
  try {
    let id = 5000;
    const ids = { next: () => id++ };
    // Warm up without the profiler.
    const warmPrepared = await scenario.prepare(target, ids);
    await autocannon({
      url: target.url,
      requests: warmPrepared.requests,
      connections: 16,
      duration: 2,
    });

    const prepared = await scenario.prepare(target, ids);
    const cdp = await devtools(inspectorPort);
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
    const before = treeCpu(target.serverPids());
    await cdp.send("Profiler.start");
    const result = await autocannon({
      url: target.url,
      requests: prepared.requests,
      connections,
      duration: seconds,
    });
    const { profile } = await cdp.send("Profiler.stop");
    const cpu = cpuDelta(before, treeCpu(target.serverPids()));
    cdp.close();

    let sourceMap = null;
    try {
      sourceMap = new SourceMap(JSON.parse(readFileSync(`${target.bundle}.map`, "utf8")));
    } catch {
      // no map: bundle locations only
    }
    const summary = summarize(profile, sourceMap);
    const requests = result.requests.total;
    const wallMs = (profile.endTime - profile.startTime) / 1000;
    const perReq = (ms) => ((ms * 1000) / requests).toFixed(0);
    const lines = [
      `# Profile: ${scenario.title}`,
      "",
      `workerd direct with the inspector attached, c=${connections}, ${seconds} s: ${requests} requests (${(requests / (wallMs / 1000)).toFixed(0)}/s; the profiler slows it down).`,
      "",
      `- workerd process CPU (from /proc): ${cpu.totalMs.toFixed(0)} ms = ${perReq(cpu.totalMs)} µs/request`,
      `- JavaScript busy in the isolate (profile, excluding idle): ${summary.busyMs.toFixed(0)} ms = ${perReq(summary.busyMs)} µs/request`,
      `- The difference is work outside the sampled JS thread (I/O threads, SQLite, HTTP parsing off-thread, etc.).`,
      "",
      "## Self time by origin",
      "",
      "| origin | ms | µs/request | share of busy |",
      "| --- | ---: | ---: | ---: |",
      ...summary.byOrigin
        .filter(([k]) => k !== "(idle)")
        .map(
          ([k, ms]) =>
            `| ${k} | ${ms.toFixed(0)} | ${perReq(ms)} | ${((ms / summary.busyMs) * 100).toFixed(1)}% |`,
        ),
      "",
      "## Top functions by self time",
      "",
      "| function (source) | ms | µs/request |",
      "| --- | ---: | ---: |",
      ...summary.byFunction
        .filter(([k]) => k !== "(idle)")
        .slice(0, 30)
        .map(([k, ms]) => `| ${k.replaceAll("|", "\\|")} | ${ms.toFixed(0)} | ${perReq(ms)} |`),
      "",
    ];
    const text = lines.join("\n");
    console.log(text);
    writeFileSync(join(RESULTS, `profile-${scenario.key}.md`), text);
    console.log(`Wrote bench/results/profile-${scenario.key}.md`);
  } finally {
    await target.stop();
  }
}

runMain(main);
