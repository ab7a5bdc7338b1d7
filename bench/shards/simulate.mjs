// @ts-check
// A discrete-event simulation of one sharded product's sale: S units, M shoppers, N shards and a
// coordinator, each object a single-threaded FIFO server whose per-operation costs come from
// Cloudflare's documented per-object limits and from local measurements (bench/results/
// shard-costs.json), and whose decisions are made by the real src/shards/ functions (quota,
// ledger, block sizes, sold-out certificate). Model and assumptions: docs/sharding.md#the-simulation.
//
//   npx node bench/shards/simulate.mjs                  the committed run (writes results)
//   SIM_SHARDS=64 SIM_SHOPPERS=100000 SIM_UNITS=10000 npx node bench/shards/simulate.mjs
//   SIM_ROWS='documented:256;local:64' npx node bench/shards/simulate.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { latencySummary } from "../lib/stats.mjs";
import { loadShardModules } from "./modules.mjs";

const m = await loadShardModules();
const results = fileURLToPath(new URL("../results/", import.meta.url));

// ---- inputs ----------------------------------------------------------------------------------

const env = process.env;
const UNITS = Number(env.SIM_UNITS ?? 100_000);
const SHOPPERS = Number(env.SIM_SHOPPERS ?? 1_000_000);
/** Shoppers arrive uniformly at random over this window (ms). */
const ARRIVAL_MS = Number(env.SIM_ARRIVAL_MS ?? 20_000);
const SHARD_COUNTS = (env.SIM_SHARDS ?? "1,8,64,256").split(",").map(Number);
/** One-way network delays (ms): Worker to shard (same region), shard to coordinator. */
const WORKER_MS = 5;
const COORDINATOR_MS = 10;
/** A winner orders this long after the hold, then pays this long after the order (uniform, ms). */
const ORDER_AFTER = [1_000, 5_000];
const PAY_AFTER = [2_000, 10_000];
/** A refused shopper tries again after (uniform, ms), at most this many times. */
const RETRY_AFTER = [1_000, 3_000];
const RETRIES = 5;
/** How long the Worker's cached status takes to say "sold out" after the certificate (ms). */
const STATUS_MS = 1_000;
/**
 * After a borrow found the pool empty, a shard refuses without asking again for this long, then
 * twice as long after each further empty answer, up to the maximum (reset by a grant).
 */
const POOL_EMPTY_MEMORY_MS = [500, 4_000];
/**
 * The Worker side: shoppers are spread over this many locations, and after a shard refused a
 * hold with nothing free, the location answers holds for that shard itself for EDGE_MEMORY_MS
 * (today's sold-out memory, as a per-location cache: scale notes B.6, layer 2).
 */
const LOCATIONS = 100;
const EDGE_MEMORY_MS = 1_000;
const BLOCKS = { refillMs: Number(env.SIM_REFILL_MS ?? 3_000), minBlock: 4, maxBlock: 2_000 };
/** A recall asks at most this many shards (one request's outgoing connections). */
const RECALL_LIMIT = 6;
/** The coordinator does not ask the same shard again within this long (memory only). */
const RECALL_AGAIN_MS = 1_000;

const measured = JSON.parse(readFileSync(`${results}shard-costs.json`, "utf8"));

/**
 * Per-operation costs (ms) of one object. "documented": Cloudflare's per-object guidance (scale
 * notes A1): storage-writing operations 200-500/s, simple ones 500-1,000/s; we take 500/s for a
 * write (hold, order, payment, transfer) and 1,000/s for a refusal or a report (no write).
 * "documented, slow": the low end, 250/s and 500/s. "local": this machine's workerd, measured by
 * bench/shards/costs.test.mjs (batched: 64 in flight, sharing group commits).
 */
const PROFILES = {
  documented: { write: 2, refusal: 1, transfer: 2, report: 1, call: 0.5 },
  "documented, slow": { write: 4, refusal: 2, transfer: 4, report: 2, call: 1 },
  local: {
    write: measured.us.hold_batched / 1000,
    refusal: measured.us.refusal_batched / 1000,
    transfer: measured.us.transfer_batched / 1000,
    report: measured.us.refusal_batched / 1000,
    call: 0.5,
  },
};

