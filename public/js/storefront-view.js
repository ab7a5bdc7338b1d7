// Drawing the storefront from its state: what the product page shows for each step of a
// purchase. Nothing here calls the API or changes the state; storefront.js does both and calls
// render() after every change.

import { serverNow } from "./api.js";
import { $, button, el, fill, select, show } from "./dom.js";
import { count, countdown, dateTime, money, spokenDuration } from "./format.js";
import { doneMessage } from "./storefront-messages.js";

/** @typedef {import("./api-types.js").StorefrontConfig} StorefrontConfig */
/** @typedef {import("./api-types.js").Product} Product */
/** @typedef {import("./api-types.js").Hold} Hold */
/** @typedef {import("./api-types.js").Order} Order */
/** @typedef {import("./api-types.js").QueueTicket} QueueTicket */
/** @typedef {import("./api-types.js").StockFrame} StockFrame */
/** @typedef {import("./live.js").LiveMode} LiveMode */
/** @typedef {import("./shopper.js").Shopper} Shopper */

/**
 * The storefront's one state (storefront.js changes it; render() draws it).
 * @typedef {object} StorefrontState
 * @property {StorefrontConfig | null} config
 * @property {Product | null} product
 * @property {(Omit<StockFrame, "type" | "sold_out"> & { sold_out?: boolean, live?: boolean }) | null} stock the latest stock, from the socket or a read
 * @property {"idle" | "queued" | "admitted" | "holding" | "ordered" | "paid" | "failed" | "cancelled"} step
 * @property {number} qty
 * @property {(Partial<QueueTicket> & { ticket: string }) | null} ticket the queue ticket being followed
 * @property {Hold | null} hold
 * @property {Order | null} order
 * @property {boolean} busy an action in flight: its button is busy and the others wait
 * @property {number} blockedUntil rate limited until this time (ms), from Retry-After
 * @property {Set<string>} triedAdmissions admission tokens a hold was tried with already
 * @property {number} lastOrderPoll
 */

/** A state whose product, stock and config are read: what render() draws from. */
/** @typedef {StorefrontState & { product: Product, config: StorefrontConfig, stock: NonNullable<StorefrontState["stock"]> }} LoadedState */

/** @type {StorefrontState["step"][]} */
const FINAL_STEPS = ["paid", "failed", "cancelled"];

/**
 * A countdown node that updateCountdowns() keeps current until `untilMs`.
 * @param {number} untilMs
 */
export function liveCountdown(untilMs) {
  return el(
    "span",
    { class: "countdown", role: "timer", dataset: { until: String(untilMs) } },
    countdown(untilMs - serverNow()),
  );
}

/**
 * The live feed's state, small under the counter: live, reconnecting, or polling.
 * @param {LiveMode} mode
 */
export function showLiveMode(mode) {
  const line = $("#live-status");
  line.dataset.mode = mode;
  line.textContent = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Reconnecting…",
    polling: "Updating every few seconds",
  }[mode];
}

/**
 * The whole page from the state. `shopper` is the Shopper; `actions.changeToken` is the
 * "Change token" button's handler (token mode).
 * @param {StorefrontState} state
 * @param {Shopper} shopper
 * @param {{ changeToken: () => void }} actions
 */
export function render(state, shopper, actions) {
  if (!isLoaded(state)) return;
  const { product, stock, step } = state;
  show($("#loading"), false);
  show($("#product"), true);
  $("#product-name").textContent = product.name;
  document.title = `${product.name} · Flash sale`;
  $("#product-price").textContent = money(product.price_cents, product.currency);
  renderStock(stock);
  renderFacts(product);
  renderIdentity(shopper, actions);
  renderSteps(state, step);
  updateCountdowns(state);
}

/**
 * @param {StorefrontState} state
 * @returns {state is LoadedState}
 */
function isLoaded(state) {
  return Boolean(state.product && state.config && state.stock);
}

/** @param {LoadedState["stock"]} stock */
function renderStock(stock) {
  const available = Math.max(0, stock.available);
  const noneFree = available === 0;
  $("#stock").dataset.state = stock.sold_out ? "sold-out" : noneFree ? "none-free" : "on-sale";
  $("#stock-available").textContent = count(available);
  $("#stock-label").textContent = stock.sold_out ? "left · sold out" : "available";
  const reserved = stock.reserved > 0 ? ` · ${count(stock.reserved)} reserved` : "";
  $("#stock-detail").textContent =
    noneFree && !stock.sold_out
      ? `None free right now${reserved}. Units come back if a hold expires or a payment fails.`
      : `${count(stock.stock)} in stock${reserved}`;
}

