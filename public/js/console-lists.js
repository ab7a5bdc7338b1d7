// The console's two work lists: refunds due (every product, newest first, from D1) with Resolve,
// and a product's dead letters (history events D1 refused) with Retry.

import { RequestError } from "./api.js";
import { $, el, fill, messageContent, requestIdLine, scrollingTable, setBusy } from "./dom.js";
import { dateTime, money } from "./format.js";
import { SignedOut, admin } from "./console-session.js";

/** @typedef {import("./api-types.js").Refund} Refund */
/** @typedef {import("./api-types.js").RefundList} RefundList */
/** @typedef {import("./api-types.js").DeadLetter} DeadLetter */
/** @typedef {import("./api-types.js").DeadLetterList} DeadLetterList */
/** @typedef {import("./console-cards.js").ProductEntry} ProductEntry */

/**
 * Where the refunds list's next page starts (null: no more).
 * @type {string | null}
 */
let refundsCursor = null;

export function resetRefunds() {
  refundsCursor = null;
}

// ---------------------------------------------------------------- dead letters

/**
 * A product's dead letters, into #dead-letters, unless isCurrent(entry) says the operator has
 * moved on to another product meanwhile. changed(entry) after a Retry.
 * @param {ProductEntry} entry
 * @param {{ isCurrent: (entry: ProductEntry) => boolean, changed: (entry: ProductEntry) => void }} hooks
 */
export async function loadDeadLetters(entry, { isCurrent, changed }) {
  const id = entry.item.id;
  const box = $("#dead-letters");
  try {
    const answer = await admin(`/api/admin/products/${id}/dead-letters`);
    const data = /** @type {DeadLetterList} */ (answer.data);
    entry.deadLetters = { count: entry.metrics?.history_dead_letters, list: data.dead_letters };
    if (!isCurrent(entry)) return;
    if (data.dead_letters.length === 0) {
      fill(box, el("p", { class: "empty" }, "None: the order history flows to D1."));
      return;
    }
    fill(
      box,
      scrollingTable(
        ["Seq", "Event", "Order", "Attempts", "Error", "Failed at", ""],
        el(
          "tbody",
          {},
          data.dead_letters.map((letter) => deadLetterRow(entry, letter, changed)),
        ),
      ),
      data.next_cursor
        ? el("p", { class: "hint" }, "More dead letters follow: retry these first.")
        : null,
    );
  } catch (error) {
    showFailure(box, error);
  }
}

/**
 * A list that could not be read says why, in its own box.
 * @param {HTMLElement} box
 * @param {unknown} error
 */
function showFailure(box, error) {
  if (error instanceof SignedOut || !(error instanceof Error)) return;
  const message = messageContent({ title: error.message, error: asRequestError(error) });
  fill(box, el("div", { class: "notice notice-error" }, message));
}

/**
 * The RequestError behind a failure, if it was one (its request id is shown).
 * @param {unknown} error
 */
function asRequestError(error) {
  return error instanceof RequestError ? error : null;
}

/**
 * @param {ProductEntry} entry
 * @param {DeadLetter} letter
 * @param {(entry: ProductEntry) => void} changed
 */
function deadLetterRow(entry, letter, changed) {
  const result = el("span", { class: "form-result", role: "status" });
  const retry = el(
    "button",
    {
      type: "button",
      class: "secondary small",
      "aria-label": `Retry dead letter ${letter.seq}`,
      async onclick() {
        setBusy(retry, true, "Retrying…");
        try {
          await admin(`/api/admin/products/${entry.item.id}/dead-letters/${letter.seq}/retry`, {
            method: "POST",
          });
          fill(result, "Queued again.");
          retry.remove();
          changed(entry);
        } catch (error) {
          setBusy(retry, false);
          if (!(error instanceof SignedOut) && error instanceof Error) {
            fill(result, error.message, requestIdLine(asRequestError(error)?.requestId));
          }
        }
      },
    },
    "Retry",
  );
  return el(
    "tr",
    {},
    el("td", { class: "num" }, String(letter.seq)),
    el("td", {}, letter.event),
    el("td", {}, el("code", {}, letter.order_id)),
    el("td", { class: "num" }, String(letter.attempts)),
    el("td", {}, letter.error),
    el("td", {}, dateTime(letter.failed_at)),
    el("td", {}, retry, result),
  );
}

