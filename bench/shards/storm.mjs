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
const ADMIN = { authorization: "Bearer dev-admin-token" };
const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });

/** One request: status and parsed JSON body, and its latency in ms. */
function send(method, path, body, headers = {}) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve) => {
    const started = performance.now();
    const request = http.request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method,
        path,
        headers: {
          ...headers,
          ...(payload === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
        },
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () => {
          let json;
          try {
            json = text ? JSON.parse(text) : null;
          } catch {
            json = { raw: text };
          }
          resolve({ status: response.statusCode, body: json, ms: performance.now() - started });
        });
      },
    );
    request.on("error", (error) =>
      resolve({ status: 0, body: { error: String(error) }, ms: performance.now() - started }),
    );
    if (payload !== undefined) request.write(payload);
    request.end();
  });
}

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

async function main() {
  const id = 900_000 + Math.floor(Math.random() * 90_000);
  const created = await send(
    "POST",
    "/api/admin/products",
    { id, name: `Shard storm ${id}`, price_cents: 100, currency: "USD", stock: STOCK },
    ADMIN,
  );
  if (created.status !== 201)
    throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
  const sharded = await send("PATCH", `/api/admin/products/${id}`, { shards: SHARDS }, ADMIN);
  if (sharded.status !== 200)
    throw new Error(`shards: ${sharded.status} ${JSON.stringify(sharded.body)}`);

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
        answer = await send("POST", "/api/holds", { product_id: id, qty: 1 }, headers);
        // A dropped connection or a 503 is retried with the same key: never a second hold.
        if (answer.status !== 0 && answer.status !== 503) break;
        retried++;
      }
      latencies.push(answer.ms);
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      const code = answer.body?.error?.code ?? "created";
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, slot));
  const seconds = (performance.now() - started) / 1_000;
  latencies.sort((a, b) => a - b);

  const product = await send("GET", `/api/products/${id}`);
  const metrics = await send(
    "GET",
    `/api/admin/products/${id}/metrics?check=full`,
    undefined,
    ADMIN,
  );
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
      p50: Number(percentile(latencies, 0.5).toFixed(1)),
      p99: Number(percentile(latencies, 0.99).toFixed(1)),
      max: Number(latencies.at(-1).toFixed(1)),
    },
    product: {
      available: product.body.available,
      reserved: product.body.reserved,
      sold_out: product.body.sold_out,
    },
    invariants: metrics.body.invariants,
    pool: metrics.body.shards?.pool,
    in_flight: metrics.body.shards?.in_flight,
    per_shard: metrics.body.shards?.per_shard.map((s) => ({
      shard: s.shard,
      reserved: s.reserved,
      available: s.available,
      granted: s.granted,
      returned: s.returned,
    })),
  };
  console.log(JSON.stringify(report, null, 2));
  const ok = successes === STOCK && metrics.body.invariants?.ok === true;
  console.log(ok ? "PASS: exactly the stock was held, and the check passes" : "FAIL");
  agent.destroy();
  process.exitCode = ok ? 0 : 1;
}

await main();
