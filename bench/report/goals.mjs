// The performance targets, judged on the workerd-direct rows at one concurrency. They are
// reported, met or missed; nothing is tuned to meet them.

/**
 * @param {any[]} rows measured rows ({ target, scenario, connections, rps, latencyMs })
 * @param {number} c the concurrency to judge at
 * @param {string} ours target key judged
 */
export function judgeGoals(rows, c, ours = "workerd") {
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
  return goals;
}
