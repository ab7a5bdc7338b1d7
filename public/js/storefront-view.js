// Drawing the storefront from its state: what the product page shows for each step of a
// purchase. Nothing here calls the API or changes the state; storefront.js does both and calls
// render() after every change.

import { serverNow } from "./api.js";
import { $, el, fill, show } from "./dom.js";
import { count, countdown, dateTime, money, spokenDuration } from "./format.js";
import { doneMessage } from "./storefront-messages.js";

const FINAL_STEPS = ["paid", "failed", "cancelled"];

/** A countdown node that updateCountdowns() keeps current until `untilMs`. */
export function liveCountdown(untilMs) {
  return el(
    "span",
    { class: "countdown", role: "timer", dataset: { until: String(untilMs) } },
    countdown(untilMs - serverNow()),
  );
}

/** The live feed's state, small under the counter: live, reconnecting, or polling. */
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
 */
export function render(state, shopper, actions) {
  const { product, stock, step } = state;
  if (!product) return;
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

function renderIdentity(shopper, actions) {
  const tokenMode = shopper.mode === "token";
  show($("#token-form"), tokenMode && !shopper.token);
  show($("#shopper-box"), !tokenMode);
  const summary = $("#identity-summary");
  if (!tokenMode) {
    $("#shopper-id").textContent = shopper.shopperId;
    fill(summary, "Shopper ", el("code", {}, shopper.shopperId));
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
  for (const button of document.querySelectorAll("#checkout .step button")) {
    if (!button.hasAttribute("aria-busy") && button.id !== "buy") button.disabled = state.busy;
  }
  show($("#new-shopper"), idle || FINAL_STEPS.includes(step));
}

function renderBuy(state) {
  // Quantity: up to the per-shopper limit and the per-hold maximum.
  const select = $("#qty");
  const max = Math.max(
    1,
    Math.min(state.config.max_qty_per_hold, state.product.max_units_per_shopper),
  );
  if (select.options.length !== max) {
    const options = Array.from({ length: max }, (_, i) => el("option", {}, String(i + 1)));
    fill(select, options);
  }
  select.value = String(Math.min(state.qty, max));
  select.disabled = state.busy;
  const buy = $("#buy");
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

function renderHold(state) {
  const { hold, product } = state;
  $("#hold-summary").textContent =
    `${hold.qty} × ${product.name}, ${money(product.price_cents * hold.qty, product.currency)}.`;
}

function renderOrder(state) {
  const { order, product, config } = state;
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

function renderDone(state, step) {
  const o = state.order;
  const { title, detail } = doneMessage(step, o, o ? money(o.amount_cents, o.currency) : "");
  $("#done-title").textContent = title;
  $("#done-detail").textContent = detail;
  $("#step-done").dataset.tone = step === "paid" ? "success" : "warning";
}

/** Set a node's text only when it changed (the clock calls this four times a second). */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** Every countdown on the page, from the deadlines in the state and in data-until. */
export function updateCountdowns(state) {
  const now = serverNow();
  for (const node of document.querySelectorAll("[data-until]")) {
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
