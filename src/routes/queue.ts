import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HttpError } from "../http/error-answer";
import { BODY_ERRORS, errorResponses, jsonResponse, SECURITY } from "../http/openapi";
import { ticketStatus, type QueueFrontier } from "../queue/frontier";
import { signAdmission, signTicket, verifyTicket, type Ticket } from "../queue/tokens";
import {
  ProductIdParam,
  QueueJoinRequest,
  QueueLeft,
  QueueTicket,
  TicketParam,
} from "../contract/shapes";
import { identifyReader, requireShopper, SHOPPER_ERRORS } from "../auth/shopper";
import { rateLimited } from "../auth/rate-limit";
import { z } from "@hono/zod-openapi";
import type { App, AppEnv } from "../http/context";
import type { RouteDeps } from "./deps";

const joinQueue = createRoute({
  method: "post",
  path: "/api/products/{id}/queue",
  operationId: "joinQueue",
  tags: ["Queue"],
  summary: "Join the product's queue: a signed ticket that carries your place",
  description:
    "201 with a new ticket; 200 with the same ticket when this shopper already has one that is waiting or admitted. Poll GET /api/queue/{ticket} or listen on /api/products/{id}/live; once admitted, send `admission_token` with the hold.",
  security: SECURITY.shopper,
  middleware: [requireShopper, rateLimited("shopper")] as const,
  request: {
    params: ProductIdParam,
    body: {
      required: false,
      description: "Nothing, or `{}`",
      content: { "application/json": { schema: QueueJoinRequest } },
    },
  },
  responses: {
    201: jsonResponse(QueueTicket, "A new ticket"),
    200: jsonResponse(QueueTicket, "The ticket this shopper already has"),
    ...errorResponses(
      "product_not_found",
      "queue_disabled",
      "queue_not_configured",
      ...SHOPPER_ERRORS,
      "rate_limited",
      // The body is optional, but one that is sent is parsed and checked.
      ...BODY_ERRORS,
      "service_unavailable",
    ),
  },
});

const readTicket = createRoute({
  method: "get",
  path: "/api/queue/{ticket}",
  operationId: "getQueueTicket",
  tags: ["Queue"],
  summary: "A ticket's place, state and (for its own shopper, once admitted) admission token",
  description:
    "Answered from the Worker's copy of the queue's frontier, at most a second old. The admission token is shown only to the ticket's own shopper (the same token or X-Shopper-Id as for the join); anyone holding the ticket sees its place.",
  security: SECURITY.shopper,
  middleware: [rateLimited("ip")] as const,
  request: { params: TicketParam },
  responses: {
    200: jsonResponse(QueueTicket, "The ticket"),
    ...errorResponses(
      "invalid_ticket",
      "invalid_shopper_token",
      "shopper_auth_not_configured",
      // Only for a ticket this service signed for a product its catalogue no longer has.
      "product_not_found",
      "queue_not_configured",
      "invalid_request",
      "rate_limited",
      "service_unavailable",
    ),
  },
});

const leaveQueue = createRoute({
  method: "delete",
  path: "/api/queue/{ticket}",
  operationId: "leaveQueue",
  tags: ["Queue"],
  summary: "Leave the line: the ticket's place is freed",
  description:
    "Only the ticket's own shopper (the same token or X-Shopper-Id as for the join; anyone for an anonymous ticket). A waiting ticket leaves: the places behind it move up. An admitted ticket not yet used for a hold gives its admission back, so the next in line is admitted. A hold with that ticket's admission is then refused (403 `left_queue`), and GET shows it `left`. Leaving again answers the same. To queue again, join: the shopper gets a new ticket at the back.",
  security: SECURITY.shopper,
  middleware: [requireShopper, rateLimited("shopper")] as const,
  request: { params: TicketParam },
  responses: {
    200: jsonResponse(QueueLeft, "The ticket has left the line (now or before)"),
    ...errorResponses(
      "invalid_ticket",
      "not_your_ticket",
      ...SHOPPER_ERRORS,
      "rate_limited",
      "product_not_found",
      "queue_not_configured",
      "invalid_request",
      "service_unavailable",
    ),
  },
});

const LiveQuery = z.object({
  ticket: z
    .string()
    .max(1_000)
    .optional()
    .openapi({ param: { name: "ticket", in: "query" }, description: "Also follow this ticket." }),
});

