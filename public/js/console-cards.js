// The product cards of the console: one per product, the sale's state and live figures first,
// a chart of the last minutes, then baskets (holds), orders, the line (queue), refunds due,
// history not saved (dead letters) and the consistency (invariant) check: plain names on the
// page, the technical name of each as its tooltip. Built once per product and updated in place,
// so a focused button keeps its focus while the numbers move.

import { serverNow } from "./api.js";
import { $, el, fill, input } from "./dom.js";
import { count, countdown, money, timeOfDay } from "./format.js";
import { SaleChart } from "./sale-chart.js";
import { saleState } from "./storefront-sale.js";

/** @typedef {import("./api-types.js").CatalogueItem} CatalogueItem */
/** @typedef {import("./api-types.js").Product} Product */
/** @typedef {import("./api-types.js").ProductMetrics} ProductMetrics */
/** @typedef {import("./api-types.js").DeadLetter} DeadLetter */
/** @typedef {import("./live.js").LiveFeed} LiveFeed */

/**
 * A dead letter and the object that keeps it: `shard` null for the product's own object, k for
 * shard k of a sharded product (its list and Retry then take `?shard=k`).
 * @typedef {DeadLetter & { shard: number | null }} KeptDeadLetter
 */

/**
 * One product in the console.
 * @typedef {object} ProductEntry
 * @property {CatalogueItem} item the catalogue row
 * @property {Product | null} product the public read (it has the queue's rates)
 * @property {(Pick<Product, "stock" | "reserved" | "available"> & { sold_out?: boolean }) | null} stock the live frame
 * @property {ProductMetrics | null} metrics
 * @property {(ProductMetrics["invariants"] & { at: string }) | null} full the last full check
 * @property {LiveFeed | null} feed
 * @property {{ count: number | undefined, list: KeptDeadLetter[] } | null} deadLetters
 * @property {ReturnType<typeof setTimeout> | undefined} timer
 * @property {HTMLElement} card
 * @property {Record<string, HTMLElement>} cells
 * @property {SaleChart} chart
 */

/**
 * One card per product, built once; renderCard() updates its text in place (focus stays).
 * @param {Omit<ProductEntry, "card" | "cells" | "chart">} entry
 * @param {(id: number) => void} onManage
 */
export function buildCard(entry, onManage) {
  const id = entry.item.id;
  /** @type {Record<string, HTMLElement>} */
  const cells = {};
  /**
   * A row: its plain name, and the technical name (the metric's) as a tooltip.
   * @param {string} label
   * @param {string} name
   * @param {string} [technical]
   */
  const row = (label, name, technical) =>
    el(
      "div",
      { class: "card-row" },
      el("dt", {}, technical ? el("span", { title: technical }, label) : label),
      (cells[name] = el("dd", { dataset: { field: name } })),
    );
  /** @param {string} label @param {string} name @param {string} technical */
  const figure = (label, name, technical) =>
    el(
      "div",
      { class: "figure" },
      el("dt", {}, el("span", { title: technical }, label)),
      (cells[name] = el("dd", { class: "figure-value", dataset: { field: name } })),
    );
  cells.title = el("h2", { id: `product-${id}-title`, class: "card-title" });
  cells.subtitle = el("p", { class: "sub" });
  cells.state = el("span", { class: "pill sale-state", dataset: { field: "state" } });
  cells.invariants = el("div", { class: "card-invariants" });
  const chart = new SaleChart();
  const manage = el(
    "button",
    {
      type: "button",
      class: "secondary small",
      "aria-controls": "detail",
      "aria-expanded": "false",
      "aria-describedby": `product-${id}-title`,
      onclick: () => onManage(id),
    },
    "Manage",
  );
  const card = el(
    "article",
    { class: "product-card", "aria-labelledby": `product-${id}-title`, dataset: { productId: id } },
    el(
      "div",
      { class: "card-head" },
      el("div", {}, cells.title, cells.subtitle, cells.state),
      cells.invariants,
    ),
    el(
      "dl",
      { class: "figures" },
      figure("free", "available", "available"),
      figure("in baskets", "reserved", "reserved: active holds and pending orders"),
      figure("sold", "sold", "sold"),
      figure("in stock", "stock", "stock"),
    ),
    chart.root,
    el(
      "dl",
      { class: "card-rows" },
      row("Baskets", "holds", "holds"),
      row("Orders", "orders"),
      row("Line", "queue", "queue"),
      row("Refunds due", "refunds"),
      row("History not saved", "dead", "dead letters: history events D1 refused"),
    ),
    el("div", { class: "card-actions" }, manage),
  );
  return { card, cells, chart };
}

const dash = "–";

/** The sale's state on a card, in words an operator reads at a glance. */
const STATE_WORDS = {
  soon: "Scheduled",
  on: "Live",
  waiting: "Live · all in baskets",
  sold_out: "Sold out",
  ended: "Ended",
};

