// The truth of the sale, as one state the page draws from: whether it has started, ended, sold
// out, or has no unit free right now while others hold some, and so what the Buy control says
// and how many this shopper may still choose. Pure functions of the product, its live stock,
// the clock and what this shopper already has; the server stays the authority on every hold.

/** @typedef {import("./api-types.js").Product} Product */

/**
 * The sale as a whole: `soon` before it starts, `ended` after, `sold_out` when nothing can come
 * back, `waiting` when every unit is held by others (they may come back), else `on`.
 * @typedef {"soon" | "on" | "waiting" | "sold_out" | "ended"} SaleState
 */

/**
 * What the Buy control offers this shopper: the sale's state, or `limit` when they already
 * have as many as one shopper may.
 * @typedef {SaleState | "limit"} BuyState
 */

/**
 * @param {Pick<Product, "sale_starts_at" | "sale_ends_at">} product
 * @param {{ available: number, sold_out?: boolean }} stock
 * @param {number} now server time, ms
 * @returns {SaleState}
 */
export function saleState(product, stock, now) {
  const starts = product.sale_starts_at ? Date.parse(product.sale_starts_at) : null;
  const ends = product.sale_ends_at ? Date.parse(product.sale_ends_at) : null;
  if (ends !== null && ends <= now) return "ended";
  if (starts !== null && starts > now) return "soon";
  if (stock.sold_out) return "sold_out";
  if (stock.available <= 0) return "waiting";
  return "on";
}

/**
 * The Buy control's state and the largest quantity it offers (at least 1, so the picker always
 * shows a number; it is disabled whenever Buy is).
 * @param {object} sale
 * @param {SaleState} sale.state
 * @param {number} sale.available
 * @param {number} sale.limit units one shopper may have
 * @param {number} sale.owned units this shopper has as far as this browser knows
 * @param {number} sale.maxPerHold the API's MAX_QTY_PER_HOLD
 * @returns {{ state: BuyState, maxQty: number }}
 */
export function buyState({ state, available, limit, owned, maxPerHold }) {
  const left = limit - owned;
  if (state === "on" && left <= 0) return { state: "limit", maxQty: 1 };
  const cap = Math.min(maxPerHold, Math.max(1, left), state === "on" ? available : Infinity);
  return { state, maxQty: Math.max(1, cap) };
}

/** The words of the Buy control for each state (the countdown of `soon` is drawn beside them). */
export const BUY_LABELS = /** @type {const} */ ({
  on: "Buy",
  soon: "Coming soon",
  waiting: "Waiting for a unit",
  sold_out: "Sold out",
  ended: "Sale ended",
  limit: "Limit reached",
});

/**
 * 1 → "1st", 2 → "2nd", 3 → "3rd", 11 → "11th", 22 → "22nd".
 * @param {number} n
 */
export function ordinal(n) {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  const suffix = { 1: "st", 2: "nd", 3: "rd" }[n % 10] ?? "th";
  return `${n}${suffix}`;
}

/**
 * "1 item", "2 items".
 * @param {number} n
 */
export function items(n) {
  return n === 1 ? "1 item" : `${n} items`;
}

/**
 * How far along the line a shopper is, 0 to 1, from the place they joined at to the front.
 * @param {number} joinedAt their place when they joined (1 = next)
 * @param {number} position their place now
 */
export function lineProgress(joinedAt, position) {
  if (joinedAt <= 1) return 1;
  return Math.min(1, Math.max(0, (joinedAt - position) / (joinedAt - 1)));
}
