import { failure, type Answer } from "../contract/errors";
import type { QueueFrontier } from "../queue/frontier";
import { productRow } from "./product-row";
import type { Joined, ProductQueue } from "./queue";
import type { Tx } from "./tx";

// The queue's RPCs, each run by the product's object as one transaction. `queue` is the object's
// queue as it stands when the transaction runs (null before the product has opened).

/** Join the product's queue: the seq to sign into a ticket, and the frontier to read it by. */
export function joinQueue(
  tx: Tx,
  queue: ProductQueue | null,
  shopperId: string | null,
): Answer<Joined & { frontier: QueueFrontier }> {
  if (productRow(tx.sql).queue_enabled !== 1 || !queue) {
    return failure("queue_disabled", "This product has no queue right now: hold directly.");
  }
  const joined = queue.join(tx, productRow(tx.sql), shopperId);
  return { ok: true, ...joined, frontier: queue.frontierView(productRow(tx.sql), tx.now) };
}

/** The ticket's shopper leaves the line (the Worker checked the ticket and who sent it). */
export function leaveQueue(
  tx: Tx,
  queue: ProductQueue | null,
  seq: number,
  shopperId: string | null,
): Answer<{ frontier: QueueFrontier }> {
  if (!queue) return failure("queue_disabled", "No queue.");
  queue.leave(tx, productRow(tx.sql), seq, shopperId);
  // The admission given back may let the next in line in now.
  queue.admit(tx, productRow(tx.sql));
  return { ok: true, frontier: queue.frontierView(productRow(tx.sql), tx.now) };
}

/** The queue as it stands, for the Worker to answer ticket polls from. */
export function readQueue(tx: Tx, queue: ProductQueue | null): Answer<{ frontier: QueueFrontier }> {
  const frontier = queue?.frontierView(productRow(tx.sql), tx.now);
  return frontier ? { ok: true, frontier } : failure("queue_disabled", "No queue.");
}
