// The storage bench ("bounded storage"): bytes per hold, per order and per queue join, and the
// product object's size through a long storm: 200,000 holds at a fixed clock, their expiry, a
// retention pass 31 days later, and a second storm of the same size into the space retention freed.
//
// It runs inside workerd (bench/storage/vitest.config.mjs) so that Date can be frozen and moved,
// and alarms fired on demand, as the tests do: the same ProductObject and the same local D1 as
// `npm test`. Holds, orders and payments call the object's RPC methods (createHold, createOrder,
// settlePayment, joinQueue) directly on the instance (runInDurableObject), which is what the
// Worker's stub calls reach, without HTTP and RPC serialisation in between: the rows written are
// the same, ten times faster. Sizes are `storage_bytes` from the admin metrics
// (ctx.storage.sql.databaseSize).
import { env, exports } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterAll, expect, it, vi } from "vitest";

const STORM = Number(env.STORAGE_BENCH_HOLDS || 200_000);
/** Holds, orders and joins measured one by one for the per-row figures. */
const SAMPLE_HOLDS = 10_000;
const SAMPLE_ORDERS = 2_000;
const SAMPLE_JOINS = 10_000;
/** Writes in flight at once against the object (they share group commits, as under a storm). */
const IN_FLIGHT = 1_000;
const DAY = 86_400_000;
const ADMIN = { authorization: "Bearer dev-admin-token", "content-type": "application/json" };

afterAll(() => vi.useRealTimers());