// ---------------------------------------------------------------- refunds

/**
 * The refunds due, into #refunds; `more` appends the next page. resolved(refund) after Resolve.
 * @param {{ more?: boolean, resolved: (refund: Refund) => void }} options
 * @returns {Promise<void>}
 */
export async function loadRefunds({ more = false, resolved }) {
  const box = $("#refunds");
  const query = new URLSearchParams({ status: "due" });
  if (more && refundsCursor) query.set("cursor", refundsCursor);
  /** @type {RefundList} */
  let data;
  try {
    data = /** @type {RefundList} */ ((await admin(`/api/admin/refunds?${query}`)).data);
  } catch (error) {
    showFailure(box, error);
    return;
  }
  refundsCursor = data.next_cursor;
  // A resolve in progress (a note being typed) must not be wiped by the 15-second refresh.
  if (!more && box.contains(document.activeElement)) return;
  let body = box.querySelector("tbody");
  if (!more || !body) {
    if (data.refunds.length === 0) {
      fill(box, el("p", { class: "empty" }, "No refunds due."));
      return;
    }
    body = el("tbody");
    fill(
      box,
      scrollingTable(
        ["Refund", "Product", "Amount", "Reason", "Payment", "Since", "Resolve"],
        body,
      ),
    );
  }
  body.append(...data.refunds.map((refund) => refundRow(refund, resolved)));
  box.querySelector(".load-more")?.remove();
  if (refundsCursor) {
    box.append(
      el(
        "button",
        {
          type: "button",
          class: "secondary small load-more",
          onclick: () => void loadRefunds({ more: true, resolved }),
        },
        "Load more",
      ),
    );
  }
}

/** @type {Record<Refund["reason"], string>} */
const REASONS = {
  late_payment: "Late payment",
  double_charge: "Second charge",
  amount_mismatch: "Wrong amount",
};

/**
 * @param {Refund} refund
 * @param {(refund: Refund) => void} resolved
 */
function refundRow(refund, resolved) {
  const noteId = `note-${refund.refund_id}`;
  const note = el("input", {
    id: noteId,
    type: "text",
    class: "note-input",
    maxlength: 1000,
    placeholder: "Gateway refund id",
  });
  const result = el("span", { class: "form-result", role: "status" });
  const resolve = el(
    "button",
    {
      type: "button",
      class: "secondary small",
      async onclick() {
        setBusy(resolve, true, "Resolving…");
        try {
          const body = note.value.trim() ? { note: note.value.trim() } : {};
          await admin(`/api/admin/refunds/${encodeURIComponent(refund.refund_id)}/resolve`, {
            method: "POST",
            body,
          });
          fill(cell, el("span", { class: "pill pill-ok" }, "Resolved"));
          resolved(refund);
        } catch (error) {
          setBusy(resolve, false);
          if (!(error instanceof SignedOut) && error instanceof Error)
            fill(result, error.message, requestIdLine(asRequestError(error)?.requestId));
        }
      },
    },
    "Resolve",
  );
  const cell = el(
    "td",
    {},
    el("label", { for: noteId, class: "visually-hidden" }, `Note for refund ${refund.refund_id}`),
    el("div", { class: "inline-controls" }, note, resolve),
    result,
  );
  return el(
    "tr",
    {},
    el("td", {}, el("code", {}, refund.refund_id), el("span", { class: "sub" }, refund.order_id)),
    el("td", {}, `#${refund.product_id}`),
    el("td", { class: "num" }, money(refund.amount_cents, refund.currency)),
    el("td", {}, REASONS[refund.reason] ?? refund.reason),
    el("td", {}, refund.payment_id ? el("code", {}, refund.payment_id) : "–"),
    el("td", {}, dateTime(refund.created_at)),
    cell,
  );
}
