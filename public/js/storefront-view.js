// Drawing the storefront from its state: what the product page shows for each step of a
// purchase. Nothing here calls the API or changes the state; storefront.js does both and calls
// render() after every change.

import { serverNow } from "./api.js";
import { $, button, el, fill, select, show } from "./dom.js";
import { count, countdown, dateTime, money, spokenDuration } from "./format.js";
import { doneMessage } from "./storefront-messages.js";
import {
  BUY_LABELS,
  buyState,
  items,
  lineProgress,
  ordinal,
  saleState,
} from "./storefront-sale.js";

/** @typedef {import("./api-types.js").StorefrontConfig} StorefrontConfig */
/** @typedef {import("./api-types.js").Product} Product */
/** @typedef {import("./api-types.js").Hold} Hold */
/** @typedef {import("./api-types.js").Order} Order */
/** @typedef {import("./api-types.js").QueueTicket} QueueTicket */
/** @typedef {import("./api-types.js").StockFrame} StockFrame */
/** @typedef {import("./live.js").LiveMode} LiveMode */
/** @typedef {import("./shopper.js").Shopper} Shopper */
/** @typedef {import("./storefront-sale.js").BuyState} BuyState */

/**
 * The storefront's one state (storefront.js changes it; render() draws it).
 * @typedef {object} StorefrontState
 * @property {StorefrontConfig | null} config
 * @property {Product | null} product
 * @property {(Omit<StockFrame, "type" | "sold_out"> & { sold_out?: boolean, live?: boolean }) | null} stock the latest stock, from the socket or a read
 * @property {"idle" | "queued" | "admitted" | "holding" | "ordered" | "paid" | "failed" | "cancelled"} step
 * @property {number} qty
 * @property {(Partial<QueueTicket> & { ticket: string, joined_position?: number | null }) | null} ticket the queue ticket being followed, with the place it joined at
 * @property {Hold | null} hold
 * @property {Order | null} order
 * @property {boolean} cancelledHere the shopper cancelled the order on this page
 * @property {boolean} awaitingProvider sent to (or back from) the payment provider: its word
 *   reaches the server, not this page, so the page looks at the order until it comes
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
 * "Support code": what a shopper reads out to support (the order's id, the request id of an
 * error), folded away so it does not crowd the page; long ids wrap.
 * @param {{ orderId?: string | null, requestId?: string | null }} codes
 */