// ---- the pure modules' own cost --------------------------------------------------------------

/** CPU µs per call of the protocol's functions, over many repetitions (process.cpuUsage). */
function moduleCosts() {
  const reps = 200_000;
  const time = (fn) => {
    fn(); // warm
    const start = process.cpuUsage();
    for (let i = 0; i < reps; i++) fn(i);
    const used = process.cpuUsage(start);
    return Number(((used.user + used.system) / reps).toFixed(3));
  };
  const q = m.newQuota(0);
  const ledger = m.newLedger(Number.MAX_SAFE_INTEGER / 4, 256);
  let seq = 0;
  return {
    reserve_and_unreserve: time(() => {
      m.applyGrant(q, { seq: q.grantSeq + 1, qty: 1 });
      m.reserve(q, 1);
      m.unreserve(q, 1);
    }),
    refusal_check: time(() => m.reserve(m.newQuota(1), 1)),
    grant_debit_and_ack: time(() => {
      m.grant(ledger, 3, 10);
      m.noteReport(ledger, {
        ...m.reportOf(q),
        shard: 3,
        grantSeq: ledger.accounts[3].grantSeq,
        granted: ledger.accounts[3].granted,
      });
    }),
    grant_apply: time(() => m.applyGrant(q, { seq: q.grantSeq + 1, qty: 10 })),
    return_and_receive: time(() => {
      const t = m.beginReturn(q, 1);
      if (t) {
        m.ackReturns(q, t.seq);
        seq = t.seq;
      }
      return seq;
    }),
    sold_out_check_256_shards: time(() => m.soldOut(ledger)),
  };
}

// ---- the simulation --------------------------------------------------------------------------

class Heap {
  /** @type {{ t: number, seq: number, fn: () => void }[]} */
  items = [];
  seq = 0;
  push(t, fn) {
    const a = this.items;
    a.push({ t, seq: this.seq++, fn });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(a[p], a[i])) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop() {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let s = i;
        if (l < a.length && less(a[l], a[s])) s = l;
        if (r < a.length && less(a[r], a[s])) s = r;
        if (s === i) break;
        [a[s], a[i]] = [a[i], a[s]];
        i = s;
      }
    }
    return top;
  }
  get size() {
    return this.items.length;
  }
}
const less = (a, b) => a.t < b.t || (a.t === b.t && a.seq < b.seq);

/** A seeded PRNG (mulberry32), so a run replays exactly. */
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One object: a single thread running its events one after another, in arrival order. */
class Server {
  /** @type {{ arrived: number, work: (t: number) => number, then?: (t: number) => void }[]} */
  queue = [];
  head = 0;
  running = false;
  busy = 0;
  maxWait = 0;
  /** Busy ms per second of the sale, to find the busiest second. */
  perSecond = new Float64Array(3_600);
  /** @param {Heap} heap */
  constructor(heap) {
    this.heap = heap;
  }
  /**
   * Queue `work` (run when the object gets to it; its effects happen then, and it returns its
   * cost in ms); `then` runs when it is done.
   * @param {number} now @param {(t: number) => number} work @param {(t: number) => void} [then]
   */
  run(now, work, then) {
    this.queue.push({ arrived: now, work, then });
    if (!this.running) this.next(now);
  }
  /** @param {number} t */
  next(t) {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
      this.running = false;
      return;
    }
    const job = this.queue[this.head++];
    if (this.head > 4096) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.running = true;
    this.maxWait = Math.max(this.maxWait, t - job.arrived);
    const spent = job.work(t);
    this.busy += spent;
    for (let at = t, left = spent; left > 0;) {
      const second = Math.min(3_599, Math.floor(at / 1000));
      const take = Math.min(left, (second + 1) * 1000 - at);
      this.perSecond[second] += take;
      at += take;
      left -= take;
    }
    const end = t + spent;
    this.heap.push(end, () => {
      job.then?.(end);
      this.next(end);
    });
  }
}

