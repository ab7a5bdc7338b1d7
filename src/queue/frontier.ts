import { permute } from "./shuffle";

/**
 * What a product's object publishes about its queue, and what anyone holding a ticket can work
 * out from it alone: the Worker answers a poll from a copy at most a second old, and the object
 * uses the same functions for its live updates, so both always agree.
 *
 * Tickets are numbered in arrival order (`seq`). A ticket's place in line is its rank: its seq,
 * except for the pre-queue (tickets taken before the sale started), whose order was shuffled at
 * the start with a keyed permutation. The object admits in rank order: the frontier is the highest
 * rank admitted so far, and each admission is a move (from, to, at) that lasts the admission TTL.
 */
export interface QueueMove {
  /** Epoch ms of the admission. */
  at: number;
  /** Ranks admitted, both included. */
  from: number;
  to: number;
  /** Epoch ms the admission ends: its TTL when it was made (absent: `at` + today's TTL). */
  until?: number;
}

export interface QueueFrontier {
  enabled: boolean;
  admitPerSecond: number;
  admissionTtlMs: number;
  /** When the sale starts (epoch ms); the pre-queue is shuffled then. */
  startsAt: number | null;
  /** The shuffle of the pre-queue, once the sale has started (null before; size 0 if empty). */
  shuffle: { key: number; size: number } | null;
  /** Tickets given out so far (the highest seq). */
  issued: number;
  /** Highest rank admitted. */
  frontier: number;
  /** Admissions that may still be in their TTL, oldest first. */
  moves: QueueMove[];
  /** Nothing left and nothing can come back: every waiting ticket's answer is final. */
  soldOut: boolean;
  /** The line waits for units to come back (a release, an expiry), not for the admission rate. */
  waitingForStock: boolean;
  /** When the object published this (epoch ms). */
  publishedAt: number;
  /** Seqs of tickets whose shoppers left the line (DELETE /api/queue/:ticket). */
  left?: number[];
}

export type TicketState = "waiting" | "admitted" | "expired" | "sold_out" | "left";

export interface TicketStatus {
  state: TicketState;
  /** 1 = next; null before the pre-queue is shuffled and once admitted. */
  position: number | null;
  /** When the admission ends (admitted tickets). */
  admissionExpiresAt?: number;
  estimatedWaitSeconds?: number;
}

/** A ticket's place in line, or null while its pre-queue has not been shuffled yet. */
export function rankOf(frontier: QueueFrontier, seq: number): number | null {
  const { shuffle } = frontier;
  if (shuffle === null) return frontier.startsAt === null ? seq : null;
  return seq <= shuffle.size ? permute(seq - 1, shuffle.size, shuffle.key) + 1 : seq;
}

/** The admission that covers a rank, if it is still on record. */
function moveFor(frontier: QueueFrontier, rank: number): QueueMove | undefined {
  return frontier.moves.find((move) => move.from <= rank && rank <= move.to);
}

/** Tickets that left the line between the frontier and `rank`: they no longer stand ahead. */
function leftAhead(frontier: QueueFrontier, rank: number): number {
  let ahead = 0;
  for (const seq of frontier.left ?? []) {
    const other = rankOf(frontier, seq);
    if (other !== null && other > frontier.frontier && other < rank) ahead++;
  }
  return ahead;
}

export function ticketStatus(frontier: QueueFrontier, seq: number, now: number): TicketStatus {
  if (frontier.left?.includes(seq)) return { state: "left", position: null };
  const rank = rankOf(frontier, seq);
  if (rank !== null && rank <= frontier.frontier) {
    const move = moveFor(frontier, rank);
    const expiresAt = move ? (move.until ?? move.at + frontier.admissionTtlMs) : 0;
    return expiresAt > now
      ? { state: "admitted", position: null, admissionExpiresAt: expiresAt }
      : { state: "expired", position: null };
  }
  if (frontier.soldOut) return { state: "sold_out", position: null };
  if (rank === null) return { state: "waiting", position: null };
  const position = rank - frontier.frontier - leftAhead(frontier, rank);
  // The rate says how long the line takes only while units are there to admit into.
  if (frontier.waitingForStock) return { state: "waiting", position };
  return {
    state: "waiting",
    position,
    estimatedWaitSeconds: Math.ceil(position / frontier.admitPerSecond),
  };
}
