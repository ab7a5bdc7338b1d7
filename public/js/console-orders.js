// The console's orders: find orders by order number, order id, shopper or payment id, narrowed
// by status and product, newest first; open any order's timeline (reserved, placed, payment
// started, paid or not, refunds); and what each product has earned (revenue and items sold,
// from its counters).

import { RequestError } from "./api.js";
import { SignedOut, admin } from "./console-session.js";
import { $, el, fill, input, messageContent, scrollingTable, select, setBusy } from "./dom.js";
import { count, dateTime, money } from "./format.js";

/** @typedef {import("./api-types.js").Order} Order */
/** @typedef {import("./api-types.js").OrderList} OrderList */
/** @typedef {import("./api-types.js").OrderDetail} OrderDetail */
/** @typedef {import("./api-types.js").TimelineEntry} TimelineEntry */
/** @typedef {import("./console-cards.js").ProductEntry} ProductEntry */

/** An order's status in the operator's words. */
const STATUS_WORDS = {
  pending: "Waiting for payment",
  paid: "Paid",
  failed: "Payment failed",
  cancelled: "Cancelled",
};

/** @type {Record<TimelineEntry["kind"], string>} */
const KIND_WORDS = {
  hold_created: "Reserved",
  order_created: "Order placed",
  payment_attempt: "Payment started",
  paid: "Paid",
  failed: "Payment failed",
  cancelled: "Cancelled",
  expired: "Time to pay ran out",
  refund_created: "Refund due",
  refund_resolved: "Refund resolved",
};

/** The search the "Load more" button continues. */
/** @type {{ query: URLSearchParams, cursor: string | null } | null} */
let last = null;

export function wireOrders() {
  $("#orders-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void searchOrders();
  });
}

/** The search as the form says it, into the query string of GET /api/admin/orders. */
function searchQuery() {
  const query = new URLSearchParams({ limit: "25" });
  const by = select("#orders-by").value;
  const text = input("#orders-query").value.trim();
  if (text) query.set(by, by === "order_number" ? text.toUpperCase() : text);
  const status = select("#orders-status").value;
  if (status) query.set("status", status);
  const product = input("#orders-product").value.trim();
  if (product) query.set("product_id", product);
  return query;
}

/**
 * Run the search (or, with `more`, fetch its next page) and draw the orders found.
 * @param {{ more?: boolean }} [options]
 */
export async function searchOrders({ more = false } = {}) {
  const box = $("#orders");
  const result = $("#orders-result");
  const submit = /** @type {HTMLButtonElement} */ ($('#orders-form button[type="submit"]'));
  const byId = select("#orders-by").value === "order_id" && input("#orders-query").value.trim();
  setBusy(submit, true, "Searching…");
  try {
    /** @type {Order[]} */
    let orders;
    if (byId) {
      // An order id names one order: read it (and open its timeline) rather than list.
      const path = `/api/admin/orders/${encodeURIComponent(byId)}`;
      const detail = /** @type {OrderDetail} */ ((await admin(path)).data);
      orders = [detail.order];
      last = null;
    } else {
      const query = more && last ? last.query : searchQuery();
      if (more && last?.cursor) query.set("cursor", last.cursor);
      const page = /** @type {OrderList} */ ((await admin(`/api/admin/orders?${query}`)).data);
      orders = page.orders;
      query.delete("cursor");
      last = { query, cursor: page.next_cursor };
    }
    drawOrders(box, orders, { more });
    fill(
      result,
      more ? "" : `${count(orders.length)} order${orders.length === 1 ? "" : "s"} found.`,
    );
    if (byId && orders[0]) void toggleTimeline(orders[0].order_id);
  } catch (error) {
    if (error instanceof SignedOut) return;
    if (error instanceof RequestError && error.code === "order_not_found") {
      fill(box, el("p", { class: "empty" }, "No order has that id."));
      fill(result, "0 orders found.");
      return;
    }
    if (!(error instanceof Error)) throw error;
    const failure = error instanceof RequestError ? error : null;
    fill(
      box,
      el(
        "div",
        { class: "notice notice-error" },
        messageContent({ title: error.message, error: failure }),
      ),
    );
  } finally {
    setBusy(submit, false);
  }
}

/**
 * @param {HTMLElement} box
 * @param {Order[]} orders
 * @param {{ more: boolean }} options
 */
