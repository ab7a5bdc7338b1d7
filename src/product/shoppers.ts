import { failure, type Failure } from "../contract/errors";
import type { ProductRow } from "./product-row";
import { firstRow, type Tx } from "./tx";

/**
 * Per-shopper limits. `shopper_units` holds each shopper's units in active holds, pending orders
 * and paid orders of this product, moved in the same transaction as the rows it counts, so the
 * check before a reservation reads one row and 50 parallel holds by one shopper still take at
 * most the limit (they run one after another in the object). Anonymous holds (local use only)
 * belong to no shopper and are not limited.
 */
export function unitsOf(tx: Tx, shopperId: string): number {
  const row = firstRow<{ units: number }>(
    tx.sql.exec(
      "SELECT units + carried AS units FROM shopper_units WHERE shopper_id = ?",
      shopperId,
    ),
  );
  return row?.units ?? 0;
}

/**
 * A shopper's units at their earlier homes (a product whose number of shards changed: see
 * ShardSide.carryShopper), counted here from now on. Once per shopper: a row already here wins.
 */
export function carryShopperUnits(tx: Tx, shopperId: string, carried: number): void {
  tx.sql.exec(
    "INSERT INTO shopper_units (shopper_id, units, carried) VALUES (?, 0, ?) ON CONFLICT (shopper_id) DO NOTHING",
    shopperId,
    carried,
  );
}

/** This object's own units of a shopper (held, pending and paid here; nothing carried). */
export function ownUnitsOf(sql: SqlStorage, shopperId: string): number {
  const row = firstRow<{ units: number }>(
    sql.exec("SELECT units FROM shopper_units WHERE shopper_id = ?", shopperId),
  );
  return row?.units ?? 0;
}

/** Whether a shopper has a row here (their units counted, carried ones included). */
export function knownShopper(sql: SqlStorage, shopperId: string): boolean {
  return (
    firstRow(sql.exec("SELECT 1 AS known FROM shopper_units WHERE shopper_id = ?", shopperId)) !==
    undefined
  );
}

/** The limit for this product: its own setting, else MAX_UNITS_PER_SHOPPER. */
export function limitOf(product: ProductRow, defaultLimit: number): number {
  return product.max_units_per_shopper ?? defaultLimit;
}

/** Refuse a hold of `qty` that would take the shopper past the limit. */
export function checkShopperLimit(
  tx: Tx,
  shopperId: string | null,
  qty: number,
  limit: number,
): Failure | null {
  if (shopperId === null) return null;
  const held = unitsOf(tx, shopperId);
  if (held + qty <= limit) return null;
  return failure(
    "shopper_limit_reached",
    `You already have ${held} unit(s) of this product in holds and orders; the limit is ${limit} per shopper, so ${qty} more cannot be held.`,
  );
}

/** Units came to (positive) or left (negative) a shopper's holds and orders. */
export function moveShopperUnits(tx: Tx, shopperId: string | null, delta: number): void {
  if (shopperId === null || delta === 0) return;
  if (delta < 0) {
    // Units only leave a shopper who has them; the CHECK catches any that were never counted.
    tx.sql.exec(
      "UPDATE shopper_units SET units = units + ? WHERE shopper_id = ?",
      delta,
      shopperId,
    );
    return;
  }
  // SQLite checks the inserted row's CHECKs before the conflict, so only growth goes this way.
  tx.sql.exec(
    `INSERT INTO shopper_units (shopper_id, units) VALUES (?1, ?2)
     ON CONFLICT (shopper_id) DO UPDATE SET units = units + ?2`,
    shopperId,
    delta,
  );
}
