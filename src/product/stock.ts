import type { ProductView } from "../schemas";

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
  return sql.exec("SELECT * FROM product LIMIT 1").toArray()[0] as unknown as ProductRow | undefined;
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

/** Units move into a hold (or stay reserved by the order it becomes). */
export function reserve(sql: SqlStorage, qty: number): void {
  sql.exec("UPDATE product SET reserved = reserved + ?", qty);
}

/** A hold expired, or an order failed or was cancelled: its units are free again. */
export function release(sql: SqlStorage, qty: number): void {
  sql.exec("UPDATE product SET reserved = reserved - ?", qty);
}

/** A paid order: the units leave stock for good. */
export function sell(sql: SqlStorage, qty: number): void {
  sql.exec("UPDATE product SET stock = stock - ?, reserved = reserved - ?, sold = sold + ?", qty, qty, qty);
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
