import { failure, type Failure } from "../contract/errors";
import type { ProductMetricsView } from "../contract/shapes";
import { rankOf, ticketStatus, type QueueFrontier, type QueueMove } from "../queue/frontier";
import type { Admitted } from "./holds";
import { available, productRow, type ProductRow } from "./product-row";
import { certifiedSoldOut } from "./shards";
import { firstRow, rows, type Tx } from "./tx";

/**
 * The product's fair queue: inventory-aware admission in arrival order.
 *
 * Joining hands out the next seq and saves it (the last seq issued, and the shopper -> seq map so
 * a shopper joining again keeps the same ticket, looked up by its primary key: the map is never
 * held in memory, so a crowd of any size costs the object no memory). The admission
 * frontier moves in rank order, at most `admit_per_second` a second, and only as far as the
 * units allow:
 *
 *   unused admissions (one unit each) + reserved (active holds, pending orders) <= stock
 *
 * where stock is what can still be sold. Each move is saved (there are at most as many admissions
 * in flight as units), and so is each admission used for a hold, in the hold's transaction.
 *
 * What a restart of the object loses: the in-memory rate budget (refilled), nothing else. Every
 * seq counted as waiting was handed to someone, so after a restart the line holds exactly the
 * people who joined, in their places (the ticket carries its place).
 *
 * Each admission move keeps the time it ends, set when it is made: lowering the admission TTL
 * later shortens new admissions only, never the ones whose tokens were already signed.
 */
interface Move extends QueueMove {
  used: number;
  until: number;
}

interface QueueStateRow {
  issued: number;
  frontier: number;
  shuffle_key: number | null;
  shuffle_size: number | null;
}

export interface Joined {
  seq: number;
  /** False when this shopper already had a ticket that is waiting or admitted. */
  created: boolean;
}

/** The admission a hold was sent with: its place in the line and when it stops being valid. */
export interface HoldAdmission {
  seq: number;
  expiresAt: number;
}

/**
 * A hold on a product whose queue is on needs an admission, not yet expired. (Whether it was used,
 * or its ticket left, only the queue's own object can tell.)
 */
export function admissionInTime(admission: HoldAdmission | undefined, now: number): Failure | null {
  if (admission === undefined) {
    return failure(
      "admission_required",
      "This product has a queue: join it, and send the admission_token you get.",
    );
  }
  if (admission.expiresAt > now) return null;
  const at = new Date(admission.expiresAt).toISOString();
  return failure("invalid_admission", `This admission expired at ${at}; join the queue again.`);
}

export class ProductQueue {
  private nextSeq: number;
  private frontier: number;
  private shuffle: { key: number; size: number } | null;
  /** Admissions in their TTL: at most as many as units on sale, whatever the crowd. */
  private moves: Move[];
  /** Seqs of tickets whose shoppers left the line. */
  private readonly left = new Set<number>();
  /** Admissions the rate allows right now (a one-second bucket). */
  private budget = Infinity;
  private budgetAt = 0;
  /** Bumped whenever something a ticket holder sees may have changed. */
  version = 0;

  constructor(private readonly sql: SqlStorage) {
    const state = sql.exec("SELECT * FROM queue_state").one() as unknown as QueueStateRow;
    this.nextSeq = state.issued + 1;
    this.frontier = state.frontier;
    this.shuffle =
      state.shuffle_key === null ? null : { key: state.shuffle_key, size: state.shuffle_size ?? 0 };
    this.moves = rows<{
      at: number;
      from_rank: number;
      to_rank: number;
      used: number;
      expires_at: number;
    }>(
      sql.exec("SELECT at, from_rank, to_rank, used, expires_at FROM queue_moves ORDER BY to_rank"),
    ).map((m) => ({
      at: m.at,
      from: m.from_rank,
      to: m.to_rank,
      used: m.used,
      until: m.expires_at,
    }));
    for (const row of rows<{ seq: number }>(sql.exec("SELECT seq FROM queue_left"))) {
      this.left.add(row.seq);
    }
  }