/**
 * The sale's state pill: "Scheduled · starts in 02:59", "Live", "Sold out", "Ended". The
 * console's clock calls this every second for the countdown.
 * @param {ProductEntry} entry
 */
export function renderSaleState(entry) {
  const { item, stock, cells } = entry;
  if (!stock) return;
  const now = serverNow();
  const state = saleState(entry.product ?? item, stock, now);
  const starts = item.sale_starts_at ? Date.parse(item.sale_starts_at) : 0;
  const text =
    state === "soon" ? `Scheduled · starts in ${countdown(starts - now)}` : STATE_WORDS[state];
  if (cells.state.textContent !== text) cells.state.textContent = text;
  cells.state.dataset.state = state;
}

/**
 * @param {ProductEntry} entry
 * @param {boolean} selected
 */
export function renderCard(entry, selected) {
  const { item, stock, metrics: m, cells } = entry;
  if (!cells) return;
  cells.title.textContent = `#${item.id} ${item.name}`;
  const queueOn = entry.product?.queue.enabled ?? item.queue_enabled;
  cells.subtitle.textContent = `${money(item.price_cents, item.currency)}${queueOn ? " · with a line" : ""}`;
  cells.available.textContent = stock ? count(stock.available) : dash;
  cells.reserved.textContent = stock ? count(stock.reserved) : dash;
  cells.stock.textContent = stock ? count(stock.stock) : dash;
  cells.sold.textContent = m ? count(m.sold) : dash;
  renderSaleState(entry);
  if (m) {
    const h = m.holds;
    const o = m.orders;
    cells.holds.textContent = `${count(h.active)} now · ${count(h.ordered)} became orders · ${count(h.expired)} ran out · ${count(h.released)} removed`;
    cells.orders.textContent = `${count(o.pending)} waiting for payment · ${count(o.paid)} paid · ${count(o.failed)} failed · ${count(o.cancelled)} cancelled`;
    cells.queue.textContent = m.queue.enabled
      ? `On: ${count(m.queue.waiting)} waiting · ${count(m.queue.issued)} joined · ${count(m.queue.admitted_unused)} let in, not yet buying`
      : m.queue.issued
        ? `Off (${count(m.queue.issued)} joined while it was on)`
        : "Off";
    fill(cells.refunds, emphasise(m.refunds.due));
    fill(cells.dead, emphasise(m.history_dead_letters));
    fill(cells.invariants, ...invariantView(entry));
  }
  entry.card.classList.toggle("is-selected", selected);
  entry.card.querySelector(".card-actions button")?.setAttribute("aria-expanded", String(selected));
}

/**
 * Add the latest figures to the card's chart (after a live frame or a counters read).
 * @param {ProductEntry} entry
 */
export function sampleSale(entry) {
  const { stock, metrics: m } = entry;
  if (!stock || !m) return;
  const h = m.holds;
  entry.chart.add({
    at: Date.now(),
    sold: m.sold,
    held: stock.reserved,
    queue: m.queue.waiting,
    holdsMade: h.active + h.ordered + h.expired + h.released,
  });
}

/**
 * Show the cards whose "#id name" contains what is typed in "Find a product".
 * @param {Map<number, ProductEntry>} products
 */
export function applyFilter(products) {
  const query = input("#filter").value.trim().toLowerCase().replace(/^#/, "");
  let shown = 0;
  for (const entry of products.values()) {
    const text = `${entry.item.id} ${entry.item.name}`.toLowerCase();
    const match = query === "" || text.includes(query);
    entry.card.hidden = !match;
    if (match) shown += 1;
  }
  const total = products.size;
  $("#filter-count").textContent =
    query === ""
      ? `${count(total)} product${total === 1 ? "" : "s"}`
      : `${count(shown)} of ${count(total)} products match`;
}

/**
 * A count that needs an operator (refunds due, dead letters) stands out when it is not 0.
 * @param {number} n
 */
function emphasise(n) {
  return n > 0 ? el("span", { class: "pill pill-warn" }, count(n)) : count(n);
}

/**
 * The invariant check as a pill and when it was made: counters every read, full on demand.
 * @param {ProductEntry} entry
 */
export function invariantView(entry) {
  const counters = entry.metrics?.invariants;
  const full = entry.full;
  const ok = (counters?.ok ?? true) && (full?.ok ?? true);
  const violations = [
    ...(counters?.violations ?? []),
    ...(full && !full.ok ? full.violations : []),
  ];
  return [
    el(
      "span",
      { class: `pill ${ok ? "pill-ok" : "pill-bad"}`, title: "invariants" },
      ok ? "OK" : `${violations.length} violation${violations.length === 1 ? "" : "s"}`,
    ),
    el("span", { class: "sub" }, full ? `full check ${timeOfDay(full.at)}` : "quick check"),
  ];
}
