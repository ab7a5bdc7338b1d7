// The crowd: many shoppers, each with its own id, racing for a few units, with the product's queue
// on and off. A multi-step flow per shopper does not fit autocannon, so this is a small driver of
// its own: a fixed number of request slots (the concurrency), each a keep-alive connection of one
// node:http Agent, and a scheduler that hands every free slot the next thing a shopper does.
//
// Queue on: a shopper joins (POST /api/products/:id/queue, X-Shopper-Id), polls its ticket
// (GET /api/queue/:ticket, every POLL_MS) while it waits, and once admitted holds with the
// admission token, orders the hold and pays it (success webhook). Its answer is definitive when
// it holds (201) or its ticket says sold_out. Queue off: a shopper POSTs /api/holds; a 201 (then
// order and payment) or a 409 is definitive. Paying matters with the queue on: a product is sold
// out for waiting tickets only once no unit is left to come back (stock 0, nothing reserved).
//
// Priorities for a free slot: what an admitted or holding shopper does next (hold, order, pay),
// then polls that are due, then the next shopper of the crowd arriving. The crowd arrives as fast
// as the slots allow, in shopper order, so "arrival order" is request-start order.
import http from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { cpuDelta, machineBusyMs, ownCpuMs, treeCpu } from "./lib/cpu.mjs";
import { admin, createProduct, productMetrics, send } from "./lib/http.mjs";
import { latencySummary } from "./lib/stats.mjs";

/** How often a waiting shopper polls its ticket (the Worker answers from a copy ≤ 1 s old). */
export const POLL_MS = 1_000;
/** Attempts per step before a shopper gives up (503, 429, socket errors are retried). */
const ATTEMPTS = 5;
const RETRY_MS = 100;
/** No row may run longer than this; shoppers without an answer by then are counted as such. */
const DEADLINE_MS = 120_000;
/** The queue's settings for the crowd: the API's defaults (admit 50 a second, 60 s to use it). */
export const QUEUE_SETTINGS = { enabled: true, admit_per_second: 50, admission_ttl_seconds: 60 };

/** The seq a ticket carries (`qt1.<base64url JSON {p,s,h}>.<signature>`): the ticket order. */
export function ticketSeq(ticket) {
  try {
    return JSON.parse(Buffer.from(ticket.split(".")[1], "base64url").toString("utf8")).s;
  } catch {
    return null;
  }
}

/** A min-heap of scheduled polls by due time. */
class Due {
  items = [];
  get size() {
    return this.items.length;
  }
  peek() {
    return this.items[0];
  }
  push(item) {
    const a = this.items;
    a.push(item);
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (a[p].at <= a[i].at) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop() {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l].at < a[m].at) m = l;
        if (r < a.length && a[r].at < a[m].at) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Run one crowd against a fresh product.
 * @param {{ url: string, serverPids: () => number[] }} target
 * @param {{ next: () => number }} ids
 * @param {{ shoppers: number, units: number, connections: number, queue: boolean, shards?: number, label?: string }} options
 */
export async function runCrowd(target, ids, { shoppers, units, connections, queue, shards = 1 }) {
  const productId = ids.next();
  await createProduct(target.url, productId, units);
  if (queue || shards > 1) {
    const patched = await admin(target.url, "PATCH", `/api/admin/products/${productId}`, {
      ...(queue ? { queue: QUEUE_SETTINGS } : {}),
      ...(shards > 1 ? { shards } : {}),
    });
    if (patched.status !== 200)
      throw new Error(
        `crowd: setting the queue and shards: HTTP ${patched.status} ${JSON.stringify(patched.json)}`,
      );
  }
  const base = new URL(target.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections, scheduling: "fifo" });
  const runTag = `${productId}-${Date.now().toString(36)}`;

  const latencies = { join: [], poll: [], hold: [], order: [], pay: [] };
  const statuses = { join: {}, poll: {}, hold: {}, order: {}, pay: {} };
  const errors = { unexpected: 0, status503: 0, status429: 0, socket: 0, gaveUp: 0 };
  const errorSamples = [];
  const outcome = { held: 0, soldOut: 0, refused: 0, expiredRejoined: 0, noAnswer: 0 };
  const refusedCodes = {};
  const shopperState = Array.from({ length: shoppers }, (_, i) => ({
    i,
    id: `crowd-${runTag}-${i}`,
    arrivedAt: 0,
    answeredAt: 0,
    seq: null,
    firstPosition: null,
    ticket: null,
    token: null,
    holdId: null,
    orderId: null,
    won: false,
    done: false,
    attempts: 0,
  }));

  // Work queues: follow-ups (hold/order/pay) first, then polls that are due, then arrivals.
  const followUps = [];
  const polls = new Due();
  let nextArrival = 0;
  /** @type {number | null} */
  let firstJoinAt = null;
  let lastJoinEndAt = 0;
  let joinsDone = 0;
  let lastAnswerAt = 0;
  /** When the last unit was paid: from then on the product is sold out for good. */
  /** @type {number | null} */
  let soldOutAt = null;
  let paid = 0;
  let arrivalsAfterSoldOut = 0;

