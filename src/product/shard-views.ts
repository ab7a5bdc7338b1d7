/**
 * A sharded product as shoppers and operators see it: summed over the coordinator's pool and
 * every shard, from the shards' reports (the product view and the live frame) or their metrics
 * (with the conservation check across them). Pure functions over what shard-side.ts gathered.
 */
import type { ProductMetricsView, ProductView } from "../contract/shapes";
import type { StockFrame } from "../contract/live";
import type { Ledger } from "../shards/ledger";
import type { ProductDefaults } from "./product-row";
import { productRow, productView, type ProductRow } from "./product-row";
import { certifiedSoldOut, freeAcross, loadLedger } from "./shards";

/**
 * The live stock frame of a sharded product, as of the shards' last reports (they come with every
 * borrow, recall and product read): no call, so the relays' flush stays synchronous.
 */
export function shardedFrame(sql: SqlStorage, defaults: ProductDefaults): StockFrame {
  const ledger = loadLedger({ sql });
  const view = shardedView(productRow(sql), ledger, certifiedSoldOut({ sql }, ledger), defaults);
  return {
    type: "stock",
    stock: view.stock,
    reserved: view.reserved,
    available: view.available,
    sold_out: view.sold_out,
  };
}

/** The product view of a sharded product (or one that was sharded and still has units lent). */
export function shardedView(
  product: ProductRow,
  ledger: Ledger,
  certified: boolean,
  defaults: ProductDefaults,
): ProductView {
  const free = freeAcross(ledger);
  let reserved = product.reserved;
  for (const held of ledger.accounts) reserved += held.report?.reserved ?? 0;
  const view = productView(product, defaults);
  return {
    ...view,
    stock: free + reserved,
    reserved,
    available: free,
    sold_out: certified,
  };
}

type Numbers = Record<string, unknown>;

/** Add every number of `b` into `a`, field by field (nested objects too). */
function addInto(a: Numbers, b: Numbers): void {
  for (const [key, value] of Object.entries(b)) {
    if (typeof value === "number" && typeof a[key] === "number") a[key] = a[key] + value;
    else if (value && typeof value === "object" && !Array.isArray(value)) {
      const into = a[key];
      if (into && typeof into === "object" && !Array.isArray(into))
        addInto(into as Numbers, value as Numbers);
    }
  }
}

/** The coordinator's own metrics plus every shard's, and the check across them. */
export function combineMetrics(
  own: ProductMetricsView,
  product: ProductRow,
  ledger: Ledger,
  perShard: (ProductMetricsView | null)[],
  certified: boolean,
): ProductMetricsView {
  const total: ProductMetricsView = structuredClone(own);
  const violations = own.invariants.violations.map((v) => `coordinator: ${v}`);
  // The coordinator's own stock counts its lent units; across shards they are counted where
  // they are.
  total.stock = product.stock - product.lent;
  total.available = ledger.pool;
  total.initial_stock = own.initial_stock;
  total.restocked = own.restocked;
  let quotas = 0;
  let sold = 0;
  let inFlight = 0;
  const shards: NonNullable<ProductMetricsView["shards"]>["per_shard"] = [];
  perShard.forEach((metrics, k) => {
    const held = ledger.accounts[k];
    if (!metrics || !held) {
      if (held && held.grantSeq > 0) violations.push(`shard ${k}: did not answer`);
      return;
    }
    const { initial_stock, restocked, ...counted } = metrics;
    void initial_stock;
    void restocked;
    addInto(total, counted);
    total.product_id = own.product_id;
    for (const v of metrics.invariants.violations) violations.push(`shard ${k}: ${v}`);
    quotas += metrics.stock;
    sold += metrics.sold;
    const report = held.report;
    const granted = report?.granted ?? 0;
    const returned = report?.returned ?? 0;
    // I2 at the shard: its stock and sales are what it was granted net of what it gave back.
    if (report && metrics.stock + metrics.sold !== granted - returned) {
      violations.push(
        `shard ${k}: stock ${metrics.stock} + sold ${metrics.sold} != granted ${granted} - returned ${returned}`,
      );
    }
    // I3: it applied no grant that was not issued, and the coordinator no return it did not make.
    if (granted > held.granted || held.returned > returned) {
      violations.push(`shard ${k}: transfers applied that were never made (I3)`);
    }
    inFlight += held.granted - granted + (returned - held.returned);
    shards.push({
      shard: k,
      stock: metrics.stock,
      reserved: metrics.reserved,
      available: metrics.available,
      sold: metrics.sold,
      granted,
      returned,
      holds_active: metrics.holds.active,
      orders_pending: metrics.orders.pending,
      dead_letters: metrics.history_dead_letters,
      invariants_ok: metrics.invariants.ok,
    });
  });
  const stock = product.initial_stock + product.restocked;
  const counted = ledger.pool + product.reserved + quotas + sold + own.sold + inFlight;
  if (counted !== stock) {
    violations.push(
      `pool ${ledger.pool} + coordinator reserved ${product.reserved} + shard quotas ${quotas} + sold ${sold + own.sold} + in flight ${inFlight} != stock ${stock}`,
    );
  }
  total.invariants = { ...own.invariants, ok: violations.length === 0, violations };
  total.shards = {
    count: product.shards,
    pool: ledger.pool,
    in_flight: inFlight,
    sold_out_certified: certified,
    per_shard: shards,
  };
  return total;
}
