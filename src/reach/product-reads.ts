/**
 * Concurrent reads of one product in this isolate share object calls, without ever answering a
 * read with state older than the moment it arrived: a read may use the answer of a call that
 * started after it arrived, never one already under way. A shopper whose write was answered before
 * their read arrived therefore always sees that write (or later). Under a storm of c readers each
 * call answers about c reads; a lone reader pays nothing extra (it finds no call and makes one).
 *
 * Only plain data crosses between requests: the answer a call stored (its JSON, its tag). No
 * request ever awaits a promise another request made or settles one of another request's: in
 * workerd a request resumed by another request's I/O can answer in that request's context, and
 * its response then fails ("Cannot perform I/O on behalf of a different request"), as the bench
 * showed once clients went away mid-read (and a wake-up signal passed the same way did no better).
 * So a read that has to wait sleeps on a timer of its own, until the call it needs should have
 * ended (from the recent calls' duration), and looks again: about one wake-up per read. A call under way for longer than `abandonedAfterMs` is taken to be lost (its
 * request went away mid-call): the next read to look makes a call of its own.
 */
export class ProductReads<T> {
  private readonly products = new Map<string, Reads<T>>();
  /** Orders arrivals and call starts in this isolate (a read's arrival, a call's start). */
  private clock = 0;
  /** Object calls made, for tests and the bench (object calls per read). */
  calls = 0;

  constructor(
    private readonly options: {
      /** Sleeps `ms` on a timer of the caller's own request. */
      sleep?: (ms: number) => Promise<void>;
      /** A call under way this long is taken to be lost, and a waiting read calls itself. */
      abandonedAfterMs?: number;
      now?: () => number;
    } = {},
  ) {}

  /** The answer of a call that started after this read arrived: shared when one is under way. */
  async read(key: string, call: () => Promise<T>): Promise<T> {
    const { sleep = timer, abandonedAfterMs = 2_000, now = Date.now } = this.options;
    const arrived = ++this.clock;
    const reads = this.readsOf(key);
    for (;;) {
      // A call that started after this read arrived has answered: its answer is fresh enough.
      if (reads.answered && reads.answered.started > arrived) return reads.answered.value;
      const running = reads.running;
      const at = now();
      // No call under way (or a lost one): this read calls, and the reads waiting share it.
      if (!running || at - running.at >= abandonedAfterMs) return this.call(reads, call, at);
      // Sleep until the call under way should end. A read that arrived after it started needs the
      // next call: the first such read makes it then, the others sleep through it too.
      let until = running.at + reads.callMs;
      if (running.started < arrived) {
        reads.firstInLine ??= arrived;
        if (reads.firstInLine !== arrived) until += reads.callMs;
      }
      await sleep(Math.max(1, Math.ceil(until - at)));
    }
  }

  private async call(reads: Reads<T>, call: () => Promise<T>, at: number): Promise<T> {
    const { now = Date.now } = this.options;
    const started = ++this.clock;
    reads.running = { started, at };
    reads.firstInLine = undefined;
    this.calls++;
    try {
      const value = await call();
      // A later call may have answered first (one made after this was taken to be lost).
      if (!reads.answered || reads.answered.started < started) reads.answered = { started, value };
      reads.callMs += (Math.max(1, now() - at) - reads.callMs) / 4;
      return value;
    } finally {
      // Failures are not shared: the waiting reads find no call under way and call themselves.
      if (reads.running?.started === started) reads.running = undefined;
    }
  }

  private readsOf(key: string): Reads<T> {
    let reads = this.products.get(key);
    if (!reads) {
      reads = { callMs: 2 };
      this.products.set(key, reads);
    }
    return reads;
  }
}

const timer = (ms: number) => new Promise<void>((wake) => setTimeout(wake, ms));

interface Reads<T> {
  /** The call under way: when it started, in this isolate's order and in ms. */
  running?: { started: number; at: number };
  /** The newest answer, and when its call started (in this isolate's order). */
  answered?: { started: number; value: T };
  /** The first read waiting for the call after the one under way: it makes that call. */
  firstInLine?: number;
  /** How long a call takes, recently (ms, a moving average). */
  callMs: number;
}
