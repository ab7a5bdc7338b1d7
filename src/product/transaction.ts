import { logEvent, type LogFields, type LogLevel } from "../log";
import { appendToOutbox, type HistoryEvent } from "./history";
import type { Tx } from "./tx";

/** What every call names: the product it is about and the request it serves (for the logs). */
export interface Call {
  productId: number;
  requestId: string;
  /** The object called: null or absent for the product's own, k for its shard k. */
  shard?: number | null;
}

/** Who is shopping; null for an anonymous shopper (local use only). */
export interface ShopperCall extends Call {
  shopperId: string | null;
}

/** The object's storage, and where a transaction reports a deadline it made. */
export interface TransactionScope {
  storage: DurableObjectStorage;
  sql: SqlStorage;
  deadline: (at: number) => void;
  /** The shard this object is (null: the product's own object); new ids name it. */
  shard: number | null;
}

/**
 * Run `work` as one synchronous SQLite transaction over a fresh `Tx`, with one clock reading.
 * Its log lines are written, with the call's request id, only once it has committed; a throw
 * rolls everything back (the history it recorded too) and lets nothing out. Answers whether it
 * recorded history, for the object to copy once committed.
 */
export function runTransaction<T>(
  scope: TransactionScope,
  call: Call,
  now: number,
  work: (tx: Tx) => T,
): { result: T; recorded: boolean } {
  const logs: [string, LogFields | undefined, LogLevel | undefined][] = [];
  let recorded = false;
  const result = scope.storage.transactionSync(() =>
    work({
      sql: scope.sql,
      now,
      productId: call.productId,
      shard: scope.shard,
      log: (message, fields, level) => void logs.push([message, fields, level]),
      record: (event: HistoryEvent) => {
        appendToOutbox(scope.sql, event, now);
        recorded = true;
      },
      deadline: scope.deadline,
    }),
  );
  for (const [message, fields, level] of logs) {
    logEvent(message, { ...fields, request_id: call.requestId }, level);
  }
  return { result, recorded };
}
