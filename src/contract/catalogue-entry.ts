import type { LatePayments } from "./shapes";

/**
 * The product catalogue in D1: which products exist, with the settings a new product object
 * starts from. The Worker looks a product up here before it wakes the product's object, so a
 * request naming a product that does not exist never creates an object; the object copies its
 * entry once, when it first opens.
 */
export interface CatalogueEntry {
  id: number;
  name: string;
  price_cents: number;
  currency: string;
  initial_stock: number;
  /** ISO 8601, or null. */
  sale_starts_at: string | null;
  sale_ends_at: string | null;
  max_units_per_shopper: number | null;
  late_payments: LatePayments | null;
  queue_enabled: number;
  queue_admit_per_second: number;
  queue_admission_ttl_seconds: number;
  /** An https URL or a path on this origin; null: no picture. */
  image_url: string | null;
  description: string | null;
  /**
   * Objects the stock is split over (1: the product's own object sells, as before). Absent in
   * entries cached before shards existed: 1.
   */
  shards?: number;
}

/** Every column of an entry, in the order each query names and binds them. */
export const CATALOGUE_FIELDS = [
  "id",
  "name",
  "price_cents",
  "currency",
  "initial_stock",
  "sale_starts_at",
  "sale_ends_at",
  "max_units_per_shopper",
  "late_payments",
  "queue_enabled",
  "queue_admit_per_second",
  "queue_admission_ttl_seconds",
  "image_url",
  "description",
  "shards",
] as const satisfies readonly (keyof CatalogueEntry)[];

export const CATALOGUE_COLUMNS = CATALOGUE_FIELDS.join(", ");

/** One D1 read; throws when D1 cannot answer. */
export async function readCatalogue(
  db: D1Database,
  productId: number,
): Promise<CatalogueEntry | null> {
  return db
    .prepare(`SELECT ${CATALOGUE_COLUMNS} FROM products WHERE id = ?`)
    .bind(productId)
    .first<CatalogueEntry>();
}
