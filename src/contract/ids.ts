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
