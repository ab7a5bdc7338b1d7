// The console's two work lists: refunds, due or resolved (every product, newest first, from D1)
// with Resolve, and a product's history not saved (dead letters: events D1 refused) with Retry,
// on a sharded product also those its shards keep.

import { RequestError } from "./api.js";
import { confirmAction } from "./console-confirm.js";
import {
  $,
  el,
  fill,
  messageContent,
  requestIdLine,
  scrollingTable,
  select,
  setBusy,
} from "./dom.js";
import { dateTime, money } from "./format.js";
import { SignedOut, admin } from "./console-session.js";

/** @typedef {import("./api-types.js").Refund} Refund */
/** @typedef {import("./api-types.js").RefundList} RefundList */
/** @typedef {import("./api-types.js").DeadLetterList} DeadLetterList */
/** @typedef {import("./console-cards.js").ProductEntry} ProductEntry */
/** @typedef {import("./console-cards.js").KeptDeadLetter} KeptDeadLetter */

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
 * The objects that keep the product's dead letters to list: its own (null), and each shard the
 * metrics count some on (k). Each shard copies its own orders to D1 and keeps what D1 refused.
 * @param {ProductEntry} entry
 * @returns {(number | null)[]}
 */
function deadLetterKeepers(entry) {
  const shards = entry.metrics?.shards?.per_shard ?? [];
  return [null, ...shards.filter((s) => s.dead_letters > 0).map((s) => s.shard)];
}

/**
 * The query that sends a dead-letter route to shard k's object ("" for the product's own).
 * @param {number | null} shard
 */
const shardQuery = (shard) => (shard === null ? "" : `?shard=${shard}`);

/**
 * A product's dead letters, into #dead-letters, unless isCurrent(entry) says the operator has
 * moved on to another product meanwhile: its own object's, then those of each shard whose
 * metrics count some (with a Shard column). changed(entry) after a Retry.
 * @param {ProductEntry} entry
 * @param {{ isCurrent: (entry: ProductEntry) => boolean, changed: (entry: ProductEntry) => void }} hooks
 */
