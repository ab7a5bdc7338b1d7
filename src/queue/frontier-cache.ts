import type { QueueFrontier } from "./frontier";

/**
 * The Worker's copy of each product's published queue frontier, at most `maxAgeMs` old, so ticket
 * polls are answered here instead of by the product's object: a crowd polling every second costs
 * the object one read per isolate per second, not one per shopper.
 */
export class FrontierCache {
  private readonly frontiers = new Map<number, QueueFrontier>();

  constructor(
    private readonly maxAgeMs = 1_000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  fresh(productId: number): QueueFrontier | null {
    const frontier = this.frontiers.get(productId);
    return frontier && this.now() - frontier.publishedAt < this.maxAgeMs ? frontier : null;
  }

  keep(productId: number, frontier: QueueFrontier): void {
    this.frontiers.set(productId, frontier);
  }
}
