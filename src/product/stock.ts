import type { CatalogueEntry } from "../catalogue";
import type { ProductView } from "../schemas";
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
}

export function readProduct(sql: SqlStorage): ProductRow | undefined {
  return firstRow<ProductRow>(sql.exec("SELECT * FROM product LIMIT 1"));
}

/** The product row of an object that is open: it exists, or the object is broken. */
export function productRow(sql: SqlStorage): ProductRow {
  const product = readProduct(sql);
  if (!product) throw new Error("product row missing in an open product object");
  return product;
}

const epochMs = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso));
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** First start of this product's object: copy the catalogue entry once, never again. */
export function openProduct(sql: SqlStorage, entry: CatalogueEntry): void {
  sql.exec(
    `INSERT OR IGNORE INTO product
       (id, name, price_cents, currency, initial_stock, stock, sale_starts_at, sale_ends_at, max_units_per_shopper)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    entry.id,
    entry.name,
    entry.price_cents,
    entry.currency,
    entry.initial_stock,
    entry.initial_stock,
    epochMs(entry.sale_starts_at),
    epochMs(entry.sale_ends_at),
    entry.max_units_per_shopper,
  );
}

export function available(product: ProductRow): number {
  return product.stock - product.reserved;
}

/**
 * Take `qty` units into a hold if that many are available, checking and writing in one
 * statement. Returns the units still available afterwards, or null when too few were.
 */
export function tryReserve(sql: SqlStorage, qty: number): number | null {
  const row = firstRow<{ available: number }>(
    sql.exec(
      "UPDATE product SET reserved = reserved + ?1 WHERE stock - reserved >= ?1 RETURNING stock - reserved AS available",
      qty,
    ),
  );
  return row ? row.available : null;
}

/** A hold expired or was released, or an order failed or was cancelled: its units are free again. */
export function release(sql: SqlStorage, qty: number): void {
  sql.exec("UPDATE product SET reserved = reserved - ?", qty);
}

/** A paid order: the units leave stock for good. */
export function sell(sql: SqlStorage, qty: number): void {
  sql.exec(
    "UPDATE product SET stock = stock - ?, reserved = reserved - ?, sold = sold + ?",
    qty,
    qty,
    qty,
  );
}

export function restock(sql: SqlStorage, qty: number): void {
  sql.exec("UPDATE product SET stock = stock + ?, restocked = restocked + ?", qty, qty);
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
  };
}

/** The product as shoppers see it; `defaultLimit` is MAX_UNITS_PER_SHOPPER. */
export function productView(product: ProductRow, defaultLimit: number): ProductView {
  return {
    id: product.id,
    name: product.name,
    price_cents: product.price_cents,
    currency: product.currency,
    stock: product.stock,
    reserved: product.reserved,
    available: available(product),
    sale_starts_at: iso(product.sale_starts_at),
    sale_ends_at: iso(product.sale_ends_at),
    max_units_per_shopper: product.max_units_per_shopper ?? defaultLimit,
  };
}