  /** The queue's part of the product's metrics. */
  metricsView(product: ProductRow, enabled: boolean, now: number): ProductMetricsView["queue"] {
    const { issued, frontier } = this.frontierView(product, now);
    return { enabled, issued, waiting: this.waiting(), admitted_unused: this.unused(), frontier };
  }

  /** Tickets given out and not yet admitted. */
  waiting(): number {
    return Math.max(0, this.nextSeq - 1 - this.frontier);
  }

  /** Admissions still in their TTL (at `now`, when given) and not used for a hold. */
  unused(now = -Infinity): number {
    return this.moves.reduce(
      (sum, move) => (move.until > now ? sum + move.to - move.from + 1 - move.used : sum),
      0,
    );
  }

  frontierView(product: ProductRow, now: number): QueueFrontier {
    return {
      enabled: product.queue_enabled === 1,
      admitPerSecond: product.queue_admit_per_second,
      admissionTtlMs: product.queue_admission_ttl_seconds * 1000,
      startsAt: product.sale_starts_at,
      // Before the start (and until the start has been processed) pre-queue places are unknown.
      shuffle: this.shuffle ?? (product.sale_starts_at === null ? { key: 0, size: 0 } : null),
      issued: this.nextSeq - 1,
      frontier: this.frontier,
      moves: this.moves.map(({ at, from, to, until }) => ({ at, from, to, until })),
      soldOut: this.soldOut(product),
      waitingForStock: available(product) - this.unused() <= 0,
      publishedAt: now,
      ...(this.left.size > 0 ? { left: [...this.left] } : {}),
    };
  }

  /**
   * The ticket's shopper leaves the line. A waiting ticket simply leaves: the places behind it
   * move up, and when the frontier reaches its rank its admission counts as given back at once.
   * An admitted ticket not used for a hold gives its admission back now, so the next in line is
   * admitted (by the `admit` that ends this transaction). Leaving again changes nothing. Returns
   * whether this call made it leave.
   */
  leave(tx: Tx, product: ProductRow, seq: number, shopperId: string | null): boolean {
    if (this.left.has(seq)) return false;
    this.left.add(seq);
    tx.sql.exec(
      "INSERT OR IGNORE INTO queue_left (seq, shopper_id, left_at) VALUES (?, ?, ?)",
      seq,
      shopperId,
      tx.now,
    );
    const rank = rankOf(this.frontierView(product, tx.now), seq);
    const move = this.moves.find(
      (m) => rank !== null && m.from <= rank && rank <= m.to && m.until > tx.now,
    );
    const used = rows(
      tx.sql.exec("SELECT 1 AS used FROM queue_admissions_used WHERE seq = ?", seq),
    );
    if (move && used.length === 0 && move.used < move.to - move.from + 1) {
      move.used++;
      tx.sql.exec("UPDATE queue_moves SET used = used + 1 WHERE to_rank = ?", move.to);
    }
    this.version++;
    tx.log("Queue ticket left the line.", {
      product_id: tx.productId,
      seq,
      shopper_id: shopperId,
      admission_returned: move !== undefined && used.length === 0,
    });
    return true;
  }

  /** Tickets that left the line and whose ranks a new move covers: their admissions go back. */
  private leftIn(product: ProductRow, now: number, from: number, to: number): number {
    if (this.left.size === 0) return 0;
    const frontier = this.frontierView(product, now);
    let count = 0;
    for (const seq of this.left) {
      const rank = rankOf(frontier, seq);
      if (rank !== null && from <= rank && rank <= to) count++;
    }
    return count;
  }