  const started = performance.now();
  const deadline = started + DEADLINE_MS;
  const finish = (s, kind) => {
    if (s.done) return;
    s.done = true;
    s.answeredAt = performance.now();
    lastAnswerAt = s.answeredAt;

    outcome[kind]++;
  };

  const record = (kind, res, ok) => {
    latencies[kind].push(res.ms);
    const key = res.status === 0 ? "socket" : String(res.status);
    statuses[kind][key] = (statuses[kind][key] ?? 0) + 1;
    if (ok) return true;
    if (res.status === 503) errors.status503++;
    else if (res.status === 429) errors.status429++;
    else if (res.status === 0) errors.socket++;
    else errors.unexpected++;
    if (errorSamples.length < 5)
      errorSamples.push({ kind, status: res.status, body: res.json ?? res.error });
    return false;
  };

  /** A step failed in a way worth retrying: again shortly, or give up after ATTEMPTS. */
  const retry = (s, step) => {
    s.attempts++;
    if (s.attempts >= ATTEMPTS) {
      errors.gaveUp++;
      finish(s, "noAnswer");
      return;
    }
    polls.push({ at: performance.now() + RETRY_MS, s, step });
  };

  const headersOf = (s) => ({ "x-shopper-id": s.id });

  async function hold(s) {
    const body = {
      product_id: productId,
      qty: 1,
      ...(s.token ? { admission_token: s.token } : {}),
    };
    const res = await send(agent, base, "POST", "/api/holds", body, headersOf(s));
    if (res.status === 201) {
      record("hold", res, true);
      s.holdId = res.json.hold_id;
      s.won = true;
      s.attempts = 0;
      finish(s, "held");
      followUps.push({ s, step: "order" });
    } else if (res.status === 409) {
      // Sold out (queue off), or an admitted shopper refused (counted apart: it should not happen).
      record("hold", res, !queue);
      const code = res.json?.error?.code ?? "?";
      refusedCodes[code] = (refusedCodes[code] ?? 0) + 1;
      finish(s, queue ? "refused" : "soldOut");
    } else {
      record("hold", res, false);
      retry(s, "hold");
    }
  }

  async function order(s) {
    const res = await send(agent, base, "POST", "/api/orders", { hold_id: s.holdId }, headersOf(s));
    if (record("order", res, res.status === 201 || res.status === 200)) {
      s.orderId = res.json.order_id;
      s.attempts = 0;
      followUps.push({ s, step: "pay" });
    } else if (res.status === 503 || res.status === 0 || res.status === 429) retry(s, "order");
  }

  async function pay(s) {
    const res = await send(agent, base, "POST", "/api/payments/webhook", {
      idempotency_key: `crowd-pay-${s.orderId}`,
      order_id: s.orderId,
      status: "success",
    });
    if (record("pay", res, res.status === 200)) {
      if (++paid === units) soldOutAt = performance.now();
    } else if (res.status === 503 || res.status === 0) retry(s, "pay");
  }

  /** A ticket answer (from a join or a poll): act on its state. */
  function onTicket(s, ticket) {
    if (s.seq === null) {
      s.ticket = ticket.ticket;
      s.seq = ticketSeq(ticket.ticket);
    }
    if (s.firstPosition === null && ticket.position !== null) s.firstPosition = ticket.position;
    if (ticket.state === "admitted" && ticket.admission_token) {
      s.token = ticket.admission_token;
      s.attempts = 0;
      followUps.push({ s, step: "hold" });
    } else if (ticket.state === "sold_out") {
      finish(s, "soldOut");
    } else if (ticket.state === "expired") {
      // An admission that lapsed unused: join again (the bench's shoppers hold at once, so this
      // should not happen; it is counted).
      outcome.expiredRejoined++;
      s.seq = null;
      s.ticket = null;
      polls.push({ at: performance.now(), s, step: "join" });
    } else {
      polls.push({ at: performance.now() + POLL_MS, s, step: "poll" });
    }
  }

  async function join(s) {
    if (firstJoinAt === null) firstJoinAt = performance.now();
    const res = await send(
      agent,
      base,
      "POST",
      `/api/products/${productId}/queue`,
      {},
      headersOf(s),
    );
    joinsDone++;
    lastJoinEndAt = performance.now();
    if (record("join", res, res.status === 201 || res.status === 200)) {
      s.attempts = 0;
      onTicket(s, res.json);
    } else retry(s, "join");
  }

  async function poll(s) {
    const res = await send(agent, base, "GET", `/api/queue/${s.ticket}`, undefined, headersOf(s));
    if (record("poll", res, res.status === 200)) {
      s.attempts = 0;
      onTicket(s, res.json);
    } else retry(s, "poll");
  }

  async function arrive(s) {
    s.arrivedAt = performance.now();
    if (soldOutAt !== null) arrivalsAfterSoldOut++;
    if (queue) return join(s);
    if (firstJoinAt === null) firstJoinAt = s.arrivedAt;
    await hold(s);
    joinsDone++;
    lastJoinEndAt = performance.now();
  }

