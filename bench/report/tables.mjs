// The results as tables: one set of cells, rendered for the terminal (aligned columns) or Markdown.

const fmt = (v, digits = 0) =>
  v === null || v === undefined || Number.isNaN(v)
    ? "–"
    : v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (v) =>
  v === null || v === undefined ? "–" : v < 10 ? fmt(v, 2) : v < 100 ? fmt(v, 1) : fmt(v, 0);

export const HEADER = [
  "scenario",
  "c",
  "target",
  "req/s",
  "p50 ms",
  "p95 ms",
  "p99 ms",
  "ok",
  "409 (expected)",
  "errors",
  "server CPU µs/req",
  "server cores",
  "loadgen µs/req",
  "loadgen max lag ms",
  "vs baseline",
];

function errorsCell(row) {
  if (!row.errors) return "0";
  const parts = Object.entries(row.errorDetail.unexpectedStatuses).map(
    ([code, n]) => `${n}×${code}`,
  );
  if (row.errorDetail.socketErrors) parts.push(`${row.errorDetail.socketErrors} socket`);
  if (row.errorDetail.timeouts) parts.push(`${row.errorDetail.timeouts} timeout`);
  return `${row.errors} (${parts.join(", ")})`;
}

function versus(row, rows) {
  if (row.target === "baseline") return "";
  const base = rows.find(
    (r) =>
      r.target === "baseline" && r.scenario === row.scenario && r.connections === row.connections,
  );
  if (!base || !base.rps) return "";
  const p99 =
    row.latencyMs.p99 && base.latencyMs.p99
      ? ` p99 ${fmt(row.latencyMs.p99 / base.latencyMs.p99, 2)}×`
      : "";
  return `${fmt(row.rps / base.rps, 2)}× req/s${p99}`;
}

/** @param {any[]} rows @param {Record<string, string>} labels target key → label */
export function resultCells(rows, labels) {
  return rows.map((row) => {
    const rps =
      row.extra?.checkoutsPerS !== undefined
        ? `${fmt(row.rps)} (${fmt(row.extra.checkoutsPerS)} checkouts/s)`
        : row.extra?.refusalsPerS !== undefined
          ? `${fmt(row.rps)} (${fmt(row.extra.refusalsPerS)} refusals/s)`
          : fmt(row.rps);
    return [
      row.scenario,
      String(row.connections),
      labels[row.target] ?? row.target,
      rps,
      ms(row.latencyMs.p50),
      ms(row.latencyMs.p95),
      ms(row.latencyMs.p99),
      fmt(row.ok),
      fmt(row.expected),
      errorsCell(row),
      fmt(row.cpu.serverUsPerRequest),
      fmt(row.cpu.serverCores, 2),
      fmt(row.cpu.loadGenUsPerRequest),
      fmt(row.loadGenLoopDelayMs?.max, 0),
      versus(row, rows),
    ];
  });
}

/** Columns of the results table that hold numbers (right-aligned). */
export const NUMERIC = new Set([1, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13]);

/** Aligned plain-text table, with a blank line whenever the first column changes. */
export function terminalTable(header, cells, numeric = NUMERIC) {
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r) =>
    r
      .map((v, i) => (numeric.has(i) ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  const out = [line(header), widths.map((w) => "─".repeat(w)).join("  ")];
  cells.forEach((r, i) => {
    if (i > 0 && r[0] !== cells[i - 1][0]) out.push("");
    out.push(line(r));
  });
  return out.join("\n");
}

export function markdownTable(header, cells, numeric = NUMERIC) {
  const esc = (v) => v.replaceAll("|", "\\|");
  return [
    `| ${header.map(esc).join(" | ")} |`,
    `| ${header.map((_, i) => (numeric.has(i) ? "---:" : "---")).join(" | ")} |`,
    ...cells.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ].join("\n");
}

export function boundaryCells(boundaries, labels) {
  return boundaries.map((b) => [
    labels[b.target] ?? b.target,
    b.passed ? "PASS" : "FAIL",
    `${fmt(b.ok)} × 201, ${fmt(b.expected)} × 409, ${fmt(b.errors)} errors of ${fmt(b.responses)}`,
    `stock ${b.metrics?.stock}, reserved ${b.metrics?.reserved}, available ${b.metrics?.available}, invariants ${b.metrics?.invariants?.ok ? "ok" : "VIOLATED"}`,
    fmt(b.rps),
    ms(b.latencyMs?.p99),
    b.failures.join("; "),
  ]);
}
export const BOUNDARY_HEADER = [
  "target",
  "result",
  "answers",
  "metrics afterwards",
  "req/s",
  "p99 ms",
  "failures",
];
export const BOUNDARY_NUMERIC = new Set([4, 5]);

export const CROWD_HEADER = [
  "target",
  "mode",
  "all answered s",
  "sold out at s",
  "arrivals/s",
  "req/s",
  "hold ms (n)",
  "poll ms (n)",
  "join ms",
  "order / pay p99 ms",
  "errors (503)",
  "sold",
  "fairness",
  "server cores",
  "loadgen max lag ms",
];
export const CROWD_NUMERIC = new Set([2, 3, 4, 5, 13, 14]);

const p50p99 = (l) => (l && l.n ? `${ms(l.p50)} / ${ms(l.p99)}` : "–");

/** @param {any[]} crowds @param {Record<string, string>} labels */
export function crowdCells(crowds, labels) {
  return crowds.map((c) => [
    labels[c.target] ?? c.target,
    c.mode,
    fmt(c.allAnsweredS, 1),
    fmt(c.soldOutS, 1),
    fmt(c.arrivals.perS),
    fmt(c.rps),
    `${p50p99(c.latencyMs.hold)} (${fmt(c.latencyMs.hold.n)})`,
    c.latencyMs.poll.n ? `${p50p99(c.latencyMs.poll)} (${fmt(c.latencyMs.poll.n)})` : "–",
    p50p99(c.latencyMs.join),
    `${ms(c.latencyMs.order.p99)} / ${ms(c.latencyMs.pay.p99)}`,
    `${fmt(c.errors.total)} (${fmt(c.errors.status503)})`,
    `${fmt(c.unitsSold)} of ${fmt(c.units)}`,
    c.fairness.share === null
      ? "–"
      : `${fmt(c.fairness.share * 100)}% to the first ${fmt(c.units)} (${c.queue ? "ticket" : "arrival"} order)`,
    fmt(c.cpu.serverCores, 2),
    fmt(c.loadGenLoopDelayMs?.max, 0),
  ]);
}
