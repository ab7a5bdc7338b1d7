// One measured row: autocannon (as a library, one thread, HTTP/1.1 keep-alive, no pipelining)
// drives a server at a fixed number of connections for a fixed time or request count, while the
// server's CPU time is read before and after.
import { monitorEventLoopDelay } from "node:perf_hooks";
import autocannon from "autocannon";
import { cpuDelta, machineBusyMs, ownCpuMs, treeCpu } from "./cpu.mjs";
import { latencySummary } from "./stats.mjs";

/**
 * @typedef {{ method?: string, path: string, headers?: Record<string, string>, body?: string,
 *   setupRequest?: Function, onResponse?: Function }} LoadRequest
 * @typedef {{ url: string, serverPids: () => number[] }} LoadTarget
 */

/**
 * Run autocannon without recording anything (warm-up).
 * @param {LoadTarget} target
 * @param {LoadRequest[]} requests
 * @param {number} connections
 * @param {number} durationS
 */
export async function warmUp(target, requests, connections, durationS) {
  await autocannon({ url: target.url, requests, connections, duration: durationS, pipelining: 1 });
}

/**
 * @param {{ target: LoadTarget, requests: LoadRequest[], connections: number, durationS?: number,
 *   amount?: number, ok: number[], expected?: number[] }} options
 *   `ok` statuses are successes, `expected` ones are wanted refusals (409 when sold out); any
 *   other status, a socket error or a timeout is an error.
 */
export async function measure({
  target,
  requests,
  connections,
  durationS,
  amount,
  ok,
  expected = [],
}) {
  const latencies = [];
  const statuses = {};
  // Per connection (autocannon's client): how many answers it got, and its first answer's latency,
  // which includes connecting (autocannon starts the clock before the connection is up).
  const perClient = new Map();
  const pids = target.serverPids();
  const serverBefore = treeCpu(pids);
  const machineBefore = machineBusyMs();
  const loadBefore = ownCpuMs();
  // Stalls of the load generator's own event loop would show up as server latency: watch them.
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const started = process.hrtime.bigint();

  const instance = autocannon({
    url: target.url,
    requests,
    connections,
    pipelining: 1,
    timeout: 10,
    ...(amount ? { amount } : { duration: durationS }),
  });
  instance.on("response", (client, statusCode, _bytes, responseTime) => {
    latencies.push(responseTime);
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    const seen = perClient.get(client);
    if (seen) seen.n++;
    else perClient.set(client, { n: 1, first: responseTime });
  });
  const result = await instance;

  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  loopDelay.disable();
  const loadGenMs = ownCpuMs() - loadBefore;
  const server = cpuDelta(serverBefore, treeCpu(pids));
  const othersMs = Math.max(0, machineBusyMs() - machineBefore - server.totalMs - loadGenMs);

  const responses = latencies.length;
  let okCount = 0;
  let expectedCount = 0;
  const unexpected = {};
  for (const [code, n] of Object.entries(statuses)) {
    if (ok.includes(Number(code))) okCount += n;
    else if (expected.includes(Number(code))) expectedCount += n;
    else unexpected[code] = n;
  }
  const errors = Object.values(unexpected).reduce((a, b) => a + b, 0) + result.errors;
  const perRequestUs = (ms) => (responses ? (ms * 1000) / responses : null);

  return {
    connections,
    elapsedS,
    responses,
    rps: responses / elapsedS,
    latencyMs: latencySummary(latencies),
    statuses,
    ok: okCount,
    expected: expectedCount,
    errors,
    errorDetail: {
      unexpectedStatuses: unexpected,
      socketErrors: result.errors - result.timeouts,
      timeouts: result.timeouts,
    },
    cpu: {
      serverMs: server.totalMs,
      serverUsPerRequest: perRequestUs(server.totalMs),
      serverByName: server.byName,
      serverByProcess: server.byProcess,
      serverCores: server.totalMs / 1000 / elapsedS,
      loadGenMs,
      loadGenUsPerRequest: perRequestUs(loadGenMs),
      loadGenCores: loadGenMs / 1000 / elapsedS,
      /** Everything else the machine did meanwhile (kernel work for loopback included): high values mean a noisy row. */
      otherCores: othersMs / 1000 / elapsedS,
    },
    /**
     * How evenly the connections were served (answers per connection), and the latency of each
     * connection's first answer (connecting included) next to the row's.
     */
    perConnection: connectionSpread(perClient),
    /** Event-loop delay of the load generator (ms): large values would mean it, not the server, stalled. */
    loadGenLoopDelayMs: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
  };
}

/** @param {Map<unknown, { n: number, first: number }>} perClient */
function connectionSpread(perClient) {
  const counts = Float64Array.from([...perClient.values()].map((c) => c.n)).sort();
  const at = (p) =>
    counts.length ? counts[Math.min(counts.length - 1, Math.floor(p * counts.length))] : null;
  return {
    connections: counts.length,
    answers: { min: at(0), p10: at(0.1), p50: at(0.5), p90: at(0.9), max: at(1) },
    firstAnswerMs: latencySummary([...perClient.values()].map((c) => c.first)),
  };
}
