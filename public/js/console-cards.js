// The product cards of the console: one per product, the live figures first, then holds, orders,
// queue, refunds due, dead letters and the invariant check. Built once per product and updated in
// place, so a focused button keeps its focus while the numbers move.
//
// An entry is { item (catalogue row), product (public read), stock (live frame), metrics, full
// (the last full invariant check), card, cells }.

import { $, el, fill, input } from "./dom.js";
import { count, money, timeOfDay } from "./format.js";

/** @typedef {import("./api-types.js").CatalogueItem} CatalogueItem */
/** @typedef {import("./api-types.js").Product} Product */
/** @typedef {import("./api-types.js").ProductMetrics} ProductMetrics */
/** @typedef {import("./api-types.js").DeadLetter} DeadLetter */
/** @typedef {import("./live.js").LiveFeed} LiveFeed */

/**
 * One product in the console.
 * @typedef {object} ProductEntry
 * @property {CatalogueItem} item the catalogue row
 * @property {Product | null} product the public read (it has the queue's rates)
 * @property {(Pick<Product, "stock" | "reserved" | "available"> & { sold_out?: boolean }) | null} stock the live frame
 * @property {ProductMetrics | null} metrics
 * @property {(ProductMetrics["invariants"] & { at: string }) | null} full the last full check
 * @property {LiveFeed | null} feed
 * @property {{ count: number | undefined, list: DeadLetter[] } | null} deadLetters
 * @property {ReturnType<typeof setTimeout> | undefined} timer
 * @property {HTMLElement} card
 * @property {Record<string, HTMLElement>} cells
 */

/**
 * One card per product, built once; renderCard() updates its text in place (focus stays).
 * @param {Omit<ProductEntry, "card" | "cells">} entry
 * @param {(id: number) => void} onManage
 */
export function buildCard(entry, onManage) {
  const id = entry.item.id;
  /** @type {Record<string, HTMLElement>} */
  const cells = {};
  /** @param {string} name */
  const cell = (name) => (cells[name] = el("dd", { dataset: { field: name } }));
  /** @param {string} label @param {string} name */
  const row = (label, name) => el("div", { class: "card-row" }, el("dt", {}, label), cell(name));
  /** @param {string} label @param {string} name */
  const figure = (label, name) =>
    el(
      "div",
      { class: "figure" },
      el("dt", {}, label),
      (cells[name] = el("dd", { class: "figure-value", dataset: { field: name } })),
    );
  cells.title = el("h2", { id: `product-${id}-title`, class: "card-title" });
  cells.subtitle = el("p", { class: "sub" });
  cells.invariants = el("div", { class: "card-invariants" });
  const manage = el(
    "button",
    {
      type: "button",
      class: "secondary small",
      "aria-controls": "detail",
      "aria-describedby": `product-${id}-title`,
      onclick: () => onManage(id),
    },
    "Manage",
  );
  const card = el(
    "article",
    { class: "product-card", "aria-labelledby": `product-${id}-title`, dataset: { productId: id } },
    el("div", { class: "card-head" }, el("div", {}, cells.title, cells.subtitle), cells.invariants),
    el(
      "dl",
      { class: "figures" },
      figure("available", "available"),
      figure("reserved", "reserved"),
      figure("sold", "sold"),
      figure("in stock", "stock"),
    ),
    el(
      "dl",
      { class: "card-rows" },
      row("Holds", "holds"),
      row("Orders", "orders"),
      row("Queue", "queue"),
      row("Refunds due", "refunds"),
      row("Dead letters", "dead"),
    ),
    el("div", { class: "card-actions" }, manage),
  );
  return { card, cells };
}

const dash = "–";

/**
 * @param {ProductEntry} entry
 * @param {boolean} selected
 */
export function renderCard(entry, selected) {
  const { item, stock, metrics: m, cells } = entry;
  if (!cells) return;
  cells.title.textContent = `#${item.id} ${item.name}`;
  const queueOn = entry.product?.queue.enabled ?? item.queue_enabled;
  cells.subtitle.textContent = `${money(item.price_cents, item.currency)}${queueOn ? " · queue on" : ""}`;
  cells.available.textContent = stock ? count(stock.available) : dash;
  cells.reserved.textContent = stock ? count(stock.reserved) : dash;
  cells.stock.textContent = stock ? count(stock.stock) : dash;
  cells.sold.textContent = m ? count(m.sold) : dash;
  if (m) {
    const h = m.holds;
    const o = m.orders;
    cells.holds.textContent = `${count(h.active)} active · ${count(h.ordered)} ordered · ${count(h.expired)} expired · ${count(h.released)} released`;
    cells.orders.textContent = `${count(o.pending)} pending · ${count(o.paid)} paid · ${count(o.failed)} failed · ${count(o.cancelled)} cancelled`;
    cells.queue.textContent = m.queue.enabled
      ? `On: ${count(m.queue.waiting)} waiting · ${count(m.queue.issued)} issued · ${count(m.queue.admitted_unused)} admitted, unused`
      : m.queue.issued
        ? `Off (${count(m.queue.issued)} tickets issued)`
        : "Off";
    fill(cells.refunds, emphasise(m.refunds.due));
    fill(cells.dead, emphasise(m.history_dead_letters));
    fill(cells.invariants, ...invariantView(entry));
  }
  entry.card.classList.toggle("is-selected", selected);
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
      { class: `pill ${ok ? "pill-ok" : "pill-bad"}` },
      ok ? "OK" : `${violations.length} violation${violations.length === 1 ? "" : "s"}`,
    ),
    el("span", { class: "sub" }, full ? `full check ${timeOfDay(full.at)}` : "counter check"),
  ];
}
