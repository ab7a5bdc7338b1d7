// Shared product reads, checked on a real workerd: readers at c=128 for a few seconds while other
// clients walk away mid-read (a read whose client is gone must never break the reads sharing its
// object call; in workerd a request resumed by another request's I/O fails, which the Workers
// test pool cannot show). Every read answers 200 and the reads share object calls.
import http from "node:http";
import autocannon from "autocannon";
import { createProduct, productMetrics } from "./lib/http.mjs";

const CONNECTIONS = 128;
const WALKING_AWAY = 16;
const SECONDS = 3;
/** Object calls per read allowed here; a storm at c=256 shows about 0.02 (bench:reads). */
const MAX_CALLS_PER_READ = 0.25;

/**
 * @param {{ url: string }} target
 * @param {{ next: () => number }} ids
 */
export async function readCheck(target, ids) {
  const id = ids.next();
  await createProduct(target.url, id, 1_000);
  const before = (await productMetrics(target.url, id)).load_since_start.product_reads;
  let stop = false;
  let walkedAway = 0;
  const agent = new http.Agent({ keepAlive: false });
  const walker = async () => {
    while (!stop) {
      await new Promise((done) => {
        const request = http.get(`${target.url}/api/products/${id}`, { agent }, (res) => {
          res.resume();
          res.on("end", done);
        });
        request.on("error", done);
        setTimeout(() => {
          request.destroy();
          walkedAway++;
          done(undefined);
        }, Math.random() * 4);
      });
      await new Promise((wake) => setTimeout(wake, 10));
    }
  };
  const walkers = Array.from({ length: WALKING_AWAY }, walker);
  const result = await autocannon({
    url: `${target.url}/api/products/${id}`,
    connections: CONNECTIONS,
    duration: SECONDS,
    timeout: 10,
  });
  stop = true;
  await Promise.all(walkers);
  agent.destroy();
  const after = (await productMetrics(target.url, id)).load_since_start.product_reads;
  const reads = result.requests.total;
  const ok = result.statusCodeStats["200"]?.count ?? 0;
  const callsPerRead = reads ? (after - before) / reads : 0;
  const failures = [];
  if (ok !== reads)
    failures.push(
      `${reads - ok} of ${reads} reads not 200: ${JSON.stringify(result.statusCodeStats)}`,
    );
  if (result.errors || result.timeouts)
    failures.push(`${result.errors} socket errors, ${result.timeouts} timeouts`);
  if (callsPerRead > MAX_CALLS_PER_READ)
    failures.push(
      `${callsPerRead.toFixed(3)} object calls per read, expected at most ${MAX_CALLS_PER_READ}`,
    );
  return { reads, ok, walkedAway, callsPerRead, passed: failures.length === 0, failures };
}
