// The black-box storm of issue 16 against a running `npm start`: one product with `shards: 4`,
// stock 1,000, and 20,000 holds from 20,000 shoppers over 256 keep-alive connections. It must give
// exactly 1,000 successes (201), every other answer 409 insufficient_stock, and then a passing
// invariant check across every shard (GET .../metrics?check=full).
//
//   npm start &                      # in another terminal; wait for "Ready"
//   node bench/shards/storm.mjs [--base http://127.0.0.1:8787] [--shards 4] [--stock 1000]
//                               [--holds 20000] [--connections 256]
//
// Each shopper names itself in X-Shopper-Id (npm start trusts the header) and sends an
// Idempotency-Key, so a hold retried after a dropped connection is never doubled.
import http from "node:http";
import { parseArgs } from "node:util";
import { admin, createProduct, send } from "../lib/http.mjs";
import { latencySummary } from "../lib/stats.mjs";

const { values } = parseArgs({
  options: {
    base: { type: "string", default: "http://127.0.0.1:8787" },
    shards: { type: "string", default: "4" },
    stock: { type: "string", default: "1000" },
    holds: { type: "string", default: "20000" },
    connections: { type: "string", default: "256" },
  },
});
const base = new URL(values.base);
const SHARDS = Number(values.shards);
const STOCK = Number(values.stock);
const HOLDS = Number(values.holds);
const CONNECTIONS = Number(values.connections);
const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });

async function main() {
  const id = 900_000 + Math.floor(Math.random() * 90_000);
  await createProduct(base, id, STOCK, { name: `Shard storm ${id}` });
  const sharded = await admin(base, "PATCH", `/api/admin/products/${id}`, { shards: SHARDS });
  if (sharded.status !== 200)
    throw new Error(`shards: ${sharded.status} ${JSON.stringify(sharded.json)}`);

  const statuses = new Map();
  const codes = new Map();
  const latencies = [];
  let next = 0;
  let retried = 0;
  const started = performance.now();
  const slot = async () => {
    while (next < HOLDS) {
      const i = next++;
      const headers = { "x-shopper-id": `storm-${id}-${i}`, "idempotency-key": `storm-${id}-${i}` };
      let answer;
      for (let attempt = 1; attempt <= 5; attempt++) {
        answer = await send(agent, base, "POST", "/api/holds", { product_id: id, qty: 1 }, headers);
        // A dropped connection or a 503 is retried with the same key: never a second hold.
        if (answer.status !== 0 && answer.status !== 503) break;
        retried++;
      }
      latencies.push(answer.ms);
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      const code = answer.json?.error?.code ?? "created";
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, slot));
  const seconds = (performance.now() - started) / 1_000;
  const latency = latencySummary(latencies);

  const product = (await admin(base, "GET", `/api/products/${id}`)).json;
  const metrics = (await admin(base, "GET", `/api/admin/products/${id}/metrics?check=full`)).json;
  const successes = statuses.get(201) ?? 0;
  const report = {
    product_id: id,
    shards: SHARDS,
    stock: STOCK,
    holds: HOLDS,
    connections: CONNECTIONS,
    seconds: Number(seconds.toFixed(2)),
    holds_per_second: Math.round(HOLDS / seconds),
    successes,
    statuses: Object.fromEntries(statuses),
    codes: Object.fromEntries(codes),
    retried,
    latency_ms: {
      p50: Number(latency.p50?.toFixed(1)),
      p99: Number(latency.p99?.toFixed(1)),
      max: Number(latency.max?.toFixed(1)),
    },
    product: {
      available: product.available,
      reserved: product.reserved,
      sold_out: product.sold_out,
    },
    invariants: metrics.invariants,
    pool: metrics.shards?.pool,
    in_flight: metrics.shards?.in_flight,
    per_shard: metrics.shards?.per_shard.map((s) => ({
      shard: s.shard,
      reserved: s.reserved,
      available: s.available,
      granted: s.granted,
      returned: s.returned,
    })),
  };
  console.log(JSON.stringify(report, null, 2));
  const ok = successes === STOCK && metrics.invariants?.ok === true;
  console.log(ok ? "PASS: exactly the stock was held, and the check passes" : "FAIL");
  agent.destroy();
  process.exitCode = ok ? 0 : 1;
}

await main();
