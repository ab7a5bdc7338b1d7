import { ticketStatus, type QueueFrontier } from "../queue/frontier";
import { signAdmission } from "../queue/tokens";
import type { ProductRow } from "./product-row";

/**
 * Live stock and queue updates over WebSockets, with the Hibernation API: the object accepts the
 * socket (ctx.acceptWebSocket) and keeps nothing per socket in memory but what the socket's own
 * attachment holds (its ticket), so an idle object can hibernate with thousands of sockets open
 * and wake with all it needs.
 *
 * Every change asks for a flush; flushes are at most FLUSH_MS apart (about 10 frames a second per
 * socket, batched as Cloudflare advises), and each sends the state as it is at that moment, so
 * the last frame always carries the current state. A frame is one JSON message, or a JSON array
 * of them when the stock and the socket's place in line both changed.
 */
export const FLUSH_MS = 100;

export interface StockFrame {
  type: "stock";
  stock: number;
  reserved: number;
  available: number;
  /** Nothing left and nothing can come back. */
  sold_out: boolean;
}

export interface QueueFrame {
  type: "queue";
  position: number | null;
  state: string;
  admission_token?: string;
  admission_expires_at?: string;
}

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

/** What a socket carries through hibernation: the ticket it follows, if any. */
export interface SocketTicket {
  productId: number;
  seq: number | null;
  shopperId: string | null;
}

export interface LiveSource {
  stock(): StockFrame | null;
  frontier(): QueueFrontier | null;
  /** QUEUE_SECRET, to give an admitted ticket its admission token. */
  secret(): string | undefined;
  /** Bumped when anything a ticket holder sees may have changed. */
  queueVersion(): number;
}

export class LiveUpdates {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastFlush = 0;
  private lastStock: string | null = null;
  private lastQueueVersion = -1;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly source: LiveSource,
  ) {}

  /** Take an upgrade request: the socket is the object's, and gets the current state at once. */
  async accept(ticket: SocketTicket): Promise<Response> {
    const pair = new WebSocketPair();
    const [client, server] = Object.values(pair) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, ticket.seq === null ? ["stock"] : ["stock", "ticket"]);
    server.serializeAttachment(ticket);
    const frames: (StockFrame | QueueFrame)[] = [];
    const stock = this.source.stock();
    if (stock) frames.push(stock);
    const queue = await this.queueFrame(ticket);
    if (queue) frames.push(queue);
    send(server, frames);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Something changed: flush now, or at the next slot if one was sent under FLUSH_MS ago. */
  changed(): void {
    if (this.timer !== null) return;
    const wait = Math.max(0, this.lastFlush + FLUSH_MS - Date.now());
    this.timer = setTimeout(() => void this.flush(), wait);
  }

  private async flush(): Promise<void> {
    this.timer = null;
    this.lastFlush = Date.now();
    const sockets = this.ctx.getWebSockets();
    if (sockets.length === 0) return;
    const stock = this.source.stock();
    const stockJson = stock ? JSON.stringify(stock) : null;
    const stockChanged = stockJson !== null && stockJson !== this.lastStock;
    this.lastStock = stockJson;
    const version = this.source.queueVersion();
    const queueChanged = version !== this.lastQueueVersion;
    this.lastQueueVersion = version;
    if (!stockChanged && !queueChanged) return;
    for (const socket of sockets) {
      const frames: (StockFrame | QueueFrame)[] = [];
      if (stockChanged && stock) frames.push(stock);
      if (queueChanged) {
        const ticket = socket.deserializeAttachment() as SocketTicket | null;
        const queue = ticket ? await this.queueFrame(ticket) : null;
        if (queue) frames.push(queue);
      }
      send(socket, frames);
    }
  }

  private async queueFrame(ticket: SocketTicket): Promise<QueueFrame | null> {
    const frontier = ticket.seq === null ? null : this.source.frontier();
    if (!frontier || ticket.seq === null) return null;
    const now = Date.now();
    const status = ticketStatus(frontier, ticket.seq, now);
    const frame: QueueFrame = { type: "queue", position: status.position, state: status.state };
    const secret = this.source.secret();
    if (status.state === "admitted" && status.admissionExpiresAt && secret) {
      frame.admission_token = await signAdmission(
        {
          productId: ticket.productId,
          seq: ticket.seq,
          shopperId: ticket.shopperId,
          expiresAt: status.admissionExpiresAt,
        },
        secret,
      );
      frame.admission_expires_at = new Date(status.admissionExpiresAt).toISOString();
    }
    return frame;
  }
}

function send(socket: WebSocket, frames: (StockFrame | QueueFrame)[]): void {
  if (frames.length === 0) return;
  try {
    socket.send(JSON.stringify(frames.length === 1 ? frames[0] : frames));
  } catch {
    // A socket that closed meanwhile: the runtime tells the object with webSocketClose.
  }
}