  /** Join the line: the shopper's ticket if it still waits or is admitted, else a new one at the back. */
  join(tx: Tx, product: ProductRow, shopperId: string | null): Joined {
    this.start(tx, product);
    if (shopperId !== null) {
      const had = firstRow<{ seq: number }>(
        tx.sql.exec("SELECT seq FROM queue_shoppers WHERE shopper_id = ?", shopperId),
      );
      if (had) {
        const { state } = ticketStatus(this.frontierView(product, tx.now), had.seq, tx.now);
        if (state === "waiting" || state === "admitted") return { seq: had.seq, created: false };
      }
    }
    const seq = this.nextSeq++;
    tx.sql.exec("UPDATE queue_state SET issued = ?", seq);
    if (shopperId !== null) {
      tx.sql.exec(
        "INSERT OR REPLACE INTO queue_shoppers (shopper_id, seq, joined_at) VALUES (?, ?, ?)",
        shopperId,
        seq,
        tx.now,
      );
    }
    this.version++;
    this.admit(tx, product);
    return { seq, created: true };
  }

  /**
   * Move the frontier as far as the units, the rate and the line allow. Runs at the end of every
   * writing transaction while people wait (a hold released, an order failed: a place frees at
   * once) and from the alarm (the rate budget refills, admissions expire).
   */
  admit(tx: Tx, product: ProductRow): void {
    if (product.queue_enabled !== 1) return;
    this.expire(tx);
    if (!this.start(tx, product) || this.waiting() === 0) return;
    const rate = product.queue_admit_per_second;
    this.budget = Math.min(rate, this.budget + ((tx.now - this.budgetAt) / 1000) * rate);
    this.budgetAt = tx.now;
    // Tickets that left are passed over: their admissions count as given back at once, and cost
    // neither a unit nor the rate, so the move goes on to the next in line.
    let move: Move | null = null;
    for (;;) {
      const room = available(product) - this.unused();
      const count = Math.min(Math.floor(this.budget), room, this.waiting());
      if (count <= 0) break;
      const from = this.frontier + 1;
      const to = this.frontier + count;
      const gone = this.leftIn(product, tx.now, from, to);
      move = {
        at: tx.now,
        from,
        to,
        used: gone,
        until: tx.now + product.queue_admission_ttl_seconds * 1000,
      };
      this.moves.push(move);
      this.frontier = move.to;
      this.budget -= count - gone;
      tx.sql.exec(
        "INSERT INTO queue_moves (at, from_rank, to_rank, used, expires_at) VALUES (?, ?, ?, ?, ?)",
        move.at,
        move.from,
        move.to,
        move.used,
        move.until,
      );
      if (gone === 0) break;
    }
    if (move === null) return;
    tx.sql.exec("UPDATE queue_state SET frontier = ?", this.frontier);
    this.version++;
    tx.log("Queue admitted shoppers.", {
      product_id: tx.productId,
      from: move.from,
      to: move.to,
      waiting: this.waiting(),
    });
  }

  /**
   * What a hold needs from the queue while it is on: an admission (its signature already checked
   * by the Worker) that has not expired and was not used, the units to leave for the other
   * admitted shoppers, and the admission used up once the hold is made.
   */
  admissionFor(tx: Tx, admission: HoldAdmission | undefined, shopperId: string | null): Admitted {
    const seq = admission?.seq ?? 0;
    return {
      check: () =>
        admissionInTime(admission, tx.now) ?? this.checkAdmission(tx, admission?.seq ?? 0),
      heldBack: () => this.heldBackFor(tx, productRow(tx.sql), seq),
      use: (holdId) => this.useAdmission(tx, productRow(tx.sql), seq, holdId, shopperId),
    };
  }

  /**
   * A hold made with an admission: refuse a second use, and count it used (the hold's units now
   * stand in for the admission's place). Call in the hold's transaction, before it reserves.
   */
  private checkAdmission(tx: Tx, seq: number): Failure | null {
    if (this.left.has(seq)) {
      return failure("left_queue", "This ticket left the line; join the queue again.");
    }
    const used = rows(
      tx.sql.exec("SELECT 1 AS used FROM queue_admissions_used WHERE seq = ?", seq),
    );
    return used.length > 0
      ? failure("admission_used", "This admission was already used for a hold.")
      : null;
  }