/** @param {Product} product */
function renderFacts(product) {
  $("#fact-limit").textContent = `${product.max_units_per_shopper} per shopper`;
  const now = serverNow();
  const starts = product.sale_starts_at ? Date.parse(product.sale_starts_at) : null;
  const ends = product.sale_ends_at ? Date.parse(product.sale_ends_at) : null;
  const window = [];
  if (starts) window.push(`from ${dateTime(starts)}`);
  if (ends) window.push(`until ${dateTime(ends)}`);
  $("#fact-window").textContent = window.length ? window.join(" ") : "On now, while stock lasts";

  show($("#fact-queue-row"), product.queue.enabled);
  $("#fact-queue").textContent = "In order, a few at a time";

  const banner = $("#sale-banner");
  if (starts && starts > now) {
    banner.dataset.tone = "info";
    fill(
      banner,
      el("p", { class: "banner-title" }, "The sale starts in ", liveCountdown(starts)),
      el("p", {}, `At ${dateTime(starts)} (your time).`),
    );
  } else if (ends && ends <= now) {
    banner.dataset.tone = "ended";
    fill(banner, el("p", { class: "banner-title" }, "This sale has ended"));
  } else if (ends) {
    banner.dataset.tone = "ending";
    fill(banner, el("p", { class: "banner-title" }, "Ends in ", liveCountdown(ends)));
  }
  show(banner, Boolean((starts && starts > now) || ends));
}

/**
 * @param {Shopper} shopper
 * @param {{ changeToken: () => void }} actions
 */
function renderIdentity(shopper, actions) {
  const tokenMode = shopper.mode === "token";
  show($("#token-form"), tokenMode && !shopper.token);
  show($("#shopper-box"), !tokenMode);
  const summary = $("#identity-summary");
  if (!tokenMode) {
    $("#shopper-id").textContent = shopper.shopperId;
    fill(summary, "Shopper ", el("code", {}, shopper.shopperId ?? ""));
  } else if (shopper.name) {
    const change = el(
      "button",
      { type: "button", class: "link-button", onclick: actions.changeToken },
      "Change token",
    );
    fill(summary, "Signed in as ", el("strong", {}, shopper.name), " · ", change);
  } else {
    fill(summary, "Not signed in");
  }
}

/**
 * @param {LoadedState} state
 * @param {StorefrontState["step"]} step
 */
function renderSteps(state, step) {
  const idle = step === "idle";
  // Each step's panel says what is going on; the status line shows on its own only where
  // nothing else does (after a release, a hold expiring), and is always there for screen readers.
  $("#status").classList.toggle("visually-hidden", !idle);
  show($("#step-buy"), idle);
  show($("#step-queue"), step === "queued" || step === "admitted");
  show($("#step-hold"), step === "holding");
  show($("#step-order"), step === "ordered");
  show($("#step-done"), FINAL_STEPS.includes(step));

  renderBuy(state);
  if (step === "queued" || step === "admitted") renderQueue(state);
  if (step === "holding") renderHold(state);
  if (step === "ordered") renderOrder(state);
  if (FINAL_STEPS.includes(step)) renderDone(state, step);

  // While an action is in flight, the other buttons wait (the busy one says what it is doing).
  for (const node of document.querySelectorAll("#checkout .step button")) {
    const other = /** @type {HTMLButtonElement} */ (node);
    if (!other.hasAttribute("aria-busy") && other.id !== "buy") other.disabled = state.busy;
  }
  show($("#new-shopper"), idle || FINAL_STEPS.includes(step));
}

