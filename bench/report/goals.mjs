// The issue's performance targets, judged on the workerd-direct rows at one concurrency. They are
// reported, met or missed; nothing is tuned to meet them.

/**
 * @param {any[]} rows measured rows ({ target, scenario, connections, rps, latencyMs })
 * @param {number} c the concurrency to judge at
 * @param {string} ours target key judged
 * @param {any[]} crowds the crowd rows (crowd.mjs)
 */
export function judgeGoals(rows, c, ours = "workerd", crowds = []) {
  const find = (target, scenario) =>
    rows.find((r) => r.target === target && r.scenario === scenario && r.connections === c);
  const hot = find(ours, "hot");
  const soldout = find(ours, "soldout");
  const noop = find(ours, "noop");
  const base = find("baseline", "hot");
  const goals = [];

  if (hot && base) {
    const ratio = hot.rps / base.rps;
    const lowerP99 = hot.latencyMs.p99 < base.latencyMs.p99;
    goals.push({
      goal: `hot product holds/s at c=${c} ≥ 2× baseline, with lower p99`,
      met: ratio >= 2 && lowerP99,
      detail: `${ratio.toFixed(2)}× baseline (${hot.rps.toFixed(0)} vs ${base.rps.toFixed(0)} holds/s); p99 ${hot.latencyMs.p99.toFixed(1)} vs ${base.latencyMs.p99.toFixed(1)} ms`,
    });
  } else {
    goals.push({
      goal: `hot product holds/s at c=${c} ≥ 2× baseline, with lower p99`,
      met: null,
      detail: "not measured (baseline or hot row missing)",
    });
  }

  if (hot && soldout) {
    const ratio = soldout.rps / hot.rps;
    goals.push({
      goal: `sold-out answers/s ≥ 5× hot-product holds/s (c=${c})`,
      met: ratio >= 5,
      detail: `${ratio.toFixed(2)}× (${soldout.rps.toFixed(0)} vs ${hot.rps.toFixed(0)} req/s)`,
    });
  } else {
    goals.push({
      goal: `sold-out answers/s ≥ 5× hot-product holds/s (c=${c})`,
      met: null,
      detail: "not measured",
    });
  }

  if (hot && noop) {
    const ratio = hot.rps / noop.rps;
    goals.push({
      goal: `hold path ≥ ½ of the no-op throughput (c=${c})`,
      met: ratio >= 0.5,
      detail: `${(ratio * 100).toFixed(0)}% of no-op (${hot.rps.toFixed(0)} vs ${noop.rps.toFixed(0)} req/s)`,
    });
  } else {
    goals.push({
      goal: `hold path ≥ ½ of the no-op throughput (c=${c})`,
      met: null,
      detail: "not measured",
    });
  }

  // Shopper rows (run on the second server, with SHOPPER_TOKEN_SECRET set) against the plain hot row.
  const tokens = find(ours, "tokens");
  const tokensGoal = `hot product with 1,000 token shoppers ≥ 90% of plain hot holds/s (c=${c})`;
  if (hot && tokens) {
    const ratio = tokens.rps / hot.rps;
    goals.push({
      goal: tokensGoal,
      met: ratio >= 0.9,
      detail: `${(ratio * 100).toFixed(0)}% (${tokens.rps.toFixed(0)} vs ${hot.rps.toFixed(0)} holds/s); p99 ${tokens.latencyMs.p99.toFixed(1)} vs ${hot.latencyMs.p99.toFixed(1)} ms`,
    });
  } else {
    goals.push({ goal: tokensGoal, met: null, detail: "not measured (hot or tokens row missing)" });
  }

  // Correctness at every concurrency; the detail quotes the judged one.
  const bots = rows.filter((r) => r.target === ours && r.scenario === "bot");
  const bot = find(ours, "bot") ?? bots[0];
  const botGoal =
    "one shopper hammering holds gets exactly the limit, every other answer 409 shopper_limit_reached (every c)";
  if (bot) {
    const failed = bots.filter((r) => r.failures.length > 0);
    goals.push({
      goal: botGoal,
      met: failed.length === 0,
      detail: `c=${bot.connections}: ${bot.ok} × 201 (limit ${bot.extra.limit}), ${bot.extra.refusals} refusals, ${bot.extra.refusalsPerS.toFixed(0)} refusals/s, p99 ${bot.latencyMs.p99.toFixed(1)} ms${failed.length ? `; failed at c=${failed.map((r) => r.connections).join(", ")}` : ""}`,
    });
  } else {
    goals.push({ goal: botGoal, met: null, detail: "not measured (bot rows missing)" });
  }

  // The crowd with the queue on, against the baseline's hot-product tail at the crowd's concurrency.
  const crowd = crowds.find((r) => r.target === ours && r.queue);
  const crowdC = crowd?.connections ?? 256;
  const baseAtCrowd = rows.find(
    (r) => r.target === "baseline" && r.scenario === "hot" && r.connections === crowdC,
  );
  const crowdGoal = `crowd: queue-on hold p99 at c=${crowdC} < baseline hot p99 at c=${crowdC}`;
  if (crowd && baseAtCrowd && crowd.latencyMs.hold.n > 0) {
    goals.push({
      goal: crowdGoal,
      met: crowd.latencyMs.hold.p99 < baseAtCrowd.latencyMs.p99,
      detail: `hold p99 ${crowd.latencyMs.hold.p99.toFixed(1)} ms over ${crowd.latencyMs.hold.n} holds (${crowd.shoppers} shoppers, ${crowd.units} units) vs baseline hot p99 ${baseAtCrowd.latencyMs.p99.toFixed(1)} ms`,
    });
  } else {
    goals.push({
      goal: crowdGoal,
      met: null,
      detail: crowd
        ? `not measured (no baseline hot row at c=${crowdC} in this run)`
        : "not measured (no queue-on crowd row)",
    });
  }
  return goals;
}
