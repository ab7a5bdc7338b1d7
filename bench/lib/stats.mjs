// Latency summaries from every recorded response time (no histogram bucketing, so sub-millisecond
// latencies at concurrency 1 stay visible).

/**
 * @param {Float64Array} sorted ascending
 * @param {number} p percentile, 0..100
 */
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

/**
 * @param {number[]} values milliseconds
 * @returns {{ p50: number|null, p95: number|null, p99: number|null, max: number|null, mean: number|null }}
 */
export function latencySummary(values) {
  const sorted = Float64Array.from(values).sort();
  const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : null;
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : null,
    mean,
  };
}