function simulate(n, profileName, seed = 1) {
  const cost = PROFILES[profileName];
  const rnd = random(seed);
  /** @param {number[]} range [low, high] */
  const uniform = (range) => range[0] + (range[1] - range[0]) * rnd();
  const heap = new Heap();
  const ledger = m.newLedger(UNITS, n);
  const shards = Array.from({ length: n }, (_, k) => ({
    k,
    server: new Server(heap),
    quota: m.newQuota(k),
    rate: { rate: 0, at: 0 },
    borrowing: false,
    /** Until when the shard refuses without asking the coordinator, and the next such pause. */
    quietUntil: -Infinity,
    quietMs: POOL_EMPTY_MEMORY_MS[0],
    waiting: /** @type {{ sent: number, shopper: number }[]} */ ([]),
    reportedEmpty: false,
  }));
  const coordinator = new Server(heap);
  const recalledAt = new Float64Array(n).fill(-Infinity);
  const stats = {
    holdLatency: /** @type {number[]} */ ([]),
    holdsOk: 0,
    refusals: 0,
    edgeRefusals: 0,
    falseRefusals: 0,
    gaveUpWithUnitsLeft: 0,
    soldOutAnswers: 0,
    soldOutAnswersEarly: 0,
    borrows: 0,
    grants: 0,
    returns: 0,
    recalls: 0,
    reports: 0,
    lastPaidAt: 0,
    certifiedAt: /** @type {number | null} */ (null),
  };
  let sold = 0;
  let reserved = 0;

  // Before the sale: each shard gets a first block, its expected sales over one refill interval
  // at most, and no more than an even share of the stock (the coordinator does this as the sale
  // starts). When demand is far above the stock, that is all of it, evenly.
  if (n > 1) {
    const expected = ((SHOPPERS / ARRIVAL_MS) * BLOCKS.refillMs) / n;
    const first = Math.floor(Math.min(UNITS / n, expected));
    for (const shard of shards) {
      const g = m.grant(ledger, shard.k, first);
      if (g) m.applyGrant(shard.quota, g);
      m.noteReport(ledger, m.reportOf(shard.quota));
    }
  } else {
    const g = m.grant(ledger, 0, UNITS);
    m.applyGrant(shards[0].quota, g);
    m.noteReport(ledger, m.reportOf(shards[0].quota));
  }

  const unitsLeft = () => UNITS - sold - reserved; // free anywhere, in the pool or in flight

  /** The shard's answer reaches the shopper. */
  function answer(shopper, sent, at, ok, fromEdge = false) {
    if (!fromEdge) stats.holdLatency.push(at + WORKER_MS - sent);
    if (ok) {
      stats.holdsOk++;
      const shard = shards[home[shopper]];
      const orderAt = at + WORKER_MS + uniform(ORDER_AFTER);
      heap.push(orderAt + WORKER_MS, () =>
        shard.server.run(
          heap_now,
          () => cost.write,
          (done) => {
            const payAt = done + WORKER_MS + uniform(PAY_AFTER);
            // The payment webhook settles the order at its shard.
            heap.push(payAt + WORKER_MS, () =>
              shard.server.run(heap_now, (t) => {
                m.sellReserved(shard.quota, 1);
                reserved--;
                sold++;
                stats.lastPaidAt = Math.max(stats.lastPaidAt, t);
                maybeReportEmpty(shard, t);
                return cost.write;
              }),
            );
          },
        ),
      );
      return;
    }
    stats.refusals++;
    if (unitsLeft() > 0) stats.falseRefusals++;
    // The location remembers the refusal and answers this shard's holds itself for a while.
    if (!fromEdge) edge[location[shopper] * n + home[shopper]] = at + WORKER_MS + EDGE_MEMORY_MS;
    tries[shopper]++;
    if (tries[shopper] > RETRIES) {
      if (unitsLeft() > 0) stats.gaveUpWithUnitsLeft++;
      return;
    }
    heap.push(at + WORKER_MS + uniform(RETRY_AFTER), () => attempt(shopper));
  }

  /** A shard with nothing free and nothing held tells the coordinator, for the certificate. */
  function maybeReportEmpty(shard, t) {
    const q = shard.quota;
    if (n === 1) {
      if (q.stock === 0 && stats.certifiedAt === null) stats.certifiedAt = t;
      return;
    }
    if (m.freeUnits(q) !== 0 || q.reserved !== 0 || shard.reportedEmpty) return;
    shard.reportedEmpty = true;
    const report = m.reportOf(q);
    heap.push(t + COORDINATOR_MS, () =>
      coordinator.run(heap_now, (ct) => {
        stats.reports++;
        m.noteReport(ledger, report);
        if (stats.certifiedAt === null && m.soldOut(ledger)) stats.certifiedAt = ct;
        return cost.report;
      }),
    );
  }

  /** The shard asks the coordinator for a block; `need` 0 is a prefetch. */
  function borrow(shard, t, need) {
    shard.borrowing = true;
    stats.borrows++;
    const report = m.reportOf(shard.quota);
    const want = m.wantedBlock(shard.rate.rate, need, BLOCKS);
    heap.push(t + COORDINATOR_MS, () =>
      coordinator.run(heap_now, (ct) => {
        m.noteReport(ledger, report);
        const late = m.endgame(ledger, n, BLOCKS.minBlock);
        const size = m.grantSize({ pool: ledger.pool, need, want, activeShards: n, endgame: late });
        if (size > 0) {
          m.grant(ledger, shard.k, size);
          stats.grants++;
        }
        const grants = m.unacknowledged(ledger, shard.k);
        // Nothing granted is nothing written: the reply costs what a read does.
        let spent = size > 0 ? cost.transfer : cost.report;
        if (size === 0 && need > 0 && late) {
          // The end game: ask the shards whose reports show the most free units to give them
          // back, a few at a time, and none asked in the last RECALL_AGAIN_MS.
          const targets = m
            .recallTargets(ledger, 0, { except: shard.k })
            .filter((k) => ct - recalledAt[k] >= RECALL_AGAIN_MS)
            .slice(0, RECALL_LIMIT);
          for (const target of targets) {
            recalledAt[target] = ct;
            stats.recalls++;
            spent += cost.call;
            recall(shards[target], ct + spent);
          }
        }
        heap.push(ct + spent + COORDINATOR_MS, () =>
          shard.server.run(heap_now, (st) => {
            for (const g of grants) m.applyGrant(shard.quota, g);
            shard.borrowing = false;
            if (size === 0) {
              shard.quietUntil = st + shard.quietMs;
              shard.quietMs = Math.min(POOL_EMPTY_MEMORY_MS[1], shard.quietMs * 2);
            } else {
              shard.quietMs = POOL_EMPTY_MEMORY_MS[0];
            }
            if (m.freeUnits(shard.quota) > 0) shard.reportedEmpty = false;
            // The holds that waited for this borrow run now, in order.
            const waiting = shard.waiting;
            shard.waiting = [];
            let spentHere = cost.transfer;
            for (const w of waiting) {
              const ok = m.reserve(shard.quota, 1);
              if (ok) reserved++;
              spentHere += ok ? cost.write : cost.refusal;
              const at = st + spentHere;
              heap.push(at, () => answer(w.shopper, w.sent, at, ok));
            }
            return spentHere;
          }),
        );
        return spent;
      }),
    );
  }

  /** A recall reaches a shard: it returns what it has free (debited first), then reports. */
  function recall(shard, t) {
    heap.push(t + COORDINATOR_MS, () =>
      shard.server.run(heap_now, (st) => {
        const transfer = m.beginReturn(shard.quota, m.surplus(shard.quota, shard.waiting.length));
        const report = m.reportOf(shard.quota);
        if (transfer) {
          stats.returns++;
          heap.push(st + cost.transfer + COORDINATOR_MS, () =>
            coordinator.run(heap_now, (ct) => {
              m.receiveReturn(ledger, shard.k, transfer);
              m.noteReport(ledger, report);
              heap.push(ct + cost.transfer + COORDINATOR_MS, () =>
                m.ackReturns(shard.quota, transfer.seq),
              );
              return cost.transfer;
            }),
          );
        }
        maybeReportEmpty(shard, st);
        return transfer ? cost.transfer : cost.report;
      }),
    );
  }

  /** A shopper's hold request reaches its home shard. */
  function attempt(shopper) {
    const sent = heap_now;
    if (stats.certifiedAt !== null && sent >= stats.certifiedAt + STATUS_MS) {
      stats.soldOutAnswers++;
      if (sold < UNITS) stats.soldOutAnswersEarly++;
      return; // the Worker answers sold out from its cached status
    }
    const shard = shards[home[shopper]];
    if (edge[location[shopper] * n + shard.k] > sent) {
      stats.edgeRefusals++;
      answer(shopper, sent, sent - WORKER_MS, false, true);
      return;
    }
    heap.push(sent + WORKER_MS, () =>
      shard.server.run(heap_now, (st) => {
        m.noteDemand(shard.rate, 1, st);
        if (m.reserve(shard.quota, 1)) {
          reserved++;
          if (n > 1 && !shard.borrowing) {
            const low = m.lowWater(shard.rate.rate, 2 * COORDINATOR_MS + cost.transfer, BLOCKS);
            if (m.freeUnits(shard.quota) < low && st >= shard.quietUntil) borrow(shard, st, 0);
          }
          heap.push(st + cost.write, () => answer(shopper, sent, st + cost.write, true));
          return cost.write;
        }
        // Nothing free here: wait for a borrow (one in flight per shard), unless the pool was
        // just found empty, or there is no coordinator (one object).
        if (n > 1 && st >= shard.quietUntil) {
          shard.waiting.push({ sent, shopper });
          if (!shard.borrowing) borrow(shard, st, 1);
          return cost.refusal;
        }
        heap.push(st + cost.refusal, () => answer(shopper, sent, st + cost.refusal, false));
        return cost.refusal;
      }),
    );
  }

  const home = new Uint16Array(SHOPPERS);
  const location = new Uint8Array(SHOPPERS);
  const edge = new Float64Array(LOCATIONS * n);
  const tries = new Uint8Array(SHOPPERS);
  for (let s = 0; s < SHOPPERS; s++) {
    home[s] = m.homeShard(`shopper-${s}`, n);
    location[s] = Math.floor(rnd() * LOCATIONS);
    const at = rnd() * ARRIVAL_MS;
    heap.push(at, () => attempt(s));
  }

  let heap_now = 0;
  let events = 0;
  while (heap.size > 0) {
    const e = heap.pop();
    heap_now = e.t;
    events++;
    e.fn();
  }

  const end = stats.certifiedAt ?? heap_now;
  const busyUntil = (server, until) => {
    let sum = 0;
    for (let i = 0; i < Math.ceil(until / 1000); i++) sum += server.perSecond[i];
    return sum;
  };
  const peak = (server) => Math.max(...server.perSecond) / 1000;
  const holds = latencySummary(stats.holdLatency);
  const shardBusy = shards.map((s) => peak(s.server));
  return {
    shards: n,
    profile: profileName,
    sold,
    sold_out_s: stats.certifiedAt === null ? null : Number((stats.certifiedAt / 1000).toFixed(2)),
    last_paid_s: Number((stats.lastPaidAt / 1000).toFixed(2)),
    hold_p50_ms: Number(holds.p50?.toFixed(1)),
    hold_p99_ms: Number(holds.p99?.toFixed(1)),
    hold_max_ms: Number(holds.max?.toFixed(1)),
    hold_attempts: stats.holdLatency.length,
    coordinator_busy: n === 1 ? null : Number((busyUntil(coordinator, end) / end).toFixed(3)),
    coordinator_peak_second: n === 1 ? null : Number(peak(coordinator).toFixed(3)),
    coordinator_max_wait_ms: n === 1 ? null : Number(coordinator.maxWait.toFixed(1)),
    /** The busiest second of the busiest shard. */
    shard_peak_second: Number(Math.max(...shardBusy).toFixed(3)),
    shard_max_wait_ms: Number(Math.max(...shards.map((s) => s.server.maxWait)).toFixed(1)),
    borrows: stats.borrows,
    grants: stats.grants,
    recalls: stats.recalls,
    returns: stats.returns,
    refusals: stats.refusals,
    refusals_at_the_edge: stats.edgeRefusals,
    false_refusals: stats.falseRefusals,
    gave_up_with_units_left: stats.gaveUpWithUnitsLeft,
    sold_out_answers: stats.soldOutAnswers,
    false_sold_out_answers: stats.soldOutAnswersEarly,
    events,
  };
}

