import type { QueueFrontier } from "../queue/frontier";

/**
 * Live updates (GET /api/products/:id/live): what the product's object publishes to its relay
 * objects, and the frames a relay sends its sockets. See src/live/relay.ts.
 */

/** A stock frame: the product's counters as a read would answer them. */
export interface StockFrame {
  type: "stock";
  stock: number;
  reserved: number;
  available: number;
  /** Nothing left and nothing can come back. */
  sold_out: boolean;
}

/** A ticket socket's place in line, worked out by its relay from the frontier. */
export interface QueueFrame {
  type: "queue";
  position: number | null;
  state: string;
  admission_token?: string;
  admission_expires_at?: string;
}

/** What the product's object sends each relay per flush: one message, whatever the sockets. */
export interface LiveState {
  stock: StockFrame;
  /** The queue's frontier, when the product has a queue (each relay works out its tickets' places). */
  frontier: QueueFrontier | null;
}

/** The close code a ticket's older socket gets when a newer socket for the same ticket opens. */
export const CLOSE_REPLACED = 4001;

/** How a product's live sockets are spread: how many relays, and what each may carry. */
export interface RelayPlan {
  relays: number;
  /** The cap of relay k; the caps add up to exactly the product's total. */
  capOf: (k: number) => number;
}

export function relayPlan(maxSockets: number, perRelay: number): RelayPlan {
  const relays = Math.ceil(maxSockets / perRelay);
  const base = Math.floor(maxSockets / relays);
  const extra = maxSockets % relays;
  return { relays, capOf: (k) => base + (k < extra ? 1 : 0) };
}

/** The name of a product's relay k (the LIVE_RELAYS namespace). */
export const relayName = (productId: number, k: number): string => `${productId}:${k}`;
