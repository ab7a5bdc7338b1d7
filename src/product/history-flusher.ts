import { logEvent } from "../log";
import {
  countFailure,
  dropCopied,
  moveToDeadLetters,
  nextOutboxRows,
  statementsFor,
  type HistoryEvent,
  type OutboxRow,
} from "./history";

/**
 * Copies the outbox to D1, with a lifecycle of its own: one copy in flight at a time; after a
 * failure, new writes no longer start copies, and the next attempt comes from the alarm at the
 * backoff time (5 s doubling to 60 s, with jitter), so an outage costs a few D1 calls a minute
 * instead of one per write. An event D1 rejects for good (or that keeps failing while the events
 * around it get through) goes to the dead letters and the history flows on.
 *
 * D1's limits, which the batches stay within: 100 bound parameters per statement (ours bind at
 * most 14), and 1,000 queries per invocation on Workers Paid, 50 on Free, each statement of a
 * batch counting as one. A batch is at most 50 statements (25 events), and one run copies at most
 * 10 batches before it lets the alarm continue.
 */
const EVENTS_PER_BATCH = 25;
const BATCHES_PER_RUN = 10;
const POISON_ATTEMPTS = 5;
const RETRY_BASE_MS = 5_000;
const RETRY_MAX_MS = 60_000;
/** When a run stopped at its batch cap with more to copy. */
const CONTINUE_MS = 1_000;

export interface FlusherOptions {
  /** The object's state: its storage, and waitUntil to keep a copy alive past the request. */
  state: DurableObjectState;
  db: () => D1Database;
  productId: number;
  /** The shard this object is (null or absent: the product's own object), named in its logs. */
  shard?: number | null;
  /** Ask for the alarm at this time (it only ever moves earlier). */
  arm: (at: number) => void;
  now?: () => number;
  random?: () => number;
}

/** A D1 error that retrying will not fix: the statement itself is refused. */
function isPermanent(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /constraint failed|SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)|no such (table|column)|datatype mismatch|too many SQL variables|syntax error|JSON/i.test(
    message,
  );
}

export class HistoryFlusher {
  private inFlight: Promise<void> | null = null;
  private again = false;
  private failures = 0;
  /** No copy starts before this (0: any time). */
  private notBefore = 0;
  private readonly now: () => number;
  private readonly random: () => number;

  private get sql(): SqlStorage {
    return this.options.state.storage.sql;
  }

  constructor(private readonly options: FlusherOptions) {
    this.now = options.now ?? (() => Date.now());
    this.random = options.random ?? Math.random;
  }

  /** Events were just recorded: copy them now, unless a copy runs or the backoff has not passed. */
  nudge(): void {
    if (this.inFlight) {
      this.again = true;
      return;
    }
    if (this.now() < this.notBefore) return;
    this.start();
  }

  /** The alarm fired: copy if the backoff has passed. Resolves when this copy is done. */
  async onAlarm(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.now() < this.notBefore) {
      this.options.arm(this.notBefore);
      return;
    }
    this.start();
    return this.inFlight ?? undefined;
  }

  /** Consecutive failed copies, for metrics. */
  get failing(): number {
    return this.failures;
  }

  private start(): void {
    const run = this.copy().finally(() => {
      this.inFlight = null;
      if (this.again && this.now() >= this.notBefore) {
        this.again = false;
        this.start();
      }
    });
    this.inFlight = run;
    this.options.state.waitUntil(run);
  }

  private async copy(): Promise<void> {
    this.again = false;
    try {
      for (let batch = 0; batch < BATCHES_PER_RUN; batch++) {
        const rows = nextOutboxRows(this.sql, EVENTS_PER_BATCH);
        if (rows.length === 0) {
          this.failures = 0;
          this.notBefore = 0;
          return;
        }
        await this.copyBatch(rows);
      }
      this.options.arm(this.now() + CONTINUE_MS);
    } catch (error) {
      this.failures++;
      const cap = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (this.failures - 1));
      const delay = Math.round(cap / 2 + (this.random() * cap) / 2);
      this.notBefore = this.now() + delay;
      this.again = false;
      logEvent(
        "Order history write to D1 failed, will retry.",
        {
          product_id: this.options.productId,
          backlog: backlog(this.sql),
          retry_in_ms: delay,
          failures: this.failures,
          error: String(error),
        },
        "warn",
      );
      this.options.arm(this.notBefore);
    }
  }

  /** Copy these events as one batch; if D1 refuses it, find out event by event what it refuses. */
  private async copyBatch(rows: OutboxRow[]): Promise<void> {
    const db = this.options.db();
    try {
      await db.batch(rows.flatMap((row) => this.statements(db, row)));
      this.transaction(() =>
        dropCopied(
          this.sql,
          rows.map((row) => row.seq),
        ),
      );
      return;
    } catch (batchError) {
      if (!(await this.copyOneByOne(rows))) throw batchError;
    }
  }

  /**
   * Events one at a time, in order. A permanent refusal sends the event to the dead letters at
   * once; a transient-looking failure only counts against an event when another event got through
   * in the same pass (else D1 itself is down: nothing is counted, the caller backs off).
   * Returns false for an outage.
   */
  private async copyOneByOne(rows: OutboxRow[]): Promise<boolean> {
    const db = this.options.db();
    const suspects: { row: OutboxRow; error: unknown }[] = [];
    let copied = 0;
    for (const row of rows) {
      try {
        await db.batch(this.statements(db, row));
        this.transaction(() => dropCopied(this.sql, [row.seq]));
        copied++;
      } catch (error) {
        if (isPermanent(error)) {
          this.deadLetter(row, error);
          continue;
        }
        suspects.push({ row, error });
        if (copied === 0 && suspects.length >= 2) return false;
      }
    }
    if (copied === 0 && suspects.length > 0) return false;
    for (const { row, error } of suspects) {
      const attempts = this.transaction(() => countFailure(this.sql, row.seq));
      if (attempts >= POISON_ATTEMPTS) this.deadLetter({ ...row, attempts }, error);
    }
    return true;
  }

  private statements(db: D1Database, row: OutboxRow): D1PreparedStatement[] {
    return statementsFor(
      db,
      this.options.productId,
      this.options.shard ?? null,
      row.seq,
      JSON.parse(row.payload) as HistoryEvent,
    );
  }

  private deadLetter(row: OutboxRow, error: unknown): void {
    this.transaction(() => moveToDeadLetters(this.sql, row, String(error), this.now()));
    logEvent(
      "Order history event moved to dead letters.",
      {
        product_id: this.options.productId,
        // Which object keeps it, for `?shard=k` on the dead-letter routes (absent: the product's).
        shard: this.options.shard ?? undefined,
        seq: row.seq,
        attempts: row.attempts,
        event: row.payload,
        error: String(error),
      },
      "error",
    );
  }

  private transaction<T>(work: () => T): T {
    return this.options.state.storage.transactionSync(work);
  }
}

function backlog(sql: SqlStorage): number {
  return sql.exec("SELECT outbox_backlog FROM product").one().outbox_backlog as number;
}
