/**
 * Once a product is sold out, most of a flash sale's traffic is shoppers who arrived too late.
 * Their answer must not queue behind the object's writes, so the Worker remembers "sold out" for
 * a product for at most `ttlMs` and answers 409 itself. Expiries and failed payments can bring
 * units back, which is why the memory is short; anything this isolate learns that frees units
 * forgets it at once.
 */
export class SoldOutMemory {
  private readonly until = new Map<number, number>();

  constructor(
    private readonly ttlMs = 1_000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  isSoldOut(productId: number): boolean {
    const until = this.until.get(productId);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.until.delete(productId);
    return false;
  }

  /** Record what the object said is available right now. */
  saw(productId: number, available: number): void {
    if (available > 0) this.until.delete(productId);
    else this.until.set(productId, this.now() + this.ttlMs);
  }

  forget(productId: number): void {
    this.until.delete(productId);
  }
}
