// What the storefront tells the shopper when something did not go their way, in their words.
// Pure functions: each returns { title, detail, tone }; the page adds the request id and shows
// it. `detail` may hold nodes (a live countdown), made by the `countdownTo` the page passes.

import { count, dateTime } from "./format.js";

/** @typedef {import("./dom.js").Child} Child */
/** @typedef {import("./api.js").RequestError} RequestError */

/**
 * What the shopper is told.
 * @typedef {object} Message
 * @property {string} title
 * @property {Child | Child[]} detail
 * @property {"error" | "warning" | "info" | "success"} tone
 */

/** @typedef {(untilMs: number) => HTMLElement} CountdownTo a live countdown node */

/**
 * Sold out: `final` when nothing can come back (no holds, no pending orders, no stock).
 * @param {boolean} final
 * @returns {Message}
 */
export function soldOutMessage(final) {
  return {
    title: "Sold out",
    detail: final
      ? "Every item has been sold."
      : "Every item is sold or in another shopper's basket. If one isn't bought in time it comes back, and this page shows it at once: keep it open.",
    tone: "error",
  };
}

/** @type {Message} */
export const HOLD_EXPIRED = {
  title: "Your hold expired",
  detail:
    "The items went back on sale before the order was placed. Press Buy to try again if any are left.",
  tone: "warning",
};

/** @type {Message} */
export const TURN_PASSED = {
  title: "Your turn has passed",
  detail: "You were let in, but no items were reserved in time. Press Buy to join the line again.",
  tone: "warning",
};

/**
 * Why a hold (or joining the line) failed. `context`: qty asked, the product's per-shopper
 * limit, what is available now and whether it is sold out for good, whether the shopper was
 * admitted from the line, the sale window, and countdownTo(ms) → a live countdown node.
 * @param {RequestError} error
 * @param {{ qty: number, limit: number, available: number, soldOut: boolean, admitted: boolean, startsAt: number | null, endsAt: number | null, countdownTo: CountdownTo }} context
 * @returns {Message}
 */
export function holdErrorMessage(error, context) {
  const { qty, limit, available, soldOut, admitted, startsAt, endsAt, countdownTo } = context;
  switch (error.code) {
    case "insufficient_stock":
      if (admitted) {
        // The admission stays good until it expires; units may come back before then.
        return {
          title: "Nothing free right now",
          detail:
            "It's your turn, but every item is in a basket. Items come back when they aren't bought in time; try again before your turn ends.",
          tone: "warning",
        };
      }
      if (available <= 0) return soldOutMessage(soldOut);
      return {
        title: `Only ${count(available)} left`,
        detail: `You asked for ${qty}. Choose fewer and press Buy again.`,
        tone: "warning",
      };
    case "shopper_limit_reached":
      return {
        title: `Limit reached: ${limit} per shopper`,
        detail:
          qty > 1
            ? `You already have some of this: choose fewer, or none if you have ${limit}.`
            : `You already have ${limit}: that is the most one shopper may buy.`,
        tone: "warning",
      };
    case "sale_not_started":
      return {
        title: "The sale hasn't started yet",
        detail: startsAt
          ? ["It starts in ", countdownTo(startsAt), `, at ${dateTime(startsAt)}.`]
          : error.message,
        tone: "info",
      };
    case "sale_ended":
      return {
        title: "This sale has ended",
        detail: endsAt ? `It ended at ${dateTime(endsAt)}.` : error.message,
        tone: "error",
      };
    case "admission_required":
      // The operator turned the line on after this page loaded.
      return {
        title: "This sale has a line now",
        detail: "Press Buy again to take your place in it.",
        tone: "info",
      };
    case "invalid_admission":
    case "admission_used":
      return { ...TURN_PASSED, detail: "Press Buy to join the line again." };
    case "queue_disabled":
      return {
        title: "The line is closed",
        detail: "This sale no longer has a line. Press Buy to reserve your items directly.",
        tone: "info",
      };
    case "product_not_found":
      return {
        title: "This product is gone",
        detail: "It is no longer on sale.",
        tone: "error",
      };
    default:
      return errorMessage(error, context);
  }
}

/**
 * Any other API error: the ones a shopper can act on are explained, the rest shown as sent.
 * @param {RequestError} error
 * @param {{ countdownTo?: CountdownTo, retryAt?: number | null }} [context]
 * @returns {Message}
 */
export function errorMessage(error, { countdownTo, retryAt } = {}) {
  switch (error.code) {
    case "network_error":
      return { title: "You seem to be offline", detail: error.message, tone: "error" };
    case "service_unavailable":
      return {
        title: "The shop is very busy",
        detail: "Please try again in a moment.",
        tone: "error",
      };
    case "rate_limited":
      return {
        title: "Too many tries",
        detail:
          countdownTo && retryAt
            ? ["Please wait ", countdownTo(retryAt), " and try again."]
            : "Please wait a moment and try again.",
        tone: "warning",
      };
    case "shopper_token_required":
      return {
        title: "Sign in first",
        detail: "Paste your shopper token, then try again.",
        tone: "warning",
      };
    case "invalid_shopper_token":
      return {
        title: "Your shopper token was refused",
        detail: "It may have expired. Paste a new one, then try again.",
        tone: "error",
      };
    case "payments_not_configured":
      return {
        title: "Payment is not set up",
        detail:
          "This shop can't take payments yet. If the order isn't paid in time, it is cancelled by itself and nothing is charged.",
        tone: "warning",
      };
    case "payments_misconfigured":
      return {
        title: "Payment is not available right now",
        detail:
          "The shop's payment settings need fixing. Nothing was charged; please try again later.",
        tone: "warning",
      };
    case "checkout_too_late":
      return {
        title: "Too late to pay online",
        detail:
          "The time to pay this order is nearly over. If it isn't paid, it is cancelled by itself and nothing is charged.",
        tone: "warning",
      };
    case "not_your_hold":
    case "not_your_order":
      return {
        title: "This belongs to someone else",
        detail: "It was started by another shopper. Reload the page to start your own.",
        tone: "error",
      };
    default:
      return { title: "That didn't work", detail: error.message, tone: "error" };
  }
}

/**
 * The end of a purchase: paid, failed, or cancelled (by the shopper here, or because its time to
 * pay ran out). `next` says what happens now.
 * @param {string} step
 * @param {{ cancelledHere: boolean }} how
 * @returns {{ title: string, detail: string, next: string }}
 */
export function doneMessage(step, { cancelledHere }) {
  switch (step) {
    case "paid":
      return {
        title: "Paid. Thank you!",
        detail: "Your order is confirmed. Here is your receipt.",
        next: "What happens next: your items are set aside for you and the shop prepares your order. Keep this receipt; if you contact the shop, give it the support code.",
      };
    case "failed":
      return {
        title: "Payment failed",
        detail: "Nothing was charged, and the items went back on sale.",
        next: "You can try again if any are left.",
      };
    default:
      return cancelledHere
        ? {
            title: "You cancelled this order",
            detail: "Nothing was charged, and the items went back on sale.",
            next: "You can buy again while any are left.",
          }
        : {
            title: "Not paid in time",
            detail:
              "The time to pay ran out, so the order was cancelled and its items went back on sale. Nothing was charged.",
            next: "You can buy again while any are left.",
          };
  }
}
