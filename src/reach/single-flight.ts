/**
 * Concurrent reads of one key share one call, without ever answering a read with state older than
 * the moment it arrived: a read joins a call that starts after it arrived, never one already under
 * way. So at most two calls per key exist at once: the one running, and the next, which every
 * read arriving meanwhile joins and which starts as soon as the running one settles. A shopper
 * whose write was answered before their read arrived therefore always sees that write (or later).
 *
 * Under a storm of c concurrent readers each call answers about c reads, so the object sees one
 * call per round trip instead of one per read; a lone reader pays nothing extra (no running call:
 * its own starts at once).
 */
export class SingleFlight<T> {
  private readonly slots = new Map<string, Slot<T>>();
  /** Calls started, for tests and the bench (object calls per read). */
  started = 0;

  run(key: string, call: () => Promise<T>): Promise<T> {
    const slot = this.slots.get(key);
    if (!slot) return this.start(key, call);
    // The running call started before this read arrived: wait for the next one.
    slot.next ??= slot.running.then(settled, settled).then(() => this.start(key, call));
    return slot.next;
  }

  private start(key: string, call: () => Promise<T>): Promise<T> {
    this.started++;
    const running = Promise.resolve().then(call);
    const slot: Slot<T> = { running, next: null };
    this.slots.set(key, slot);
    const done = (): void => {
      // A next call takes the slot over when it starts; otherwise the key is free again.
      if (this.slots.get(key) === slot && slot.next === null) this.slots.delete(key);
    };
    running.then(done, done);
    return running;
  }
}

interface Slot<T> {
  running: Promise<T>;
  next: Promise<T> | null;
}

const settled = (): void => undefined;
