/**
 * What must hold of a sharded product, checked from outside the modules: from the shards' rows
 * (holds and orders), the shards' quotas and the coordinator's ledger, each against the others.
 */
import { checkLedger } from "../../src/shards/ledger";
import { checkQuota, freeUnits } from "../../src/shards/quota";
import type { Cluster } from "./cluster";

function expect(condition: boolean, message: string, cluster: Cluster): void {
  if (!condition) {
    const state = {
      ledger: {
        ...cluster.ledger,
        accounts: cluster.ledger.accounts.map((a) => ({
          ...a,
          report: a.report && { ...a.report },
        })),
      },
      quotas: cluster.shards.map((s) => s.quota),
      inFlight: cluster.network.length,
    };
    throw new Error(`${message}\n${JSON.stringify(state)}`);
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** After every step, whatever the network did. */
export function checkAlways(cluster: Cluster): void {
  const { ledger, shards } = cluster;
  checkLedger(ledger); // I1
  for (const s of shards) checkQuota(s.quota); // I2
  shards.forEach((s, k) => {
    const held = ledger.accounts[k]!;
    const q = s.quota;
    // I3: a shard applied no grant that was not issued; the coordinator no return not issued.
    expect(
      q.grantSeq <= held.grantSeq && q.granted <= held.granted,
      `I3 grants, shard ${k}`,
      cluster,
    );
    expect(
      held.returnSeq <= q.returnSeq && held.returned <= q.returned,
      `I3 returns, shard ${k}`,
      cluster,
    );
    // The counters are the rows': reserved = active holds + pending orders, sold = paid orders.
    const reserved =
      sum(s.holds.filter((h) => h.status === "active").map((h) => h.qty)) +
      sum(s.orders.filter((o) => o.status === "pending").map((o) => o.qty));
    const sold = sum(s.orders.filter((o) => o.status === "paid").map((o) => o.qty));
    expect(
      q.reserved === reserved,
      `shard ${k}: reserved ${q.reserved}, rows ${reserved}`,
      cluster,
    );
    expect(q.sold === sold, `shard ${k}: sold ${q.sold}, paid orders ${sold}`, cluster);
    // Nothing sold twice: no order's units were sold by more than one payment.
    expect(
      s.orders.every((o) => o.sales <= (o.status === "paid" ? 1 : 0)),
      `shard ${k}: an order sold twice`,
      cluster,
    );
  });
  // The theorem: what the shards hold and sold never exceeds what left the pool, nor the total.
  const out = sum(shards.map((s) => s.quota.stock + s.quota.sold));
  expect(
    out <= ledger.total - ledger.pool,
    `oversold: shards hold ${out}, pool ${ledger.pool} of ${ledger.total}`,
    cluster,
  );
  expect(
    sum(shards.map((s) => s.quota.sold + s.quota.reserved)) <= ledger.total,
    "oversold",
    cluster,
  );
  // Sold out was only ever declared when every unit was sold.
  for (const c of cluster.certificates) {
    expect(
      c.soldEverywhere === c.total,
      `sold out declared with ${c.soldEverywhere} of ${c.total} sold`,
      cluster,
    );
  }
}

/** Once nothing is in flight: every unit is in exactly one place, none lost. */
export function checkQuiescent(cluster: Cluster): void {
  checkAlways(cluster);
  const { ledger, shards } = cluster;
  expect(cluster.network.length === 0 && ledger.outbox.length === 0, "still in flight", cluster);
  shards.forEach((s, k) => {
    const held = ledger.accounts[k]!;
    expect(s.quota.outbox.length === 0, `shard ${k}: returns unacknowledged`, cluster);
    expect(
      held.granted === s.quota.granted && held.returned === s.quota.returned,
      `shard ${k}: ledger and quota disagree`,
      cluster,
    );
  });
  // pool + sum of quotas (free + held + pending) + sold = stock.
  const quotas = sum(shards.map((s) => freeUnits(s.quota) + s.quota.reserved));
  const sold = sum(shards.map((s) => s.quota.sold));
  expect(
    ledger.pool + quotas + sold === ledger.total,
    `lost units: pool ${ledger.pool} + quotas ${quotas} + sold ${sold} != ${ledger.total}`,
    cluster,
  );
}