// ---- the run ---------------------------------------------------------------------------------

const started = Date.now();
const modules = moduleCosts();
const rows = [];
/** Which rows: every N with the documented costs, and the best N again with the other two. */
const ROWS = (
  env.SIM_ROWS ??
  [
    ...SHARD_COUNTS.map((n) => `documented:${n}`),
    `documented, slow:${Math.max(...SHARD_COUNTS)}`,
    `local:${Math.max(...SHARD_COUNTS)}`,
  ].join(";")
)
  .split(";")
  .map((row) => row.split(":"));
for (const [profile, n] of ROWS) {
  const row = simulate(Number(n), profile);
  rows.push(row);
  console.error(`${profile} N=${n}: ${JSON.stringify(row)}`);
}

const inputs = {
  units: UNITS,
  shoppers: SHOPPERS,
  arrival_ms: ARRIVAL_MS,
  worker_to_shard_ms: WORKER_MS,
  shard_to_coordinator_ms: COORDINATOR_MS,
  order_after_ms: ORDER_AFTER,
  pay_after_ms: PAY_AFTER,
  retry_after_ms: RETRY_AFTER,
  retries: RETRIES,
  status_ms: STATUS_MS,
  locations: LOCATIONS,
  edge_memory_ms: EDGE_MEMORY_MS,
  pool_empty_memory_ms: POOL_EMPTY_MEMORY_MS,
  blocks: BLOCKS,
  recall_limit: RECALL_LIMIT,
  recall_again_ms: RECALL_AGAIN_MS,
  profiles_ms: PROFILES,
  measured_us: measured.us,
  module_cpu_us: modules,
};

