import { DurableObject } from "cloudflare:workers";
import { failure, type Answer } from "../contract/errors";
import { CLOSE_REPLACED, type LiveState, type QueueFrame, type StockFrame } from "../contract/live";
import type { Env } from "../env";
import { ticketStatus, type QueueFrontier } from "../queue/frontier";
import { signAdmission } from "../queue/tokens";

/**
 * A relay object: carries up to its cap of one product's live sockets (GET
 * /api/products/:id/live), so the product's own object never holds a socket. Named
 * `<product>:<k>`; the Worker picks k (src/reach/product.ts): a ticket's socket always goes to
 * relay `seq mod relays`, so one relay sees every socket of a ticket and keeps only the newest.
 *
 * The product's object sends each relay with sockets one message per flush (at most every 250 ms,
 * so at most 4 stock frames a second per socket); the relay sends the stock frame to every socket
 * and works out each ticket's place from the frontier in that message (src/queue/frontier.ts, the
 * same function the Worker answers polls with), sending a queue frame only when it changed. An
 * admitted ticket's admission token is signed here, once per admission, and kept in the socket's
 * attachment. Sockets are accepted with the Hibernation API: an idle relay is evicted with its
 * sockets still open and wakes with what each attachment holds.
 */
export class LiveRelay extends DurableObject<Env> {
  /** The last state the product sent (lost on eviction; the next message brings it back). */
  private state: LiveState | null = null;
  /** The queue frame each ticket socket last got (lost on eviction: then sent again). */
  private readonly lastQueue = new WeakMap<WebSocket, string>();
  /** Upgrades accepted but still waiting for the product's first answer (they count to the cap). */
  private opening = 0;

  /** An upgrade the Worker checked (ticket, rate limit) and sent here. */
  override async fetch(request: Request): Promise<Response> {
    const productId = Number(request.headers.get("x-product-id"));
    const relay = Number(request.headers.get("x-relay"));
    const cap = Number(request.headers.get("x-relay-cap"));
    const seqHeader = request.headers.get("x-ticket-seq");
    const ticket: SocketTicket = {
      productId,
      seq: seqHeader === null ? null : Number(seqHeader),
      shopperId: request.headers.get("x-ticket-shopper"),
    };
    const tag = ticket.seq === null ? null : ticketTag(ticket.seq);
    const open = this.ctx.getWebSockets().length;
    const replaced = tag === null ? 0 : this.ctx.getWebSockets(tag).length;
    if (open - replaced + this.opening >= cap) {
      return Response.json(failure("live_full", "This relay is full."), { status: 503 });
    }
    this.opening++;
    try {
      if (open === 0 || this.state === null) {
        // The first socket (or a relay that was evicted): ask the product to send here from now on.
        const answer = await this.product(productId).watchLive({
          productId,
          relay,
          requestId: request.headers.get("x-request-id") ?? "live",
        });
        if (!answer.ok) return Response.json(answer, { status: 404 });
        this.state = answer.state;
      }
    } finally {
      this.opening--;
    }
    // At most one socket per ticket: the newer one wins (the page reconnects after a drop).
    if (tag !== null) {
      for (const older of this.ctx.getWebSockets(tag)) {
        try {
          older.close(CLOSE_REPLACED, "Replaced by a newer socket for this ticket.");
        } catch {
          // already closing
        }
      }
    }
    const pair = new WebSocketPair();
    const [client, server] = Object.values(pair) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, tag === null ? [STOCK_ONLY] : [TICKET, tag]);
    server.serializeAttachment(ticket);
    const frames: (StockFrame | QueueFrame)[] = [this.state.stock];
    const queue = await this.queueFrame(server, ticket, this.state.frontier);
    if (queue) frames.push(queue);
    send(server, frames);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** One message per flush from the product's object; answers how many sockets are open here. */
  async deliver(state: LiveState): Promise<number> {
    const previous = this.state;
    this.state = state;
    const stockJson = JSON.stringify(state.stock);
    const stockChanged = previous === null || JSON.stringify(previous.stock) !== stockJson;
    const plain = this.ctx.getWebSockets(STOCK_ONLY);
    if (stockChanged) for (const socket of plain) sendRaw(socket, stockJson);
    const tickets = this.ctx.getWebSockets(TICKET);
    for (const socket of tickets) {
      const ticket = socket.deserializeAttachment() as SocketTicket;
      const queue = await this.queueFrame(socket, ticket, state.frontier);
      if (queue) send(socket, stockChanged ? [state.stock, queue] : [queue]);
      else if (stockChanged) sendRaw(socket, stockJson);
    }
    return plain.length + tickets.length;
  }

  override webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): void {
    // Clients only listen; a "ping" gets a "pong" so they can tell the line is alive.
    if (message === "ping") socket.send("pong");
  }

  override webSocketClose(socket: WebSocket, code: number): void {
    try {
      socket.close(code === 1005 ? 1000 : code, "closing");
    } catch {
      // already closed
    }
  }

  private product(productId: number) {
    return this.env.PRODUCTS.getByName(String(productId)) as unknown as {
      watchLive(call: {
        productId: number;
        relay: number;
        requestId: string;
      }): Promise<Answer<{ state: LiveState }>>;
    };
  }

  /**
   * The ticket's queue frame if it changed since this socket last got one (null otherwise); an
   * admitted ticket's token is signed once per admission and kept in the socket's attachment.
   */
  private async queueFrame(
    socket: WebSocket,
    ticket: SocketTicket,
    frontier: QueueFrontier | null,
  ): Promise<QueueFrame | null> {
    if (ticket.seq === null || frontier === null) return null;
    const status = ticketStatus(frontier, ticket.seq, Date.now());
    const frame: QueueFrame = { type: "queue", position: status.position, state: status.state };
    const secret = this.env.QUEUE_SECRET;
    if (status.state === "admitted" && status.admissionExpiresAt && secret) {
      if (ticket.admission?.expiresAt !== status.admissionExpiresAt) {
        ticket.admission = {
          expiresAt: status.admissionExpiresAt,
          token: await signAdmission(
            {
              productId: ticket.productId,
              seq: ticket.seq,
              shopperId: ticket.shopperId,
              expiresAt: status.admissionExpiresAt,
            },
            secret,
          ),
        };
        socket.serializeAttachment(ticket);
      }
      frame.admission_token = ticket.admission.token;
      frame.admission_expires_at = new Date(status.admissionExpiresAt).toISOString();
    }
    const key = JSON.stringify(frame);
    if (this.lastQueue.get(socket) === key) return null;
    this.lastQueue.set(socket, key);
    return frame;
  }
}

/** What a socket carries through hibernation: the ticket it follows, and its admission once signed. */
export interface SocketTicket {
  productId: number;
  seq: number | null;
  shopperId: string | null;
  admission?: { expiresAt: number; token: string };
}

/** Tags: sockets that follow the stock only, those that follow a ticket, and one ticket's. */
const STOCK_ONLY = "stock";
const TICKET = "ticket";
const ticketTag = (seq: number): string => `ticket:${seq}`;

function send(socket: WebSocket, frames: (StockFrame | QueueFrame)[]): void {
  if (frames.length === 0) return;
  sendRaw(socket, JSON.stringify(frames.length === 1 ? frames[0] : frames));
}

function sendRaw(socket: WebSocket, message: string): void {
  try {
    socket.send(message);
  } catch {
    // A socket that closed meanwhile: the runtime tells the relay with webSocketClose.
  }
}