export function supportCode({ orderId, requestId }) {
  if (!orderId && !requestId) return null;
  return el(
    "details",
    { class: "support" },
    el("summary", {}, "Support code"),
    orderId ? el("p", {}, "Order ", el("code", {}, orderId)) : null,
    requestId ? el("p", {}, "Request ", el("code", {}, requestId)) : null,
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
 * The whole page from the state; returns the Buy control's state (storefront.js takes down
 * notices that it makes untrue). `actions.changeToken` is the "Change token" handler.
 * @param {StorefrontState} state
 * @param {Shopper} shopper
 * @param {{ changeToken: () => void }} actions
 * @returns {BuyState | null}
 */
export function render(state, shopper, actions) {
  if (!isLoaded(state)) return null;
  const { product, stock, step } = state;
  show($("#loading"), false);
  show($("#product"), true);
  $("#product-name").textContent = product.name;
  document.title = `${product.name} · Flash sale`;
  $("#product-price").textContent = money(product.price_cents, product.currency);
  renderLooks(product);
  const now = serverNow();
  const sale = saleState(product, stock, now);
  const buy = buyState({
    state: sale,
    available: Math.max(0, stock.available),
    limit: product.max_units_per_shopper,
    owned: shopper.owned(product.id, now),
    maxPerHold: state.config.max_qty_per_hold,
  });
  const mine =
    step === "holding" ? (state.hold?.qty ?? 0) : step === "ordered" ? (state.order?.qty ?? 0) : 0;
  renderStock(stock, sale, mine);
  renderFacts(product, sale);
  renderIdentity(state, shopper, actions);
  renderSteps(state, step, buy);
  updateCountdowns(state);
  return buy.state;
}

/**
 * @param {StorefrontState} state
 * @returns {state is LoadedState}
 */
function isLoaded(state) {
  return Boolean(state.product && state.config && state.stock);
}

/**
 * The product's picture and description, when it has them.
 * @param {Product} product
 */
function renderLooks(product) {
  const image = /** @type {HTMLImageElement} */ ($("#product-image"));
  if (product.image_url && image.getAttribute("src") !== product.image_url) {
    image.src = product.image_url;
  }
  image.alt = product.name;
  show(image, Boolean(product.image_url));
  const description = $("#product-description");
  description.textContent = product.description ?? "";
  show(description, Boolean(product.description));
}

/**
 * "3 left of 5", a bar of what is free and what is in baskets, and a line that says what the
 * numbers mean for the shopper (whose own basket is among the reserved).
 * @param {LoadedState["stock"]} stock
 * @param {import("./storefront-sale.js").SaleState} sale
 * @param {number} mine items in this shopper's own hold or pending order
 */
function renderStock(stock, sale, mine) {
  const available = Math.max(0, stock.available);
  const reserved = Math.max(0, stock.reserved);
  $("#stock").dataset.state = sale;
  $("#stock-available").textContent = count(available);
  $("#stock-label").textContent =
    sale === "sold_out" ? "left · sold out" : `left of ${count(stock.stock)}`;
  const share = (/** @type {number} */ n) =>
    stock.stock > 0 ? `${((100 * n) / stock.stock).toFixed(1)}%` : "0%";
  $("#stock-bar-free").style.width = share(available);
  $("#stock-bar-held").style.width = share(reserved);
  const others = Math.max(0, reserved - mine);
  const baskets = [
    mine > 0 ? `${items(mine)} in your basket` : "",
    others > 0 ? `${items(others)} in other shoppers' baskets` : "",
  ]
    .filter(Boolean)
    .join(", ");
  $("#stock-detail").textContent = {
    on: baskets ? `${baskets}.` : "",
    soon: "The sale hasn't started yet.",
    waiting:
      others > 0
        ? `None free: ${baskets}. If one isn't bought in time, it comes back here.`
        : `None free: ${baskets}.`,
    sold_out: "Every item has been sold.",
    ended: "This sale has ended.",
  }[sale];
}

/**
 * @param {Product} product
 * @param {import("./storefront-sale.js").SaleState} sale
 */
function renderFacts(product, sale) {
  $("#fact-limit").textContent = `${product.max_units_per_shopper} per shopper`;
  const starts = product.sale_starts_at;
  const ends = product.sale_ends_at;
  $("#fact-window").textContent = {
    soon: starts ? `Starts ${dateTime(starts)}` : "",
    on: ends ? `On now, until ${dateTime(ends)}` : "On now, while stock lasts",
    waiting: ends ? `On now, until ${dateTime(ends)}` : "On now, while stock lasts",
    sold_out: "Sold out",
    ended: ends ? `Ended ${dateTime(ends)}` : "Ended",
  }[sale];
  show($("#fact-queue-row"), product.queue.enabled);
  $("#fact-queue").textContent = "In order of arrival, a few at a time";
}

/**
 * Token mode names the signed-in shopper in the header; a local shop (generated shopper ids)
 * offers the demo tools instead.
 * @param {LoadedState} state
 * @param {Shopper} shopper
 * @param {{ changeToken: () => void }} actions
 */
function renderIdentity(state, shopper, actions) {
  const tokenMode = shopper.mode === "token";
  show($("#token-form"), tokenMode && !shopper.token);
  show($("#demo-tools"), !tokenMode && state.config.anonymous_shoppers);
  const summary = $("#identity-summary");
  show(summary, tokenMode);
  if (!tokenMode) return;
  if (shopper.name) {
    const change = el(
      "button",
      { type: "button", class: "link-button", onclick: actions.changeToken },
      "Change",
    );
    fill(summary, "Signed in as ", el("strong", {}, shopper.name), " · ", change);
  } else {
    fill(summary, "Not signed in");
  }
}

/**
 * @param {LoadedState} state
 * @param {StorefrontState["step"]} step
 * @param {{ state: BuyState, maxQty: number }} buy
 */
function renderSteps(state, step, buy) {
  const idle = step === "idle";
  // Each step's panel says what is going on; the status line shows on its own only where
  // nothing else does (after a removal, a hold expiring), and is always there for screen readers.
  // News of the sale itself (it opened, sold out) is for screen readers only: the Buy control
  // and the stock already show it.
  const status = $("#status");
  status.classList.toggle("visually-hidden", !idle || status.dataset.quiet === "true");
  show($("#step-buy"), idle);
  show($("#step-queue"), step === "queued" || step === "admitted");
  show($("#step-hold"), step === "holding");
  show($("#step-order"), step === "ordered");
  show($("#step-done"), FINAL_STEPS.includes(step));

  renderBuy(state, buy);
  if (step === "queued" || step === "admitted") renderQueue(state);
  if (step === "holding") renderHold(state);
  if (step === "ordered") renderOrder(state);
  if (FINAL_STEPS.includes(step)) renderDone(state, step);

  // While an action is in flight, the other buttons wait (the busy one says what it is doing).
  for (const node of document.querySelectorAll("#checkout .step button")) {
    const other = /** @type {HTMLButtonElement} */ (node);
    if (!other.hasAttribute("aria-busy") && other.id !== "buy") other.disabled = state.busy;
  }
}

/**
 * The Buy control: its words, whether it can be pressed, and the quantities it offers.
 * @param {LoadedState} state
 * @param {{ state: BuyState, maxQty: number }} buy
 */
function renderBuy(state, buy) {
  const { product } = state;
  const open = buy.state === "on";
  const qty = select("#qty");
  if (qty.options.length !== buy.maxQty) {
    const options = Array.from({ length: buy.maxQty }, (_, i) => el("option", {}, String(i + 1)));
    fill(qty, options);
  }
  qty.value = String(Math.min(state.qty, buy.maxQty));
  qty.disabled = state.busy || !open;
  const control = button("#buy");
  control.dataset.state = buy.state;
  if (!control.hasAttribute("aria-busy")) {
    control.disabled = state.busy || Date.now() < state.blockedUntil || !open;
    $("#buy-label").textContent = BUY_LABELS[buy.state];
  }
  const starts = product.sale_starts_at ? Date.parse(product.sale_starts_at) : 0;
  const clock = $("#buy-countdown");
  if (buy.state === "soon") {
    if (clock.dataset.for !== String(starts)) {
      clock.dataset.for = String(starts);
      fill(clock, "starts in ", liveCountdown(starts));
    }
  } else {
    delete clock.dataset.for;
    fill(clock);
  }
  show(clock, buy.state === "soon");

  const limit = product.max_units_per_shopper;
  const hint = $("#buy-hint");
  hint.textContent = {
    on: product.queue.enabled
      ? "This sale has a line: Buy takes your place in it, and your items are reserved when your turn comes."
      : "",
    soon: starts
      ? `It opens ${dateTime(starts)} (your time), and this page opens it by itself.`
      : "",
    waiting: "If an item comes back, Buy turns on by itself: keep this page open.",
    sold_out: "Every item has been sold.",
    ended: "This sale is over.",
    limit: `You have ${items(limit)} of this already: that is the most one shopper may buy.`,
  }[buy.state];
  show(hint, hint.textContent !== "");
}

/** @param {LoadedState} state */
function renderQueue(state) {
  const t = state.ticket;
  const admitted = state.step === "admitted" || t?.state === "admitted";
  $("#queue-title").textContent = admitted ? "It's your turn" : "You're in line";
  const place = $("#queue-position");
  const detail = $("#queue-detail");
  const position = !admitted && t?.position ? t.position : null;
  place.textContent = position
    ? position === 1
      ? "You're next in line"
      : `You are ${ordinal(position)} in line — ${position - 1 === 1 ? "1 person" : `${count(position - 1)} people`} ahead`
    : "";
  show(place, place.textContent !== "");
  const progress = $("#queue-progress");
  const joined = t?.joined_position ?? null;
  show(progress, position !== null && joined !== null);
  if (position !== null && joined !== null) {
    const done = lineProgress(joined, position);
    $("#queue-progress-done").style.width = `${(done * 100).toFixed(1)}%`;
    progress.setAttribute("role", "progressbar");
    progress.setAttribute("aria-label", "Your way to the front of the line");
    progress.setAttribute("aria-valuenow", String(Math.round(done * 100)));
    progress.setAttribute("aria-valuemin", "0");
    progress.setAttribute("aria-valuemax", "100");
  }
  if (admitted) {
    const until = t?.admission_expires_at ? Date.parse(t.admission_expires_at) : null;
    fill(
      detail,
      until ? ["Your turn lasts ", liveCountdown(until), ". "] : null,
      state.step === "admitted"
        ? "Press Try again when an item comes back."
        : "Reserving your items…",
    );
  } else if (position) {
    // Shoppers are let in only while there are items for them: with none free, the wait is for
    // a hold to expire or be removed, which no estimate from the admission rate can tell.
    const wait =
      state.stock.available <= 0
        ? "Every item is in a basket right now: you keep your place and are let in if one comes back. "
        : t?.estimated_wait_seconds
          ? `About ${spokenDuration(t.estimated_wait_seconds * 1_000)} to go. `
          : "";
    fill(detail, `${wait}Keep this page open: your items are reserved when your turn comes.`);
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
  fill(
    $("#hold-summary"),
    `${items(hold.qty)} · ${product.name} · `,
    el("strong", {}, money(product.price_cents * hold.qty, product.currency)),
  );
}

/** @param {LoadedState} state */
function renderOrder(state) {
  const { order, product, config } = state;
  if (!order) return;
  fill(
    $("#order-summary"),
    el("span", { class: "order-number" }, "Order ", el("strong", {}, order.order_number)),
    el("br"),
    `${items(order.qty)} · ${product.name} · `,
    el("strong", {}, money(order.amount_cents, order.currency)),
    supportCode({ orderId: order.order_id }),
  );
  // With a payment provider, Pay hands over to it; a local server also lets the shopper play
  // the provider (unsigned payment messages); with neither, the page says payment is not set up.
  const provider = config.payments === "stripe";
  show($("#pay"), provider);
  show($("#simulate"), config.simulated_payments);
  show($("#pay-unavailable"), !provider && !config.simulated_payments);
  show($("#order-waiting"), provider && state.awaitingProvider);
}

/**
 * @param {LoadedState} state
 * @param {StorefrontState["step"]} step
 */
function renderDone(state, step) {
  const o = state.order;
  const { title, detail, next } = doneMessage(step, { cancelledHere: state.cancelledHere });
  $("#done-title").textContent = title;
  $("#done-detail").textContent = detail;
  $("#done-next").textContent = next;
  $("#step-done").dataset.tone = step === "paid" ? "success" : "warning";
  show($("#receipt"), step === "paid" && o !== null);
  if (step === "paid" && o) {
    $("#receipt-item").textContent = state.product.name;
    $("#receipt-qty").textContent = items(o.qty);
    $("#receipt-amount").textContent = money(o.amount_cents, o.currency);
    fill(
      $("#receipt-order"),
      el("strong", {}, o.order_number),
      supportCode({ orderId: o.order_id }),
    );
  }
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
