/**
 * Group commit. Each event that writes to a Durable Object's storage ends in a commit, and under
 * a storm those commits, not the SQL, are what a hold costs. So writes that arrive while a commit
 * is in flight wait for it, then run back to back in one synchronous stretch and share the next
 * commit. Every write still runs alone in its own transaction, in arrival order, and no answer
 * leaves before its commit is durable (the output gate holds it). A write that finds no commit in
 * flight runs at once, so a quiet object answers as fast as before.
 */
export class GroupCommit {
  private waiting: (() => void)[] = [];
  private committing = false;

  constructor(private readonly storage: DurableObjectStorage) {}

  run<T>(write: () => T): Promise<T> {
    if (this.committing) {
      return new Promise<T>((resolve, reject) =>
        this.waiting.push(() => settle(write, resolve, reject)),
      );
    }
    return new Promise<T>((resolve, reject) => {
      settle(write, resolve, reject);
      this.awaitCommit();
    });
  }

  private awaitCommit(): void {
    this.committing = true;
    const next = () => {
      const batch = this.waiting;
      this.waiting = [];
      if (batch.length === 0) {
        this.committing = false;
        return;
      }
      for (const write of batch) write();
      this.awaitCommit();
    };
    // A failed commit breaks the object (the runtime resets it); the waiting writes still run and
    // meet that failure themselves.
    this.storage.sync().then(next, next);
  }
}

function settle<T>(
  write: () => T,
  resolve: (value: T) => void,
  reject: (error: unknown) => void,
): void {
  try {
    resolve(write());
  } catch (error) {
    reject(error);
  }
}
