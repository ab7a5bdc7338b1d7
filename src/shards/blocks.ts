/**
 * Adaptive block sizing: how many units a shard asks for, and how many the coordinator gives.
 * A shard asks for about what it sells in one refill interval, so a busy shard borrows rarely and
 * a quiet one strands little; the coordinator caps a grant at an even share of what is left, so
 * no shard hoards the end of a sale. Neither affects safety (any sizes keep I1-I3), only how often
 * shards borrow and how many units sit free in the wrong shard.
 */

export interface BlockPolicy {
  /** The interval a block should last at the shard's recent rate. */
  refillMs: number;
  minBlock: number;
  maxBlock: number;
}

export const DEFAULT_BLOCKS: BlockPolicy = { refillMs: 1_000, minBlock: 4, maxBlock: 1_000 };

/** A shard's recent rate of units reserved, as an exponentially weighted average per second. */
export interface RateEstimate {
  /** Units per second. */
  rate: number;
  /** When the estimate was last moved, epoch ms (0: never). */
  at: number;
}

/** The time over which old demand fades (the average's time constant). */
const RATE_TAU_MS = 2_000;

/** Fold `units` reserved at `now` into the estimate. Kept in memory: a restart starts from 0. */
export function noteDemand(estimate: RateEstimate, units: number, now: number): void {
  const dt = estimate.at === 0 ? RATE_TAU_MS : Math.max(1, now - estimate.at);
  const keep = Math.exp(-dt / RATE_TAU_MS);
  estimate.rate = estimate.rate * keep + (units * 1_000) / RATE_TAU_MS;
  estimate.at = now;
}

/** What a shard asks for: one refill interval's worth at its recent rate, and at least `need`. */
export function wantedBlock(rate: number, need: number, policy: BlockPolicy): number {
  const interval = Math.ceil((rate * policy.refillMs) / 1_000);
  return Math.max(need, Math.min(policy.maxBlock, Math.max(policy.minBlock, interval)));
}

/**
 * When a shard asks ahead: its free units would last less than the time a borrow takes, twice
 * over, at its recent rate (and never below the minimum block).
 */
export function lowWater(rate: number, borrowMs: number, policy: BlockPolicy): number {
  return Math.max(policy.minBlock, Math.ceil((rate * 2 * borrowMs) / 1_000));
}

/**
 * What the coordinator grants. `need` is the hold that is waiting for units (0 for a prefetch,
 * which asks ahead with no hold waiting). Outside the end game: what was wanted, capped at an even
 * share of the pool among the shards still selling, and never less than `need`. In the end game
 * (the pool can no longer give every shard a minimum block): exactly `need`, and nothing for a
 * prefetch, so units recalled for one shard's waiting shopper are not taken back by another
 * shard's prefetch. Nothing when the pool cannot cover `need` (a partial grant would strand units
 * where they cannot serve the hold that asked).
 */
export function grantSize(grant: {
  pool: number;
  need: number;
  want: number;
  activeShards: number;
  endgame: boolean;
}): number {
  const { pool, need, want, activeShards, endgame } = grant;
  if (pool <= 0 || pool < need) return 0;
  if (endgame) return need;
  const share = Math.ceil(pool / Math.max(1, activeShards));
  return Math.min(pool, Math.max(need, 1, Math.min(want, share)));
}
