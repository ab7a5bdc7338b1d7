// Boundary correctness: 20,000 hold requests at concurrency 256 for 1,000 units must give exactly
// 1,000 holds and 19,000 sold-out refusals, and leave the product fully reserved with its
// invariants intact.
import { createProduct, JSON_HEADERS, productMetrics } from "./lib/http.mjs";
import { measure } from "./lib/load.mjs";
import { BOUNDARY } from "./scenarios.mjs";

/**
 * @param {{ url: string, serverPids: () => number[] }} target
 * @param {{ next: () => number }} ids
 */
export async function boundaryCheck(target, ids) {
  const { stock, requests: amount, connections } = BOUNDARY;
  const id = ids.next();
  await createProduct(target.url, id, stock);
  const row = await measure({
    target,
    requests: [
      {
        method: "POST",
        path: "/api/holds",
        headers: JSON_HEADERS,
        body: JSON.stringify({ product_id: id, qty: 1 }),
      },
    ],
    connections,
    amount,
    ok: [201],
    expected: [409],
  });
  const metrics = await productMetrics(target.url, id);
  const failures = [];
  if (row.responses !== amount) failures.push(`${row.responses} responses, expected ${amount}`);
  if (row.ok !== stock) failures.push(`${row.ok} holds succeeded (201), expected exactly ${stock}`);
  if (row.expected !== amount - stock)
    failures.push(`${row.expected} refusals (409), expected ${amount - stock}`);
  if (row.errors !== 0) failures.push(`${row.errors} errors: ${JSON.stringify(row.errorDetail)}`);
  if (!metrics.invariants?.ok)
    failures.push(`invariants violated: ${JSON.stringify(metrics.invariants)}`);
  if (metrics.available !== 0) failures.push(`available ${metrics.available}, expected 0`);
  if (metrics.reserved !== stock) failures.push(`reserved ${metrics.reserved}, expected ${stock}`);
  if (metrics.holds?.active !== stock)
    failures.push(`${metrics.holds?.active} active holds, expected ${stock}`);
  return {
    ...row,
    productId: id,
    metrics: {
      stock: metrics.stock,
      reserved: metrics.reserved,
      available: metrics.available,
      holds: metrics.holds,
      invariants: metrics.invariants,
    },
    passed: failures.length === 0,
    failures,
  };
}
