import type { LiveState, StockFrame } from "../contract/live";
import { relayName } from "../contract/live";
import type { Env } from "../env";
import { logEvent } from "../log";
import type { ProductRow } from "./product-row";

/**
 * Live updates, off the selling object's thread: sockets attach to relay objects
 * (src/live/relay.ts), never to this object. This object only knows which relays have sockets
 * (each says so when its first socket opens) and, at most every FLUSH_MS after a change, sends
 * each of them one message with the state as it is then (stock and the queue's frontier). Each
 * relay fans it out and works out each ticket's place itself: no SQL, no signature and no send per
 * socket here, so the work per flush is one RPC per relay whatever the number of sockets.
 *
 * The relays with sockets are kept in storage (a write only when that set changes), so a restart
 * of this object keeps feeding them. A relay that answers a flush with no sockets left is dropped
 * (unless it asked again meanwhile).
 */
export const FLUSH_MS = 250;

const RELAYS_KEY = "live_relays";

/** The stock frame of the product as it is now. */
export function stockFrame(product: ProductRow): StockFrame {
  return {
    type: "stock",
    stock: product.stock,
    reserved: product.reserved,
    available: product.stock - product.reserved,
    sold_out: product.stock === 0 && product.reserved === 0,
  };
}

export interface LiveCounts {
  relays: number;
  flushes: number;
  /** Messages this object sent to relays (one per relay per flush that had a change). */
  relayMessages: number;
}

export class LiveFanout {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastFlush = 0;
  private lastSent: string | null = null;
  /** Relay index -> registration generation (a watch since a flush was sent keeps it). */
  private relays = new Map<number, number>();
  private generation = 0;
  private flushes = 0;
  private relayMessages = 0;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    private readonly source: { productId: () => number | null; state: () => LiveState | null },
  ) {}

  /** Read which relays have sockets (from blockConcurrencyWhile at start). */
  async load(): Promise<void> {
    const stored = await this.ctx.storage.get<number[]>(RELAYS_KEY);
    for (const k of stored ?? []) this.relays.set(k, 0);
    if (this.relays.size > 0) this.changed();
  }

  /** A relay has its first socket: send it every change from now on; the state as it is now. */
  async watch(k: number): Promise<LiveState | null> {
    const known = this.relays.has(k);
    this.relays.set(k, ++this.generation);
    if (!known) await this.save();
    return this.source.state();
  }

  /** Something changed: flush now, or at the next slot if one was sent under FLUSH_MS ago. */
  changed(): void {
    if (this.timer !== null || this.relays.size === 0) return;
    const wait = Math.max(0, this.lastFlush + FLUSH_MS - Date.now());
    this.timer = setTimeout(() => void this.flush(), wait);
  }

  counts(): LiveCounts {
    return { relays: this.relays.size, flushes: this.flushes, relayMessages: this.relayMessages };
  }

  private async flush(): Promise<void> {
    this.timer = null;
    this.lastFlush = Date.now();
    const productId = this.source.productId();
    const state = this.source.state();
    if (productId === null || state === null || this.relays.size === 0) return;
    // publishedAt changes every time; the relays care only when anything else did.
    const json = JSON.stringify({
      ...state,
      frontier: state.frontier && { ...state.frontier, publishedAt: 0 },
    });
    if (json === this.lastSent) return;
    this.lastSent = json;
    this.flushes++;
    const sent = [...this.relays];
    this.relayMessages += sent.length;
    const answers = await Promise.allSettled(
      sent.map(([k]) => this.env.LIVE_RELAYS.getByName(relayName(productId, k)).deliver(state)),
    );
    let dropped = false;
    answers.forEach((answer, i) => {
      const [k, generation] = sent[i] ?? [0, 0];
      if (answer.status === "rejected") {
        logEvent(
          "Live relay unreachable; sending again at the next flush.",
          { product_id: productId, relay: k, error: String(answer.reason) },
          "warn",
        );
        this.lastSent = null;
        this.changed();
        return;
      }
      // No sockets left, and no new one since this flush was sent: stop feeding it.
      if (answer.value === 0 && this.relays.get(k) === generation) {
        this.relays.delete(k);
        dropped = true;
      }
    });
    if (dropped) await this.save();
  }

  private save(): Promise<void> {
    return this.ctx.storage.put(RELAYS_KEY, [...this.relays.keys()]);
  }
}
