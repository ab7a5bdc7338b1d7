/**
 * Hold and order ids carry their product id, so the router sends a request about a hold or an
 * order to the right product object without looking anything up: `hld_<product>_<random>`,
 * `ord_<product>_<random>`.
 */
const HOLD_ID = /^hld_([1-9][0-9]{0,9})_[0-9a-f]{32}$/;
const ORDER_ID = /^ord_([1-9][0-9]{0,9})_[0-9a-f]{32}$/;
const REFUND_ID = /^rfd_([1-9][0-9]{0,9})_[0-9a-f]{32}$/;

function random(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

export function newHoldId(productId: number): string {
  return `hld_${productId}_${random()}`;
}

export function newOrderId(productId: number): string {
  return `ord_${productId}_${random()}`;
}

export function newRefundId(productId: number): string {
  return `rfd_${productId}_${random()}`;
}

function productIn(pattern: RegExp, id: string): number | null {
  const match = pattern.exec(id);
  return match ? Number(match[1]) : null;
}

/** The product a hold id belongs to, or null when it cannot be a hold id at all. */
export const productOfHold = (holdId: string): number | null => productIn(HOLD_ID, holdId);

/** The product an order id belongs to, or null when it cannot be an order id at all. */
export const productOfOrder = (orderId: string): number | null => productIn(ORDER_ID, orderId);

/** The product a refund id belongs to, or null when it cannot be a refund id at all. */
export const productOfRefund = (refundId: string): number | null => productIn(REFUND_ID, refundId);

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
