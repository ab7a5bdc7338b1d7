/**
 * A shopper's home shard: a hash of the shopper id, so the per-shopper limit, the shopper's hold
 * Idempotency-Keys and orders all live in one shard and need no coordination. An anonymous
 * shopper (local use only) is homed by the request's Idempotency-Key instead.
 *
 * FNV-1a (32 bits) over the UTF-16 code units: small, fast, and the same in every isolate, which is
 * all routing needs (the hash is not a secret; the limit is enforced per shard regardless).
 */
export function homeShard(key: string, shards: number): number {
  if (shards <= 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}
