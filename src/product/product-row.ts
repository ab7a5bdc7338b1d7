import { readCatalogue, type CatalogueEntry } from "../contract/catalogue-entry";
import { failure, type Failure } from "../contract/errors";
import { logEvent } from "../log";
import type { LatePayments, ProductView } from "../contract/shapes";
import type { Counter } from "./counters";
import { firstRow } from "./tx";

/** The product row: its catalogue fields, its sale settings and the counters the invariants are written over. */
export interface ProductRow {
  id: number;
  name: string;
  price_cents: number;
  currency: string;
  initial_stock: number;
  restocked: number;
  stock: number;
  reserved: number;
  sold: number;
  /** Epoch ms; holds before it are refused. Null: on sale from the start. */
  sale_starts_at: number | null;
  /** Epoch ms; holds from it on are refused. Null: no end. */
  sale_ends_at: number | null;
  /** Null: the MAX_UNITS_PER_SHOPPER default applies. */
  max_units_per_shopper: number | null;
  /** Null: the LATE_PAYMENTS default applies. */
  late_payments: LatePayments | null;
  /** 1: holds need an admission from the product's queue. */
  queue_enabled: number;
  queue_admit_per_second: number;
  queue_admission_ttl_seconds: number;
  /** An https URL or a path on the storefront's origin; null: no picture. */
  image_url: string | null;
  description: string | null;
  /** Objects the product's stock is split over (1: this object sells, as before shards). */
  shards: number;
  /** Null on the product's own object (its coordinator); k on shard k (src/product/shards.ts). */
  shard: number | null;
  /**
   * On the coordinator: units granted to shards and not returned (what they sold included). The
   * pool, what is granted to no shard, is then stock - reserved - lent. Always 0 on a shard.
   */
  lent: number;
  /** The numbers of shards the product had before (JSON), where shoppers' earlier homes are. */
  shard_eras: string;
}

/** The product row with its counters (src/product/counters.ts), as metrics read it. */
export type ProductCounters = ProductRow & Record<Counter, number>;

export function findProductRow(sql: SqlStorage): ProductRow | undefined {
  return firstRow<ProductRow>(sql.exec("SELECT * FROM product LIMIT 1"));
}

/** The product row of an object that is open: it exists, or the object is broken. */
export function productRow(sql: SqlStorage): ProductRow {
  const product = findProductRow(sql);
  if (!product) throw new Error("product row missing in an open product object");
  return product;
}

const epochMs = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso));
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * The product's entry in the D1 catalogue, for its object's first start; a failure when the
 * product does not exist or the catalogue cannot be read.
 */
export async function fetchCatalogueEntry(
  db: D1Database,
  productId: number,
): Promise<CatalogueEntry | Failure> {
  try {
    const entry = await readCatalogue(db, productId);
    return entry ?? failure("product_not_found", `No product ${productId}.`);
  } catch (error) {
    logEvent(
      "Product catalogue unavailable.",
      { product_id: productId, error: String(error) },
      "error",
    );
    return failure(
      "service_unavailable",
      "The product catalogue cannot be read right now; retry shortly.",
    );
  }
}

/**
 * First start of this product's object: copy the catalogue entry once, never again. A shard
 * (`shard` not null) starts with no stock: it only ever sells what its coordinator grants it.
 */
export function openProduct(
  sql: SqlStorage,
  entry: CatalogueEntry,
  shard: number | null = null,
): void {
  const stock = shard === null ? entry.initial_stock : 0;
  sql.exec(
    `INSERT OR IGNORE INTO product
       (id, name, price_cents, currency, initial_stock, stock, sale_starts_at, sale_ends_at,
        max_units_per_shopper, late_payments, queue_enabled, queue_admit_per_second,
        queue_admission_ttl_seconds, image_url, description, shards, shard)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    entry.id,
    entry.name,
    entry.price_cents,
    entry.currency,
    stock,
    stock,
    epochMs(entry.sale_starts_at),
    epochMs(entry.sale_ends_at),
    entry.max_units_per_shopper,
    entry.late_payments,
    entry.queue_enabled,
    entry.queue_admit_per_second,
    entry.queue_admission_ttl_seconds,
    // Entries cached before these fields existed lack them.
    entry.image_url ?? null,
    entry.description ?? null,
    entry.shards ?? 1,
    shard,
  );
}

/** Units free to hold here: on a coordinator with shards, its pool. */
export function available(product: ProductRow): number {
  return product.stock - product.reserved - product.lent;
}

/** What the catalogue in D1 keeps of a product, as the object now has it. */
export function catalogueEntry(product: ProductRow): CatalogueEntry {
  return {
    id: product.id,
    name: product.name,
    price_cents: product.price_cents,
    currency: product.currency,
    initial_stock: product.initial_stock,
    sale_starts_at: iso(product.sale_starts_at),
    sale_ends_at: iso(product.sale_ends_at),
    max_units_per_shopper: product.max_units_per_shopper,
    late_payments: product.late_payments,
    queue_enabled: product.queue_enabled,
    queue_admit_per_second: product.queue_admit_per_second,
    queue_admission_ttl_seconds: product.queue_admission_ttl_seconds,
    image_url: product.image_url,
    description: product.description,
    shards: product.shards,
  };
}

/** The defaults a product falls back on for the settings it does not set itself. */
export interface ProductDefaults {
  /** MAX_UNITS_PER_SHOPPER */
  maxUnitsPerShopper: number;
  /** LATE_PAYMENTS */
  latePayments: LatePayments;
}

/** The product as shoppers see it, with the settings in effect. */
export function productView(product: ProductRow, defaults: ProductDefaults): ProductView {
  return {
    id: product.id,
    name: product.name,
    image_url: product.image_url,
    description: product.description,
    price_cents: product.price_cents,
    currency: product.currency,
    stock: product.stock,
    reserved: product.reserved,
    available: available(product),
    sold_out: product.stock === 0 && product.reserved === 0,
    sale_starts_at: iso(product.sale_starts_at),
    sale_ends_at: iso(product.sale_ends_at),
    max_units_per_shopper: product.max_units_per_shopper ?? defaults.maxUnitsPerShopper,
    late_payments: product.late_payments ?? defaults.latePayments,
    queue: {
      enabled: product.queue_enabled === 1,
      admit_per_second: product.queue_admit_per_second,
      admission_ttl_seconds: product.queue_admission_ttl_seconds,
    },
    // Shown only when the stock is split: a product with one object reads as it always did.
    ...(product.shards > 1 ? { shards: product.shards } : {}),
  };
}
