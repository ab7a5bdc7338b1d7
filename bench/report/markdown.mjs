// bench/results/latest.md (or partial.md): the same tables as the terminal, with how they were measured.
import {
  BOUNDARY_HEADER,
  BOUNDARY_NUMERIC,
  boundaryCells,
  CROWD_HEADER,
  CROWD_NUMERIC,
  crowdCells,
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
    ...(results.crowds?.length
      ? [
          "## Crowd",
          "",
          `${results.meta.crowd.shoppers.toLocaleString("en-US")} shoppers, each its own id, for ${results.meta.crowd.units} units at ${results.meta.crowd.connections} concurrent requests, queue off then on (admit ${results.crowds.find((c) => c.queue)?.queueSettings?.admit_per_second ?? "–"} a second, admissions good for ${results.crowds.find((c) => c.queue)?.queueSettings?.admission_ttl_seconds ?? "–"} s; waiting shoppers poll every ${results.crowds.find((c) => c.queue)?.pollMs ?? "–"} ms). Every winner orders and pays. Latencies in ms, p50 / p99. “All answered” is when the last shopper had a definitive answer (a hold, or sold out). Fairness: of the units sold, the share that went to the first ${results.meta.crowd.units} shoppers in ticket order (queue on) or in arrival order, i.e. request start (queue off, where there is no ticket).`,
          "",
          markdownTable(CROWD_HEADER, crowdCells(results.crowds, labels), CROWD_NUMERIC),
          "",
        ]
      : []),
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