  /**
   * Units this hold must leave for the other admitted shoppers: each unused admission but this
   * one is worth a unit, so one shopper's large hold cannot take the unit another was let in for.
   */
  private heldBackFor(tx: Tx, product: ProductRow, seq: number): number {
    const rank = rankOf(this.frontierView(product, tx.now), seq);
    const mine = this.moves.find((m) => rank !== null && m.from <= rank && rank <= m.to);
    return Math.max(0, this.unused() - (mine && mine.used < mine.to - mine.from + 1 ? 1 : 0));
  }

  private useAdmission(
    tx: Tx,
    product: ProductRow,
    seq: number,
    holdId: string,
    shopperId: string | null,
  ): void {
    tx.sql.exec(
      "INSERT INTO queue_admissions_used (seq, hold_id, shopper_id, used_at) VALUES (?, ?, ?, ?)",
      seq,
      holdId,
      shopperId,
      tx.now,
    );
    const rank = rankOf(this.frontierView(product, tx.now), seq);
    const move = this.moves.find((m) => rank !== null && m.from <= rank && rank <= m.to);
    if (move) {
      move.used++;
      tx.sql.exec("UPDATE queue_moves SET used = used + 1 WHERE to_rank = ?", move.to);
    }
    this.version++;
  }

  /**
   * Nothing can come back: everything is sold. A product whose stock is lent to shards sells it
   * there, so only the coordinator's certificate says so (every shard confirmed nothing free and
   * nothing held; src/product/shards.ts).
   */
  private soldOut(product: ProductRow): boolean {
    if (product.lent > 0) return certifiedSoldOut({ sql: this.sql });
    return product.stock === 0 && product.reserved === 0;
  }

  /** When the alarm must come back for the queue (Infinity: it need not). */
  nextTickAt(product: ProductRow, now: number): number {
    if (product.queue_enabled !== 1) return Infinity;
    const expiry = Math.min(...this.moves.map((move) => move.until));
    if (!this.started(product, now)) return product.sale_starts_at ?? Infinity;
    return this.waiting() > 0 ? Math.min(now + 1_000, expiry) : expiry;
  }

  private started(product: ProductRow, now: number): boolean {
    return (
      this.shuffle !== null || product.sale_starts_at === null || now >= product.sale_starts_at
    );
  }

  /**
   * At the sale's start, shuffle the pre-queue (everyone who joined before it), so arriving early
   * gives no edge. Returns whether the line is open.
   */
  private start(tx: Tx, product: ProductRow): boolean {
    if (this.shuffle !== null) return true;
    if (product.sale_starts_at === null) return true;
    if (tx.now < product.sale_starts_at) return false;
    this.shufflePreQueue(tx, "Queue pre-queue shuffled at the sale's start.");
    return true;
  }

  /**
   * The operator cleared the start time to open early: the pre-queue is shuffled now, as at the
   * start, so whoever joined first gains nothing. Call in the transaction that clears it.
   */
  openEarly(tx: Tx): void {
    if (this.shuffle === null) this.shufflePreQueue(tx, "Queue pre-queue shuffled: opened early.");
  }

  private shufflePreQueue(tx: Tx, message: string): void {
    const key = crypto.getRandomValues(new Uint32Array(1))[0]! >>> 1;
    this.shuffle = { key, size: this.nextSeq - 1 };
    tx.sql.exec(
      "UPDATE queue_state SET shuffle_key = ?, shuffle_size = ?",
      this.shuffle.key,
      this.shuffle.size,
    );
    this.version++;
    tx.log(message, { product_id: tx.productId, size: this.shuffle.size });
  }

  /** Admissions past their TTL are over: their places pass on. */
  private expire(tx: Tx): void {
    const live = this.moves.filter((move) => move.until > tx.now);
    if (live.length === this.moves.length) return;
    this.moves = live;
    tx.sql.exec("DELETE FROM queue_moves WHERE expires_at <= ?", tx.now);
    this.version++;
  }
}