/** @param {LoadedState} state */
function renderBuy(state) {
  // Quantity: up to the per-shopper limit and the per-hold maximum.
  const qty = select("#qty");
  const max = Math.max(
    1,
    Math.min(state.config.max_qty_per_hold, state.product.max_units_per_shopper),
  );
  if (qty.options.length !== max) {
    const options = Array.from({ length: max }, (_, i) => el("option", {}, String(i + 1)));
    fill(qty, options);
  }
  qty.value = String(Math.min(state.qty, max));
  qty.disabled = state.busy;
  const buy = button("#buy");
  if (!buy.hasAttribute("aria-busy")) {
    buy.disabled = state.busy || Date.now() < state.blockedUntil || Boolean(state.stock.sold_out);
  }
  const hint = $("#buy-hint");
  hint.textContent = state.stock.sold_out
    ? "Sold out: every unit has been sold."
    : state.product.queue.enabled
      ? "This sale has a line: Buy takes your place in it, and your units are reserved when your turn comes."
      : "";
  show(hint, hint.textContent !== "");
}

/** @param {LoadedState} state */
function renderQueue(state) {
  const t = state.ticket;
  const admitted = state.step === "admitted" || t?.state === "admitted";
  $("#queue-title").textContent = admitted ? "It's your turn" : "You're in line";
  const position = $("#queue-position");
  const detail = $("#queue-detail");
  position.textContent = !admitted && t?.position ? `Number ${count(t.position)}` : "";
  if (admitted) {
    const until = t?.admission_expires_at ? Date.parse(t.admission_expires_at) : null;
    fill(
      detail,
      until ? ["Your turn lasts ", liveCountdown(until), "."] : null,
      state.step === "admitted" ? "" : " Reserving your units…",
    );
  } else if (t?.position) {
    // Shoppers are let in only while there are units for them: with none free, the wait is for
    // a hold to expire or be released, which no estimate from the admission rate can tell.
    const wait =
      state.stock.available <= 0
        ? "Every unit is reserved right now: you keep your place and are let in if one comes back. "
        : t.estimated_wait_seconds
          ? `About ${spokenDuration(t.estimated_wait_seconds * 1_000)} to go. `
          : "";
    fill(
      detail,
      `${wait}Keep this page open: your units are reserved automatically when your turn comes.`,
    );
  } else {
    // Before the sale starts the line is a pre-queue whose order is drawn at the start.
    const starts = state.product.sale_starts_at ? Date.parse(state.product.sale_starts_at) : 0;
    fill(
      detail,
      starts > serverNow()
        ? ["Places are drawn at random when the sale starts, in ", liveCountdown(starts), "."]
        : "Waiting for your place… Keep this page open.",
    );
  }
  show($("#queue-retry"), state.step === "admitted");
}

/** @param {LoadedState} state */
function renderHold(state) {
  const { hold, product } = state;
  if (!hold) return;
  $("#hold-summary").textContent =
    `${hold.qty} × ${product.name}, ${money(product.price_cents * hold.qty, product.currency)}.`;
}

/** @param {LoadedState} state */
function renderOrder(state) {
  const { order, product, config } = state;
  if (!order) return;
  fill(
    $("#order-summary"),
    `${order.qty} × ${product.name}, `,
    el("strong", {}, money(order.amount_cents, order.currency)),
    ". Order ",
    el("code", {}, order.order_id),
  );
  show($("#simulate"), Boolean(config.simulated_payments));
  show($("#order-waiting"), !config.simulated_payments);
}

/**
 * @param {LoadedState} state
 * @param {StorefrontState["step"]} step
 */
function renderDone(state, step) {
  const o = state.order;
  const { title, detail } = doneMessage(step, o, o ? money(o.amount_cents, o.currency) : "");
  $("#done-title").textContent = title;
  $("#done-detail").textContent = detail;
  $("#step-done").dataset.tone = step === "paid" ? "success" : "warning";
}

/**
 * Set a node's text only when it changed (the clock calls this four times a second).
 * @param {Element} node
 * @param {string} text
 */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/**
 * Every countdown on the page, from the deadlines in the state and in data-until.
 * @param {StorefrontState} state
 */
export function updateCountdowns(state) {
  const now = serverNow();
  for (const node of document.querySelectorAll("[data-until]")) {
    if (!(node instanceof HTMLElement)) continue;
    setText(node, countdown(Number(node.dataset.until) - now));
  }
  if (state.step === "holding" && state.hold) {
    const left = Date.parse(state.hold.expires_at) - now;
    setText($("#hold-countdown"), countdown(left));
    $("#hold-countdown").dataset.urgent = String(left < 30_000);
  }
  if (state.step === "ordered" && state.order) {
    setText($("#pay-countdown"), countdown(Date.parse(state.order.pay_by) - now));
  }
}