const table = [
  "| profile | N | sold out (s) | last paid (s) | hold p50 / p99 (ms) | coordinator busy (mean / peak s) | busiest shard (peak s) | borrows | recalls | refusals | false refusals | gave up, units left | false sold-out answers |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...rows.map(
    (r) =>
      `| ${r.profile} | ${r.shards} | ${r.sold_out_s ?? "not in run"} | ${r.last_paid_s} | ${r.hold_p50_ms} / ${r.hold_p99_ms} | ${r.coordinator_busy === null ? "–" : `${(r.coordinator_busy * 100).toFixed(1)}% / ${(r.coordinator_peak_second * 100).toFixed(0)}%`} | ${(r.shard_peak_second * 100).toFixed(0)}% | ${r.borrows} | ${r.recalls} | ${r.refusals} | ${r.false_refusals} | ${r.gave_up_with_units_left} | ${r.false_sold_out_answers} |`,
  ),
].join("\n");

const markdown = `# Shard simulation: ${UNITS.toLocaleString("en")} units, ${SHOPPERS.toLocaleString("en")} shoppers

Written by \`npx node bench/shards/simulate.mjs\` (${((Date.now() - started) / 1000).toFixed(0)} s). Model and assumptions:
[docs/sharding.md](../../docs/sharding.md#the-simulation). Per-operation costs (ms) by profile:
\`${JSON.stringify(PROFILES)}\`; local workerd measurements (µs, bench/results/shard-costs.json):
\`${JSON.stringify(measured.us)}\`; CPU µs per call of the src/shards/ functions in Node:
\`${JSON.stringify(modules)}\`.

${table}
`;
writeFileSync(`${results}shard-simulation.md`, markdown);
writeFileSync(`${results}shard-simulation.json`, `${JSON.stringify({ inputs, rows }, null, 2)}\n`);
process.stdout.write(`${markdown}\nWrote bench/results/shard-simulation.md and .json\n`);
