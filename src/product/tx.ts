import type { LogFields, LogLevel } from "../log";
import type { HistoryEvent } from "./history";

/** What the product object hands every operation for the length of one synchronous transaction. */
export interface Tx {
  readonly sql: SqlStorage;
  /** One clock reading for the whole transaction, in epoch milliseconds. */
  readonly now: number;
  readonly productId: number;
  /** The shard this object is (null or absent: the product's own object); new ids name it. */
  readonly shard?: number | null;
  /** Queue a log line; it is written only if the transaction commits. */
  log(message: string, fields?: LogFields, level?: LogLevel): void;
  /** Append an order-history event to the outbox, inside this transaction. */
  record(event: HistoryEvent): void;
  /** A hold or an order now has a deadline at this time; the expiry alarm must cover it. */
  deadline(at: number): void;
}

/** A read with no transaction: it sees what has committed, as of `now`, and writes nothing. */
export type Look = Pick<Tx, "sql" | "now" | "productId">;

/** Rows come back from SqlStorage loosely typed; this names the shape we selected. */
export function rows<T>(cursor: SqlStorageCursor<Record<string, SqlStorageValue>>): T[] {
  return cursor.toArray() as unknown as T[];
}

export function firstRow<T>(
  cursor: SqlStorageCursor<Record<string, SqlStorageValue>>,
): T | undefined {
  return rows<T>(cursor)[0];
}
