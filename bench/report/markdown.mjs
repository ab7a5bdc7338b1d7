// bench/results/latest.md (or partial.md): the same tables as the terminal, with how they were measured.
import {
  BOUNDARY_HEADER,
  BOUNDARY_NUMERIC,
  boundaryCells,
  HEADER,
  markdownTable,
  resultCells,
} from "./tables.mjs";

/**
 * @param {any} results the object written to latest.json
 * @param {string} chartFile the chart written beside it
 */
export function markdownReport(results, chartFile) {
  const labels = Object.fromEntries(results.targets.map((t) => [t.key, t.label]));
  const goalLines = results.goals.map(
    (g) =>
      `- ${g.met === null ? "NOT MEASURED" : g.met ? "MET" : "MISSED"}: ${g.goal} — ${g.detail}`,
  );
  return [
    "# Flash-sale checkout benchmark",
    "",
    `Run ${results.meta.startedAt} on ${results.meta.machine}; ${results.meta.quick ? "**quick mode** " : ""}${results.meta.rowSeconds} s per row; commit ${results.meta.commit}.`,
    "",
    "## Targets",
    "",
    ...results.targets.map(
      (t) =>
        `- **${t.label}**: ${t.description}${t.shopperServer ? ` Shopper rows (tokens, bot): a second server, run after this one stopped. ${t.shopperServer}` : ""}`,
    ),
    ...results.skipped.map(
      (s) => `- ${s.rows ? `${s.rows} on ` : ""}**${s.key}** skipped: ${s.reason}`,
    ),
    "",
    "## Performance targets (judged on workerd direct)",
    "",
    ...goalLines,
    "",
    ...(results.noisyRows.length
      ? [
          `**Noisy rows** (other processes used more than 0.2 cores meanwhile; rerun on a quiet machine): ${results.noisyRows.join("; ")}.`,
          "",
        ]
      : []),
    "## Boundary correctness",
    "",
    markdownTable(BOUNDARY_HEADER, boundaryCells(results.boundary, labels), BOUNDARY_NUMERIC),
    "",
    "## Rows",
    "",
    markdownTable(HEADER, resultCells(results.rows, labels)),
    "",
    `![throughput and p99 against concurrency](${chartFile})`,
    "",
    "## How to read this",
    "",
    ...results.meta.notes.map((n) => `- ${n}`),
    "",
  ].join("\n");
}