async function api(method, path, body) {
  const response = await exports.default.fetch(
    new Request(`http://bench.local${path}`, {
      method,
      headers: ADMIN,
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
  const json = await response.json();
  if (!response.ok)
    throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

const stubOf = (id) => env.PRODUCTS.getByName(String(id));
const metrics = (id, full = false) =>
  api("GET", `/api/admin/products/${id}/metrics${full ? "?check=full" : ""}`);
const bytes = async (id) => (await metrics(id)).storage_bytes;
const call = (id) => ({ productId: id, requestId: "storage-bench" });

let nextId = 900_000 + Math.floor(Math.random() * 1_000_000);
async function product(stock) {
  const id = nextId++;
  await api("POST", "/api/admin/products", {
    id,
    name: `Storage bench ${id}`,
    price_cents: 1999,
    currency: "USD",
    stock,
  });
  return id;
}

/** Run `count` calls of `one(instance, i)` inside the object, IN_FLIGHT at a time. */
function inObject(id, count, one) {
  return runInDurableObject(stubOf(id), async (instance) => {
    const answers = [];
    for (let start = 0; start < count; start += IN_FLIGHT) {
      const batch = Array.from({ length: Math.min(IN_FLIGHT, count - start) }, (_, j) =>
        one(instance, start + j),
      );
      answers.push(...(await Promise.all(batch)));
    }
    const failed = answers.filter((a) => a && a.ok === false);
    if (failed.length)
      throw new Error(`${failed.length} calls failed: ${JSON.stringify(failed[0])}`);
    return answers;
  });
}

/** Holds of qty 1 with the key the Worker makes for a keyless request (`auto:<uuid>`). */
const makeHolds = (id, count, shopperOf = () => null) =>
  inObject(id, count, (instance, i) =>
    instance.createHold({
      ...call(id),
      shopperId: shopperOf(i),
      qty: 1,
      idempotencyKey: `auto:${crypto.randomUUID()}`,
      freshKey: true,
    }),
  );

const TABLES = [
  "holds",
  "orders",
  "webhook_keys",
  "outbox",
  "shopper_units",
  "queue_shoppers",
  "queue_moves",
  "queue_admissions_used",
  "refunds",
  "restock_keys",
  "dead_letters",
];
const rowCounts = (id) =>
  runInDurableObject(stubOf(id), (_, state) =>
    Object.fromEntries(
      TABLES.map((t) => [
        t,
        Number(state.storage.sql.exec(`SELECT COUNT(*) AS n FROM ${t}`).one().n),
      ]),
    ),
  );

/** What the object's SQLite lets us ask about its own file (most PRAGMAs are not authorised). */
const sqliteProbe = (id) =>
  runInDurableObject(stubOf(id), (_, state) => {
    const probe = {};
    for (const statement of [
      "PRAGMA page_size",
      "PRAGMA page_count",
      "PRAGMA freelist_count",
      "PRAGMA auto_vacuum",
      "PRAGMA incremental_vacuum",
      "VACUUM",
      "SELECT COUNT(*) FROM dbstat",
    ]) {
      try {
        probe[statement] = { ok: true, rows: state.storage.sql.exec(statement).toArray() };
      } catch (error) {
        probe[statement] = { ok: false, error: String(error.message ?? error) };
      }
    }
    return probe;
  });

async function waitForD1(ids) {
  await vi.waitFor(
    async () => {
      for (const id of ids) expect((await metrics(id)).history_outbox_backlog).toBe(0);
    },
    { timeout: 60_000, interval: 20 },
  );
}

/** Fire each product's alarm until none has one due or retention deletes nothing more. */
async function drainAlarms(ids) {
  let runs = 0;
  let last = null;
  for (let round = 0; ; round++) {
    vi.setSystemTime(Date.now() + 1_001);
    let ran = 0;
    for (const id of ids) if (await runDurableObjectAlarm(stubOf(id))) ran++;
    runs += ran;
    if (ran === 0) break;
    if (round % 20 === 19) {
      const counts = JSON.stringify(await Promise.all(ids.map(rowCounts)));
      if (counts === last) break;
      last = counts;
    }
  }
  return runs;
}

const timed = async (work) => {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
};

it("storage per hold, per order and per join; the object's size through a 200,000-hold storm, expiry and retention", async () => {
  const T0 = Math.floor(Date.now() / 1000) * 1000;
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0);
  const holdTtlMs = Number(env.HOLD_TTL_SECONDS ?? 120) * 1000;
  const retentionDays = Number(env.RETENTION_DAYS ?? 30);

  // ---- Per-row figures ------------------------------------------------------------------
  const storm = await product(10_000_000);
  const empty = await bytes(storm);
  await makeHolds(storm, SAMPLE_HOLDS);
  const afterSample = await bytes(storm);

  // Orders from a sample of those holds, each paid by a success webhook with a payment id, in
  // batches of 100 with the order history copied to D1 between batches (as it is copied
  // continuously under load), so the outbox's transient rows stay few.
  const holdIds = await runInDurableObject(stubOf(storm), (_, state) =>
    state.storage.sql
      .exec("SELECT hold_id FROM holds ORDER BY created_at LIMIT ?", SAMPLE_ORDERS)
      .toArray()
      .map((r) => r.hold_id),
  );
  for (let start = 0; start < SAMPLE_ORDERS; start += 100) {
    const orders = await inObject(storm, 100, (instance, j) =>
      instance.createOrder({ ...call(storm), shopperId: null, holdId: holdIds[start + j] }),
    );
    await inObject(storm, 100, (instance, j) =>
      instance.settlePayment({
        ...call(storm),
        notice: {
          idempotencyKey: `evt_${crypto.randomUUID()}`,
          orderId: orders[j].order.order_id,
          status: "success",
          paymentId: `pi_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`,
        },
      }),
    );
    await waitForD1([storm]);
  }
  const afterOrders = await bytes(storm);

  // Holds by named shoppers: the hold row plus each shopper's row in shopper_units.
  const named = await product(SAMPLE_HOLDS);
  const namedEmpty = await bytes(named);
  await makeHolds(named, SAMPLE_HOLDS, (i) => `shopper-${String(i).padStart(8, "0")}`);
  const namedAfter = await bytes(named);

  // Queue joins by named shoppers (queue_shoppers rows, saved in batches).
  const queued = await product(10);
  await api("PATCH", `/api/admin/products/${queued}`, {
    queue: { enabled: true, admit_per_second: 10_000, admission_ttl_seconds: 60 },
  });
  const queuedEmpty = await bytes(queued);
  await inObject(queued, SAMPLE_JOINS, (instance, i) =>
    instance.joinQueue({ ...call(queued), shopperId: `joiner-${String(i).padStart(8, "0")}` }),
  );
  // (The last block's joiners, at most 63, are saved with a later write: not counted here.)
  const queuedAfter = await bytes(queued);

  // ---- The storm: STORM holds at the same instant ----------------------------------------
  const beforeStorm = afterOrders;
  const stormRun = await timed(() => makeHolds(storm, STORM));
  const afterStorm = await bytes(storm);
  const rowsAfterStorm = await rowCounts(storm);

  // ---- Expiry: past the holds' deadline; the alarm releases every one of them -----------
  // Each expired hold also writes a log line: timed with them for the named shoppers' 10,000
  // holds, and with console.log muted for the storm's, to tell the SQL from the logging.
  vi.setSystemTime(T0 + holdTtlMs + 1_000);
  const namedExpiry = await timed(() => runDurableObjectAlarm(stubOf(named)));
  const mute = vi.spyOn(console, "log").mockImplementation(() => {});
  const expiry = await timed(() => runDurableObjectAlarm(stubOf(storm)));
  mute.mockRestore();
  await runDurableObjectAlarm(stubOf(queued));
  const expiredMetrics = await metrics(storm);
  const afterExpiry = expiredMetrics.storage_bytes;

  // ---- Retention: 31 days on, alarms until nothing more is deleted ----------------------
  vi.setSystemTime(T0 + (retentionDays + 1) * DAY);
  const ids = [storm, named, queued];
  const retention = await timed(() => drainAlarms(ids));
  const afterRetention = await bytes(storm);
  const rowsAfterRetention = await rowCounts(storm);
  const namedRowsAfter = await rowCounts(named);
  const namedAfterRetention = await bytes(named);
  const queuedRowsAfter = await rowCounts(queued);
  const queuedAfterRetention = await bytes(queued);
  const full = await metrics(storm, true);

  // ---- A second storm of the same size, into the pages retention freed ------------------
  const refill = await timed(() => makeHolds(storm, STORM));
  const afterRefill = await bytes(storm);

  const probe = await sqliteProbe(storm);
  const report = {
    meta: {
      at: new Date(T0).toISOString(),
      storm: STORM,
      sampleHolds: SAMPLE_HOLDS,
      sampleOrders: SAMPLE_ORDERS,
      sampleJoins: SAMPLE_JOINS,
      holdTtlSeconds: holdTtlMs / 1000,
      retentionDays,
      pageSize: probe["PRAGMA page_size"].rows?.[0]?.page_size ?? null,
    },
    perRow: {
      holdAnonymous: (afterSample - empty) / SAMPLE_HOLDS,
      orderPaid: (afterOrders - afterSample) / SAMPLE_ORDERS,
      holdNamedShopper: (namedAfter - namedEmpty) / SAMPLE_HOLDS,
      queueJoin: (queuedAfter - queuedEmpty) / SAMPLE_JOINS,
    },
    sizes: {
      empty,
      afterSample,
      afterOrders,
      beforeStorm,
      afterStorm,
      afterExpiry,
      afterRetention,
      afterRefill,
      named: { empty: namedEmpty, after: namedAfter, afterRetention: namedAfterRetention },
      queued: { empty: queuedEmpty, after: queuedAfter, afterRetention: queuedAfterRetention },
    },
    timings: {
      stormMs: stormRun.ms,
      expiryAlarmMs: expiry.ms,
      namedExpiryAlarmMs: namedExpiry.ms,
      retentionMs: retention.ms,
      retentionAlarmRuns: retention.result,
      refillMs: refill.ms,
    },
    rows: {
      afterStorm: rowsAfterStorm,
      afterRetention: rowsAfterRetention,
      namedAfterRetention: namedRowsAfter,
      queuedAfterRetention: queuedRowsAfter,
    },
    afterRetentionMetrics: {
      stock: full.stock,
      reserved: full.reserved,
      sold: full.sold,
      holds: full.holds,
      orders: full.orders,
      invariants: full.invariants,
    },
    expiredHoldsAtOnce: expiredMetrics.holds?.expired ?? null,
    sqlite: probe,
  };
  console.log(`STORAGE_REPORT ${JSON.stringify(report)}`);

  expect(full.invariants.ok).toBe(true);
  expect(rowsAfterRetention.orders).toBe(0);
  expect(rowsAfterRetention.holds).toBe(0);
});
