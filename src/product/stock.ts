import type { ProductView } from "../schemas";
import { firstRow } from "./tx";

/** The product row: its catalogue fields and the counters the invariants are written over. */
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
}

export interface Catalogue {
  id: number;
  name: string;
  price_cents: number;
  currency: string;
  initial_stock: number;
}

export function readProduct(sql: SqlStorage): ProductRow | undefined {
  return firstRow<ProductRow>(sql.exec("SELECT * FROM product LIMIT 1"));
}

/** First start of this product's object: copy the catalogue entry once, never again. */
export function openProduct(sql: SqlStorage, entry: Catalogue): void {
  sql.exec(
    `INSERT OR IGNORE INTO product (id, name, price_cents, currency, initial_stock, stock)
     VALUES (?, ?, ?, ?, ?, ?)`,
    entry.id,
    entry.name,
    entry.price_cents,
    entry.currency,
    entry.initial_stock,
    entry.initial_stock,
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

/** A hold expired, or an order failed or was cancelled: its units are free again. */
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

export function productView(product: ProductRow): ProductView {
  return {
    id: product.id,
    name: product.name,
    price_cents: product.price_cents,
    currency: product.currency,
    stock: product.stock,
    reserved: product.reserved,
    available: available(product),
  };
}
