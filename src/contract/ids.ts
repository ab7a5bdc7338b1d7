/**
 * Hold, order and refund ids carry their product id, and the shard that keeps them, so the router
 * sends a request about one to the right object without looking anything up:
 * `hld_<product>_<random>` on the product's own object (every product with `shards: 1`, and every
 * id made before shards existed), `hld_<product>-<k>_<random>` on shard k (0 to 255) of a sharded
 * product; the same for `ord_` and `rfd_`.
 */
const HOLD_ID = /^hld_([1-9][0-9]{0,9})(?:-(0|[1-9][0-9]{0,2}))?_[0-9a-f]{32}$/;
const ORDER_ID = /^ord_([1-9][0-9]{0,9})(?:-(0|[1-9][0-9]{0,2}))?_[0-9a-f]{32}$/;
const REFUND_ID = /^rfd_([1-9][0-9]{0,9})(?:-(0|[1-9][0-9]{0,2}))?_[0-9a-f]{32}$/;

/** Shards of one product: 0 to MAX_SHARDS - 1. */
export const MAX_SHARDS = 256;

function random(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/** `<product>` on the product's own object, `<product>-<k>` on its shard k. */
function owner(productId: number, shard: number | null = null): string {
  return shard === null ? String(productId) : `${productId}-${shard}`;
}

export function newHoldId(productId: number, shard: number | null = null): string {
  return `hld_${owner(productId, shard)}_${random()}`;
}

export function newOrderId(productId: number, shard: number | null = null): string {
  return `ord_${owner(productId, shard)}_${random()}`;
}

export function newRefundId(productId: number, shard: number | null = null): string {
  return `rfd_${owner(productId, shard)}_${random()}`;
}

/** Where an id's record lives: its product, and the shard (null: the product's own object). */
export interface IdOwner {
  productId: number;
  shard: number | null;
}

function ownerIn(pattern: RegExp, id: string): IdOwner | null {
  const match = pattern.exec(id);
  if (!match) return null;
  const shard = match[2] === undefined ? null : Number(match[2]);
  if (shard !== null && shard >= MAX_SHARDS) return null;
  return { productId: Number(match[1]), shard };
}

export const ownerOfHold = (holdId: string): IdOwner | null => ownerIn(HOLD_ID, holdId);
export const ownerOfOrder = (orderId: string): IdOwner | null => ownerIn(ORDER_ID, orderId);
export const ownerOfRefund = (refundId: string): IdOwner | null => ownerIn(REFUND_ID, refundId);

/** The name of the object that keeps shard k of a product (the same class as the product's). */
export function shardName(productId: number, shard: number): string {
  return `${productId}:${shard}`;
}

/** Crockford's base32: no I, L, O or U, so a number read aloud or retyped is not misread. */
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ORDER_RANDOM = /_([0-9a-f]{32})$/;

/**
 * The order's number for humans (receipts, support calls): 8 Crockford base32 characters, the
 * first 40 random bits of its id. Deterministic, so it needs no storage; not unique across all
 * time (two orders share one once in about a million for a million orders), so a search by
 * number may find more than one order: the order id is the one that is unique.
 */
export function orderNumber(orderId: string): string {
  const random = ORDER_RANDOM.exec(orderId)?.[1];
  if (!random) throw new Error(`not an order id: ${orderId}`);
  let bits = BigInt(`0x${random.slice(0, 10)}`);
  let number = "";
  for (let i = 0; i < 8; i++) {
    number = CROCKFORD[Number(bits & 31n)]! + number;
    bits >>= 5n;
  }
  return number;
}

/**
 * What an order number says of its order id: the first 10 hex digits of its random part; null
 * when it cannot be one. Read as Crockford allows: any case, I and L as 1, O as 0, hyphens ignored.
 */
export function orderIdPrefixOf(number: string): string | null {
  const clean = number.replaceAll("-", "").toUpperCase().replace(/[IL]/g, "1").replaceAll("O", "0");
  if (!/^[0-9A-HJKMNP-TV-Z]{8}$/.test(clean)) return null;
  let bits = 0n;
  for (const char of clean) bits = (bits << 5n) | BigInt(CROCKFORD.indexOf(char));
  return bits.toString(16).padStart(10, "0");
}