const liveUpdates = createRoute({
  method: "get",
  path: "/api/products/{id}/live",
  operationId: "openLiveUpdates",
  tags: ["Products"],
  summary: "Live stock (and a ticket's place) over a WebSocket",
  description:
    'A WebSocket upgrade, carried by one of the product\'s relay objects (never by the object that sells). Frames are JSON: `{"type":"stock","stock","reserved","available","sold_out"}` on connect and on every change, and with `?ticket=` `{"type":"queue","position","state","admission_token"?}` on connect and whenever the ticket\'s place or state changes (`sold_out` included); a frame may be an array of both. At most 4 frames a second after the first; the last one always carries the current state. One socket per ticket: opening another closes the older with code 4001. Past the product\'s MAX_LIVE_SOCKETS: 503 `live_full` (poll GET /api/products/{id} instead, with backoff).',
  security: SECURITY.public,
  middleware: [rateLimited("ip")] as const,
  request: { params: ProductIdParam, query: LiveQuery },
  responses: {
    101: {
      description:
        "Switching to the WebSocket protocol (send `Upgrade: websocket`); frames as described above.",
    },
    ...errorResponses(
      "upgrade_required",
      "invalid_ticket",
      "product_not_found",
      "queue_not_configured",
      "invalid_request",
      "rate_limited",
      "live_full",
      "service_unavailable",
    ),
  },
});

function queueSecret(c: Context<AppEnv>): string {
  const secret = c.env.QUEUE_SECRET;
  if (!secret) {
    throw new HttpError(
      "queue_not_configured",
      "The queue is not available: this deployment has no QUEUE_SECRET.",
    );
  }
  return secret;
}

async function openTicket(token: string, secret: string): Promise<Ticket> {
  const ticket = await verifyTicket(token, secret);
  if (!ticket) throw new HttpError("invalid_ticket", "This ticket was not issued by this service.");
  return ticket;
}

/** The ticket answer: its state from the frontier, and the admission token for its own shopper. */
async function ticketAnswer(
  token: string,
  ticket: Ticket,
  frontier: QueueFrontier,
  secret: string,
  ownShopper: boolean,
) {
  const now = Date.now();
  const status = ticketStatus(frontier, ticket.seq, now);
  const answer: z.infer<typeof QueueTicket> = {
    ticket: token,
    product_id: ticket.productId,
    position: status.position,
    state: status.state,
  };
  if (status.state === "admitted" && status.admissionExpiresAt && ownShopper) {
    answer.admission_token = await signAdmission(
      { ...ticket, expiresAt: status.admissionExpiresAt },
      secret,
    );
    answer.admission_expires_at = new Date(status.admissionExpiresAt).toISOString();
  }
  if (status.estimatedWaitSeconds !== undefined) {
    answer.estimated_wait_seconds = status.estimatedWaitSeconds;
  }
  return answer;
}

export function queueRoutes(app: App, { products, frontiers }: RouteDeps): void {
  app.openapi(joinQueue, async (c) => {
    const { id } = c.req.valid("param");
    const secret = queueSecret(c);
    const shopperId = c.get("shopperId");
    const joined = await products.call(c, {
      productId: id,
      method: "joinQueue",
      input: { shopperId },
    });
    frontiers.keep(id, joined.frontier);
    const ticket = { productId: id, seq: joined.seq, shopperId };
    const token = await signTicket(ticket, secret);
    const answer = await ticketAnswer(token, ticket, joined.frontier, secret, true);
    return joined.created ? c.json(answer, 201) : c.json(answer, 200);
  });

  app.openapi(readTicket, async (c) => {
    const secret = queueSecret(c);
    const { ticket: token } = c.req.valid("param");
    const ticket = await openTicket(token, secret);
    const reader = await identifyReader(c);
    let frontier = frontiers.fresh(ticket.productId);
    if (!frontier) {
      frontier = (
        await products.call(c, { productId: ticket.productId, method: "readQueue", input: {} })
      ).frontier;
      frontiers.keep(ticket.productId, frontier);
    }
    const own = reader.shopperId === ticket.shopperId;
    return c.json(await ticketAnswer(token, ticket, frontier, secret, own), 200);
  });

  app.openapi(leaveQueue, async (c) => {
    const secret = queueSecret(c);
    const { ticket: token } = c.req.valid("param");
    const ticket = await openTicket(token, secret);
    const shopperId = c.get("shopperId");
    if (ticket.shopperId !== null && ticket.shopperId !== shopperId) {
      throw new HttpError("not_your_ticket", "This ticket belongs to another shopper.");
    }
    const { frontier } = await products.call(c, {
      productId: ticket.productId,
      method: "leaveQueue",
      input: { seq: ticket.seq, shopperId: ticket.shopperId },
      fields: { ticket_seq: ticket.seq },
    });
    frontiers.keep(ticket.productId, frontier);
    return c.json({ ticket: token, state: "left" as const }, 200);
  });

  app.openapi(liveUpdates, async (c) => {
    const { id } = c.req.valid("param");
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new HttpError(
        "upgrade_required",
        "Open this URL as a WebSocket (Upgrade: websocket).",
        {
          Upgrade: "websocket",
        },
      );
    }
    const { ticket: token } = c.req.valid("query");
    const ticket = token === undefined ? null : await openTicket(token, queueSecret(c));
    if (ticket && ticket.productId !== id) {
      throw new HttpError("invalid_ticket", `This ticket is for product ${ticket.productId}.`);
    }
    return products.upgrade(c, id, ticket);
  });
}
