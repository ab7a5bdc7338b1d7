/**
 * Retrying calls to a product object. Cloudflare marks transient Durable Object errors with
 * `.retryable`; those are retried with exponential backoff and full jitter. An error that is also
 * `.overloaded` is not: retrying an overloaded object only deepens the overload.
 *
 * The runtime itself already retries a call that never reached the object, up to 5 attempts, and
 * never delivers one call twice. So the Worker adds one retry of its own, not four: it is there
 * for the case the runtime cannot recover, an answer lost after the object acted, which the
 * retry's idempotency key turns back into the same answer. In all, a request costs at most
 * 2 × 5 = 10 transport attempts and 2 deliveries to the object (5 × 5 = 25 before).
 */
export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 2,
  baseDelayMs: 50,
  maxDelayMs: 1_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/** Thrown when a call could not be completed: the caller answers 503 with Retry-After. */
export class ProductUnavailable extends Error {
  constructor(
    readonly reason: "overloaded" | "retries_exhausted",
    readonly attempts: number,
    readonly lastError: unknown,
  ) {
    super(
      `Product object unavailable (${reason} after ${attempts} attempt(s)): ${String(lastError)}`,
    );
  }
}

function flag(error: unknown, name: "retryable" | "overloaded"): boolean {
  return (
    typeof error === "object" && error !== null && (error as Record<string, unknown>)[name] === true
  );
}

const isOverloaded = (error: unknown): boolean => flag(error, "overloaded");
const isRetryable = (error: unknown): boolean => flag(error, "retryable") && !isOverloaded(error);

/** Delay before attempt `attempt + 1` (attempt counts from 1): full jitter over an exponential cap. */
export function backoffMs(attempt: number, policy: RetryPolicy): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(policy.random() * cap);
}

/**
 * Call `attempt` until it succeeds, retrying transient failures. `attempt` must be safe to repeat:
 * every call to a product object carries an idempotency key for that reason.
 */
export async function withRetries<T>(
  attempt: (n: number) => Promise<T>,
  policy: RetryPolicy,
  onRetry: (n: number, delayMs: number, error: unknown) => void,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (isOverloaded(error)) throw new ProductUnavailable("overloaded", n, error);
      if (!isRetryable(error)) throw error;
      if (n >= policy.attempts) throw new ProductUnavailable("retries_exhausted", n, error);
      const delay = backoffMs(n, policy);
      onRetry(n, delay, error);
      await policy.sleep(delay);
    }
  }
}
