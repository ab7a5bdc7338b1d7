/**
 * Concurrent reads of one key share one call, without ever answering a read with state older than
 * the moment it arrived: a read joins a call that starts after it arrived, never one already under
 * way. So a read that finds a call running waits for it to settle, and then the waiting reads
 * share the next call (the first of them to wake starts it, the others join it). A shopper whose
 * write was answered before their read arrived therefore always sees that write (or later).
 * Under a storm of c concurrent readers each call answers about c reads, so the object sees about
 * one call per round trip instead of one per read; a lone reader pays nothing extra.
 *
 * Every promise a reader awaits is made in the reader's own request, and settled from the one that
 * made the call: the runtime then runs the reader's continuation in the reader's own request
 * (a continuation of another request's promise would run in that request, and the reader's
 * answer could not be sent). The call is handed to `keepAlive` (the caller's waitUntil), so a
 * leader whose client goes away still settles it for the others.
 */
export class SingleFlight<T> {
  private readonly slots = new Map<string, Slot<T>>();
  private round = 0;
  /** Calls started, for tests and the bench (object calls per read). */
  started = 0;

  run(key: string, call: () => Promise<T>, keepAlive?: (settled: Promise<unknown>) => void) {
    const own = resolvers<T>();
    const slot = this.slots.get(key);
    if (!slot) {
      this.lead(key, call, own, keepAlive);
    } else {
      // The running call started before this read arrived: wait until it settles.
      const turn = resolvers<number>();
      void turn.promise.then((woken) => {
        const current = this.slots.get(key);
        // A call another waiting read (or a newcomer) started after this one woke: join it.
        if (current && current.round > woken) current.followers.push(own);
        else this.lead(key, call, own, keepAlive);
      });
      slot.waiting.push(turn.resolve);
    }
    return own.promise;
  }

  private lead(
    key: string,
    call: () => Promise<T>,
    own: Resolvers<T>,
    keepAlive?: (settled: Promise<unknown>) => void,
  ): void {
    const slot: Slot<T> = { round: ++this.round, followers: [own], waiting: [] };
    this.slots.set(key, slot);
    this.started++;
    const settle = (answer: (reader: Resolvers<T>) => void) => {
      // All at once, so no read can join this call after it has been answered.
      if (this.slots.get(key) === slot) this.slots.delete(key);
      for (const reader of slot.followers) answer(reader);
      const woken = this.round;
      for (const wake of slot.waiting) wake(woken);
    };
    const settled = Promise.resolve()
      .then(call)
      .then(
        (value) => settle((reader) => reader.resolve(value)),
        (error: unknown) => settle((reader) => reader.reject(error)),
      );
    keepAlive?.(settled);
  }
}

interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

/**
 * A promise another request may have made (a shared read), as one made in the caller's own request:
 * the caller's continuation then runs in its own request, where it may build its answer. Awaiting
 * the other request's pending promise directly would run it in that request ("Cannot perform I/O on
 * behalf of a different request").
 */
export function inOwnRequest<T>(shared: Promise<T>): Promise<T> {
  const own = resolvers<T>();
  shared.then(own.resolve, own.reject);
  return own.promise;
}

/** A promise made here, in the caller's request, with its resolve and reject. */
function resolvers<T>(): Resolvers<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

interface Slot<T> {
  /** When the call started, in calls started by this instance. */
  round: number;
  /** Reads answered by this call. */
  followers: Resolvers<T>[];
  /** Reads that arrived while it ran: woken when it settles, to share the next call. */
  waiting: ((round: number) => void)[];
}
