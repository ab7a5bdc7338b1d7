// What one shard-level operation costs inside workerd, against today's ProductObject, for the
// shard simulation (simulate.mjs). Each figure is wall time per operation over many repetitions,
// the best of ROUNDS rounds (the machine is shared; the best round is the least disturbed):
//
// - `*_serial`: one call at a time through the object's RPC stub (the call, the transaction, the
//   commit, the answer): the latency of a lone operation.
// - `*_batched`: BATCH calls in flight at once through the stub, so they share group commits as
//   under a storm: the object's cost per operation at saturation (1 / its throughput).
//
// Operations: a hold of 1 unit; a refusal (the same on a product with nothing free, answered
// `insufficient_stock` without a write); and a keyed restock of 1 unit, the closest transaction the
// object has today to a transfer's (one UPDATE of the product row and one INSERT of a key row,
// as applying a grant or debiting a return is: the integration of src/shards/ is not built yet).
import { env, exports } from "cloudflare:workers";
import { it } from "vitest";

const ROUNDS = 3;
const SERIAL = 300;
const BATCH = 64;
const BATCHED = 3_000;
const ADMIN = { authorization: "Bearer dev-admin-token", "content-type": "application/json" };

let nextId = 700_000 + Math.floor(Math.random() * 100_000);
async function product(stock) {
  const id = nextId++;
  const response = await exports.default.fetch(
    new Request("http://bench.local/api/admin/products", {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({
        id,
        name: `Shard costs ${id}`,
        price_cents: 100,
        currency: "USD",
        stock,
      }),
    }),
  );
  if (!response.ok) throw new Error(`create ${id}: ${response.status} ${await response.text()}`);
  return id;
}

const stubOf = (id) => env.PRODUCTS.getByName(String(id));
const call = (id) => ({ productId: id, requestId: "shard-costs" });

/** One unit for an anonymous shopper: a hold where there is stock, a refusal where there is none. */
const holdOne = (stub, id) =>
  stub.createHold({
    ...call(id),
    shopperId: null,
    qty: 1,
    idempotencyKey: `auto:${crypto.randomUUID()}`,
    freshKey: true,
  });

const OPERATIONS = {
  hold: holdOne,
  refusal: holdOne,
  transfer: (stub, id) =>
    stub.restock({ ...call(id), qty: 1, idempotencyKey: crypto.randomUUID() }),
};
const STOCK = { hold: 1_000_000, refusal: 0, transfer: 0 };
const EXPECT = { hold: true, refusal: false, transfer: true };

async function measure(kind, inFlight, count) {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const id = await product(STOCK[kind]);
    const stub = stubOf(id);
    await OPERATIONS[kind](stub, id); // wake the object and open the product first
    const started = Date.now();
    for (let done = 0; done < count; done += inFlight) {
      const answers = await Promise.all(
        Array.from({ length: Math.min(inFlight, count - done) }, () => OPERATIONS[kind](stub, id)),
      );
      const wrong = answers.find((a) => a.ok !== EXPECT[kind]);
      if (wrong) throw new Error(`${kind}: ${JSON.stringify(wrong)}`);
    }
    best = Math.min(best, (Date.now() - started) / count);
  }
  return Math.round(best * 1000); // µs per operation
}

it("measures shard-level operation costs", async () => {
  const report = { measured_at: new Date().toISOString(), rounds: ROUNDS, batch: BATCH, us: {} };
  for (const kind of Object.keys(OPERATIONS)) {
    report.us[`${kind}_serial`] = await measure(kind, 1, SERIAL);
    report.us[`${kind}_batched`] = await measure(kind, BATCH, BATCHED);
  }
  console.log(`SHARD_COSTS ${JSON.stringify(report)}`);
});
