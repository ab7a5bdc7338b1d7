// bench/results/storage.md from the storage bench's figures (storage.test.mjs).

const n = (v, digits = 0) =>
  typeof v === "number"
    ? v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "–";
const mib = (v) => `${n(v)} (${n(v / 2 ** 20, 2)} MiB)`;
const s = (ms) => `${n(ms / 1000, 1)} s`;
const rowsCell = (rows) =>
  Object.entries(rows)
    .filter(([, count]) => count > 0)
    .map(([table, count]) => `${table} ${n(count)}`)
    .join(", ") || "none";

/** @param {any} r the report the test prints */
export function storageMarkdown(r) {
  const { meta, perRow, sizes, timings, rows } = r;
  const sqlite = Object.entries(r.sqlite).map(
    ([statement, out]) =>
      `| \`${statement}\` | ${out.ok ? `allowed: ${JSON.stringify(out.rows)}` : `refused: ${out.error}`} |`,
  );
  return [
    "# Storage: bytes per hold and per order, and the object's size through a long storm",
    "",
    `Run ${meta.at} (the frozen clock's start) with \`npx vitest run --config bench/storage/vitest.config.mjs\`; HOLD_TTL_SECONDS ${meta.holdTtlSeconds}, RETENTION_DAYS ${meta.retentionDays}, SQLite page ${n(meta.pageSize)} bytes. Sizes are \`storage_bytes\` from the admin metrics (\`ctx.storage.sql.databaseSize\`), in bytes.`,
    "",
    "## Per row",
    "",
    "| what | bytes each | measured over |",
    "| --- | ---: | --- |",
    `| hold, anonymous, with the key the Worker makes (\`auto:<uuid>\`) | ${n(perRow.holdAnonymous)} | ${n(meta.sampleHolds)} holds |`,
    `| hold by a named shopper (its row in \`shopper_units\` included) | ${n(perRow.holdNamedShopper)} | ${n(meta.sampleHolds)} holds, one shopper each |`,
    `| order of a hold, paid by a success webhook with a payment id (order row, webhook key, the hold's order id), history copied to D1 | ${n(perRow.orderPaid)} | ${n(meta.sampleOrders)} orders, in batches of 100 |`,
    `| queue join by a named shopper (\`queue_shoppers\`) | ${n(perRow.queueJoin)} | ${n(meta.sampleJoins)} joins |`,
    "",
    `## One product through a storm of ${n(meta.storm)} holds`,
    "",
    "| moment | storage_bytes | rows | took |",
    "| --- | ---: | --- | ---: |",
    `| product created | ${mib(sizes.empty)} | | |`,
    `| ${n(meta.sampleHolds)} holds, ${n(meta.sampleOrders)} of them ordered and paid | ${mib(sizes.beforeStorm)} | | |`,
    `| ${n(meta.storm)} more holds at the same instant | ${mib(sizes.afterStorm)} | ${rowsCell(rows.afterStorm)} | ${s(timings.stormMs)} |`,
    `| clock past the holds' deadline: one alarm expires ${n(r.expiredHoldsAtOnce)} holds in one transaction (log lines muted) | ${mib(sizes.afterExpiry)} | | ${s(timings.expiryAlarmMs)} in one alarm (${n((timings.expiryAlarmMs * 1000) / r.expiredHoldsAtOnce)} µs a hold) |`,
    `| clock ${meta.retentionDays + 1} days on: alarms until retention deletes nothing more (${n(timings.retentionAlarmRuns)} alarm runs over 3 products) | ${mib(sizes.afterRetention)} | ${rowsCell(rows.afterRetention)} | ${s(timings.retentionMs)} |`,
    `| a second storm of ${n(meta.storm)} holds | ${mib(sizes.afterRefill)} | | ${s(timings.refillMs)} |`,
    "",
    `With its log line (one per expired hold) on, as in production: the named shoppers' ${n(meta.sampleHolds)} holds took ${s(timings.namedExpiryAlarmMs)} in one alarm (${n((timings.namedExpiryAlarmMs * 1000) / meta.sampleHolds)} µs a hold).`,
    "",
    `After retention the product's full check: sold ${n(r.afterRetentionMetrics.sold)}, reserved ${n(r.afterRetentionMetrics.reserved)}, invariants ${r.afterRetentionMetrics.invariants?.ok ? "ok" : "VIOLATED"}.`,
    "",
    "## What retention leaves",
    "",
    "| product | storage_bytes before → after retention | rows left after retention |",
    "| --- | --- | --- |",
    `| the storm's (anonymous holds, paid orders) | ${n(sizes.afterExpiry)} → ${n(sizes.afterRetention)} | ${rowsCell(rows.afterRetention)} |`,
    `| ${n(meta.sampleHolds)} holds by as many named shoppers, all expired | ${n(sizes.named.after)} → ${n(sizes.named.afterRetention)} | ${rowsCell(rows.namedAfterRetention)} |`,
    `| ${n(meta.sampleJoins)} queue joins by as many named shoppers | ${n(sizes.queued.after)} → ${n(sizes.queued.afterRetention)} | ${rowsCell(rows.queuedAfterRetention)} |`,
    "",
    "## What the object's SQLite lets us ask",
    "",
    "| statement | answer |",
    "| --- | --- |",
    ...sqlite,
    "",
  ].join("\n");
}