function drawOrders(box, orders, { more }) {
  let body = box.querySelector("tbody");
  if (!more || !body) {
    if (orders.length === 0) {
      fill(box, el("p", { class: "empty" }, "No orders match."));
      return;
    }
    body = el("tbody");
    fill(
      box,
      scrollingTable(
        ["Order", "Product", "Items", "Amount", "Status", "Shopper", "Placed", ""],
        body,
      ),
    );
  }
  for (const order of orders) body.append(...orderRows(order));
  box.querySelector(".load-more")?.remove();
  if (last?.cursor) {
    box.append(
      el(
        "button",
        {
          type: "button",
          class: "secondary small load-more",
          onclick: () => void searchOrders({ more: true }),
        },
        "Load more",
      ),
    );
  }
}

/**
 * An order's row, and the row under it that its timeline opens into.
 * @param {Order} order
 */
function orderRows(order) {
  const timelineId = `timeline-${order.order_id}`;
  const toggle = el(
    "button",
    {
      type: "button",
      class: "secondary small",
      "aria-expanded": "false",
      "aria-controls": timelineId,
      "aria-label": `Timeline of order ${order.order_number}`,
      onclick: () => void toggleTimeline(order.order_id),
    },
    "Timeline",
  );
  const row = el(
    "tr",
    { dataset: { orderId: order.order_id } },
    el(
      "td",
      {},
      el("code", { class: "order-number" }, order.order_number),
      el("span", { class: "sub" }, el("code", { title: "order id" }, order.order_id)),
    ),
    el("td", {}, `#${order.product_id}`),
    el("td", { class: "num" }, count(order.qty)),
    el("td", { class: "num" }, money(order.amount_cents, order.currency)),
    el(
      "td",
      {},
      el("span", { class: `pill status-${order.status}` }, STATUS_WORDS[order.status]),
      order.payment_id
        ? el("span", { class: "sub" }, "Payment ", el("code", {}, order.payment_id))
        : null,
    ),
    el("td", {}, order.shopper_id ? el("code", {}, order.shopper_id) : "–"),
    el("td", { class: "date" }, dateTime(order.created_at)),
    el("td", {}, toggle),
  );
  const timeline = el(
    "tr",
    { id: timelineId, class: "timeline-row", hidden: true },
    el("td", { colspan: "8" }),
  );
  return [row, timeline];
}

/**
 * Open (reading it) or close an order's timeline.
 * @param {string} orderId
 */
async function toggleTimeline(orderId) {
  const row = document.getElementById(`timeline-${orderId}`);
  const toggle = $(`tr[data-order-id="${CSS.escape(orderId)}"] button`);
  if (!row) return;
  const cell = $("td", row);
  if (!row.hidden) {
    row.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    return;
  }
  row.hidden = false;
  toggle.setAttribute("aria-expanded", "true");
  fill(cell, el("p", { class: "hint" }, "Reading the timeline…"));
  try {
    const path = `/api/admin/orders/${encodeURIComponent(orderId)}`;
    const detail = /** @type {OrderDetail} */ ((await admin(path)).data);
    fill(
      cell,
      el(
        "ol",
        { class: "timeline", "aria-label": `Timeline of order ${detail.order.order_number}` },
        detail.timeline.map((entry) =>
          el(
            "li",
            { dataset: { kind: entry.kind } },
            el("time", { datetime: entry.at, class: "date" }, dateTime(entry.at)),
            " ",
            el("strong", {}, KIND_WORDS[entry.kind] ?? entry.kind),
            entry.detail ? ` · ${entry.detail}` : "",
          ),
        ),
      ),
    );
  } catch (error) {
    if (error instanceof SignedOut || !(error instanceof Error)) return;
    const failure = error instanceof RequestError ? error : null;
    fill(
      cell,
      el(
        "div",
        { class: "notice notice-error" },
        messageContent({ title: error.message, error: failure }),
      ),
    );
  }
}

/**
 * What each product has earned so far, from its counters: items sold and revenue.
 * @param {Iterable<ProductEntry>} entries
 */
export function renderSalesSummary(entries) {
  const rows = [...entries]
    .filter((e) => e.metrics)
    .map(({ item, metrics }) =>
      el(
        "tr",
        { dataset: { productId: item.id } },
        el("td", {}, `#${item.id} ${item.name}`),
        el(
          "td",
          { class: "num", dataset: { field: "units-sold" } },
          count(metrics?.units_sold ?? 0),
        ),
        el(
          "td",
          { class: "num", dataset: { field: "revenue" } },
          money(metrics?.revenue_cents ?? 0, item.currency),
        ),
      ),
    );
  const box = $("#sales-summary");
  if (rows.length === 0) {
    fill(box);
    return;
  }
  // Redrawn with every counters read; a focus inside it (none: it has no controls) is not lost.
  fill(
    box,
    el("h3", {}, "Sales so far"),
    scrollingTable(["Product", "Items sold", "Revenue"], el("tbody", {}, rows)),
  );
}