export async function loadDeadLetters(entry, { isCurrent, changed }) {
  const id = entry.item.id;
  const box = $("#dead-letters");
  const keepers = deadLetterKeepers(entry);
  try {
    const pages = await Promise.all(
      keepers.map(async (shard) => {
        const answer = await admin(`/api/admin/products/${id}/dead-letters${shardQuery(shard)}`);
        return { shard, data: /** @type {DeadLetterList} */ (answer.data) };
      }),
    );
    /** @type {KeptDeadLetter[]} */
    const list = pages.flatMap(({ shard, data }) =>
      data.dead_letters.map((letter) => ({ ...letter, shard })),
    );
    entry.deadLetters = { count: entry.metrics?.history_dead_letters, list };
    if (!isCurrent(entry)) return;
    if (list.length === 0) {
      fill(box, el("p", { class: "empty" }, "None: the order history flows to D1."));
      return;
    }
    // Which object keeps a letter matters only once shards are listed too.
    const sharded = keepers.length > 1;
    const headers = ["Seq", "Event", "Order", "Attempts", "Error", "Failed at", ""];
    fill(
      box,
      scrollingTable(
        sharded ? ["Shard", ...headers] : headers,
        el(
          "tbody",
          {},
          list.map((letter) => deadLetterRow(entry, letter, changed, sharded)),
        ),
      ),
      pages.some(({ data }) => data.next_cursor)
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
 * A dead letter's row, with Retry, which puts it back in the outbox of the object that keeps it.
 * `sharded`: the list shows shards' letters too, so the row starts with its shard (seqs are each
 * object's own, so two rows may share one).
 * @param {ProductEntry} entry
 * @param {KeptDeadLetter} letter
 * @param {(entry: ProductEntry) => void} changed
 * @param {boolean} sharded
 */
function deadLetterRow(entry, letter, changed, sharded) {
  const { shard } = letter;
  const of = shard === null ? "" : ` of shard ${shard}`;
  const result = el("span", { class: "form-result", role: "status" });
  const retry = el(
    "button",
    {
      type: "button",
      class: "secondary small",
      "aria-label": `Retry dead letter ${letter.seq}${of}`,
      async onclick() {
        setBusy(retry, true, "Retrying…");
        try {
          const path = `/api/admin/products/${entry.item.id}/dead-letters/${letter.seq}/retry`;
          await admin(`${path}${shardQuery(shard)}`, { method: "POST" });
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
    sharded
      ? el(
          "td",
          {},
          shard === null ? el("span", { title: "the product's own object" }, "–") : String(shard),
        )
      : null,
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
 * The refunds due or resolved (as #refunds-status says), into #refunds; `more` appends the next
 * page. resolved(refund) after a Resolve.
 * @param {{ more?: boolean, resolved: (refund: Refund) => void }} options
 * @returns {Promise<void>}
 */
export async function loadRefunds({ more = false, resolved }) {
  const box = $("#refunds");
  const status = select("#refunds-status").value === "resolved" ? "resolved" : "due";
  const query = new URLSearchParams({ status });
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
  // A resolve in progress (a note being typed, the confirmation open) must not be wiped by the
  // 15-second refresh.
  const working = box.contains(document.activeElement) || $("#confirm").hasAttribute("open");
  if (!more && working) return;
  let body = box.querySelector("tbody");
  if (!more || !body) {
    if (data.refunds.length === 0) {
      fill(
        box,
        el("p", { class: "empty" }, status === "due" ? "No refunds due." : "None resolved yet."),
      );
      return;
    }
    body = el("tbody");
    const last = status === "due" ? "Resolve with a note" : "Resolved";
    fill(box, scrollingTable(["Refund", "Amount", "Why", "Since", last], body));
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
  late_payment: "Paid after the order closed",
  double_charge: "Charged twice",
  amount_mismatch: "Charged the wrong amount",
};

/**
 * A refund's row: what it is for (product, order, the payment to return) and, while it is due,
 * a note (required: what was done at the provider) and Resolve, which asks first.
 * @param {Refund} refund
 * @param {(refund: Refund) => void} resolved
 */
function refundRow(refund, resolved) {
  const what = el(
    "td",
    {},
    el("code", {}, refund.refund_id),
    el(
      "span",
      { class: "sub" },
      `Product #${refund.product_id} · order `,
      el("code", {}, refund.order_id),
    ),
    el(
      "span",
      { class: "sub" },
      "Payment ",
      refund.payment_id ? el("code", {}, refund.payment_id) : "–",
    ),
  );
  const cells = [
    what,
    el("td", { class: "num" }, money(refund.amount_cents, refund.currency)),
    el("td", {}, REASONS[refund.reason] ?? refund.reason),
    el("td", { class: "date" }, dateTime(refund.created_at)),
  ];
  if (refund.status === "resolved") {
    const when = refund.resolved_at ? dateTime(refund.resolved_at) : "";
    cells.push(
      el(
        "td",
        {},
        el("span", { class: "date" }, when),
        el("span", { class: "sub" }, refund.note ?? ""),
      ),
    );
    return el("tr", {}, cells);
  }
  cells.push(resolveCell(refund, resolved));
  return el("tr", {}, cells);
}

/**
 * @param {Refund} refund
 * @param {(refund: Refund) => void} resolved
 */
function resolveCell(refund, resolved) {
  const noteId = `note-${refund.refund_id}`;
  const note = el("input", {
    id: noteId,
    type: "text",
    class: "note-input",
    maxlength: 1000,
    required: true,
    placeholder: "Provider's refund id",
  });
  const result = el("span", { class: "form-result", role: "status" });
  const resolve = el("button", { type: "submit", class: "secondary small" }, "Resolve…");
  const form = el(
    "form",
    { class: "resolve-form" },
    el("label", { for: noteId, class: "visually-hidden" }, `Note for refund ${refund.refund_id}`),
    el("div", { class: "inline-controls" }, note, resolve),
    result,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = note.value.trim();
    if (!text) {
      fill(result, "Write what was done at the payment provider first.");
      note.focus();
      return;
    }
    const amount = money(refund.amount_cents, refund.currency);
    const sure = await confirmAction({
      title: `Resolve refund ${refund.refund_id}?`,
      body: `Only when ${amount} is back with the shopper. The note is kept with it: "${text}".`,
      confirm: "Resolve",
    });
    if (!sure) return;
    setBusy(resolve, true, "Resolving…");
    try {
      await admin(`/api/admin/refunds/${encodeURIComponent(refund.refund_id)}/resolve`, {
        method: "POST",
        body: { note: text },
      });
      fill(
        form,
        el("span", { class: "pill pill-ok" }, "Resolved"),
        el("span", { class: "sub" }, text),
      );
      resolved(refund);
    } catch (error) {
      setBusy(resolve, false);
      if (!(error instanceof SignedOut) && error instanceof Error)
        fill(result, error.message, requestIdLine(asRequestError(error)?.requestId));
    }
  });
  return el("td", { class: "resolve" }, form);
}