  const STEPS = { hold, order, pay, join, poll };

  /** The next thing to do now, or how long to wait for one (null: nothing left at all). */
  function next() {
    if (followUps.length) {
      const { s, step } = followUps.shift();
      return { run: () => STEPS[step](s) };
    }
    const now = performance.now();
    if (polls.size && polls.peek().at <= now) {
      const { s, step } = polls.pop();
      if (s.done && step !== "order" && step !== "pay") return { run: () => undefined };
      return { run: () => STEPS[step](s) };
    }
    if (nextArrival < shoppers) {
      const s = shopperState[nextArrival++];
      return { run: () => arrive(s) };
    }
    if (polls.size) return { wait: Math.max(1, polls.peek().at - now) };
    return null;
  }

  let inFlight = 0;
  async function slot() {
    for (;;) {
      if (performance.now() > deadline) return;
      const work = next();
      if (work === null) {
        // Others may still add follow-ups or polls.
        if (inFlight === 0) return;
        await sleep(5);
        continue;
      }
      if (work.wait !== undefined) {
        await sleep(Math.min(work.wait, 50));
        continue;
      }
      inFlight++;
      try {
        await work.run();
      } finally {
        inFlight--;
      }
    }
  }

  const pids = target.serverPids();
  const serverBefore = treeCpu(pids);
  const machineBefore = machineBusyMs();
  const loadBefore = ownCpuMs();
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  await Promise.all(Array.from({ length: connections }, slot));
  const elapsedS = (performance.now() - started) / 1000;
  loopDelay.disable();
  const loadGenMs = ownCpuMs() - loadBefore;
  const server = cpuDelta(serverBefore, treeCpu(pids));
  const othersMs = Math.max(0, machineBusyMs() - machineBefore - server.totalMs - loadGenMs);
  agent.destroy();
  for (const s of shopperState) if (!s.done) finish(s, "noAnswer");

  // Fairness: of the units sold, the share that went to the first `units` shoppers in ticket
  // order (queue on) or in arrival order, i.e. request start (queue off).
  const winners = shopperState.filter((s) => s.won);
  const rankOf = (s) => (queue ? s.seq : s.i + 1);
  const firstN = winners.filter((s) => rankOf(s) !== null && rankOf(s) <= units).length;
  const waits = shopperState.filter((s) => s.answeredAt > 0).map((s) => s.answeredAt - s.arrivedAt);
  const requests = Object.values(latencies).reduce((sum, list) => sum + list.length, 0);

  const metrics = await productMetrics(target.url, productId);
  const failures = [];
  if (!metrics.invariants?.ok)
    failures.push(`invariants violated: ${JSON.stringify(metrics.invariants)}`);
  if (winners.length > units) failures.push(`${winners.length} holds for ${units} units`);
  if (outcome.noAnswer) failures.push(`${outcome.noAnswer} shoppers without a definitive answer`);

  return {
    mode: queue ? "queue on" : "queue off",
    queue,
    shards,
    productId,
    shoppers,
    units,
    connections,
    queueSettings: queue ? QUEUE_SETTINGS : null,
    pollMs: queue ? POLL_MS : null,
    elapsedS,
    /** Until the last shopper had a definitive answer. */
    allAnsweredS: (lastAnswerAt - started) / 1000,
    /** Until the last unit was paid, and how many shoppers arrived after that. */
    soldOutS: soldOutAt === null ? null : (soldOutAt - started) / 1000,
    arrivalsAfterSoldOut,
    arrivals: {
      count: joinsDone,
      perS: firstJoinAt === null ? 0 : joinsDone / ((lastJoinEndAt - firstJoinAt) / 1000),
    },
    requests,
    rps: requests / elapsedS,
    latencyMs: Object.fromEntries(
      Object.entries(latencies).map(([kind, list]) => [
        kind,
        { n: list.length, ...latencySummary(list) },
      ]),
    ),
    statuses,
    errors: {
      ...errors,
      total: errors.unexpected + errors.status503 + errors.status429 + errors.socket,
    },
    errorSamples,
    outcome: { ...outcome, refusedCodes },
    unitsSold: winners.length,
    fairness: {
      order: queue ? "ticket order (the seq each ticket carries)" : "arrival order (request start)",
      firstN,
      share: winners.length ? firstN / winners.length : null,
    },
    waitMs: latencySummary(waits),
    metricsAfter: {
      stock: metrics.stock,
      reserved: metrics.reserved,
      sold: metrics.sold,
      invariants: metrics.invariants,
      queue: metrics.queue,
    },
    cpu: {
      serverMs: server.totalMs,
      serverCores: server.totalMs / 1000 / elapsedS,
      serverUsPerRequest: requests ? (server.totalMs * 1000) / requests : null,
      loadGenMs,
      loadGenCores: loadGenMs / 1000 / elapsedS,
      otherCores: othersMs / 1000 / elapsedS,
    },
    loadGenLoopDelayMs: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
    failures,
  };
}
