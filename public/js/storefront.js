// The storefront: one product (?product=ID, default 1), its live stock, and the shopper's way
// through a sale: buy (or join the line) → holding → order pending → paid, failed or cancelled.
// A payment provider's return (?order=ID&checkout=success|cancel) resumes that order.
//
// The page keeps one `state` object, changes it only here, and redraws from it (render() in
// storefront-view.js); a clock four times a second moves the countdowns and notices deadlines
// passing. The server is the authority: the page never treats an item as the shopper's until the
// API said so. After every action the focus moves to what the screen now says, and the status
// line (a polite live region) says the same words.

import { RequestError, newKey, request, serverNow } from "./api.js";
import { $, button, el, fill, input, select, setBusy, show } from "./dom.js";
import { money, timeOfDay } from "./format.js";
import { LiveFeed } from "./live.js";
import { Shopper, tokenClaims } from "./shopper.js";
import {
  HOLD_EXPIRED,
  TURN_PASSED,
  errorMessage,
  holdErrorMessage,
  soldOutMessage,
} from "./storefront-messages.js";
import { ordinal } from "./storefront-sale.js";
import {
  liveCountdown,
  render as draw,
  showLiveMode,
  supportCode,
  updateCountdowns,
} from "./storefront-view.js";

const CLOCK_MS = 250;
/** While an order waits for a real gateway, look at it this often. */
const ORDER_POLL_MS = 5_000;
/** Product settings (sale window, queue) are not pushed live: read them again this often. */
const PRODUCT_REFRESH_MS = 60_000;

/** @typedef {import("./api-types.js").StorefrontConfig} StorefrontConfig */
/** @typedef {import("./api-types.js").Product} Product */
/** @typedef {import("./api-types.js").Hold} Hold */
/** @typedef {import("./api-types.js").Order} Order */
/** @typedef {import("./api-types.js").QueueTicket} QueueTicket */
/** @typedef {import("./api-types.js").PaymentWebhookAnswer} PaymentWebhookAnswer */
/** @typedef {import("./api-types.js").CheckoutSession} CheckoutSession */
/** @typedef {import("./storefront-view.js").LoadedState} LoadedState */
/** @typedef {import("./storefront-messages.js").Message} Message */
/** @typedef {import("./storefront-sale.js").BuyState} BuyState */

const params = new URLSearchParams(location.search);
/** The product of the page; a payment provider's return names the order, which names it. */
let productId = parseProductId(params.get("product"));

/**
 * Its config, product and stock are null only until main() has read them: nothing that reads
 * them runs before then (the forms are hidden, the socket and the clock not started).
 * @type {LoadedState}
 */
const state = /** @type {LoadedState} */ ({
  config: null,
  product: null,
  stock: null,
  step: "idle",
  qty: 1,
  ticket: null,
  hold: null,
  order: null,
  cancelledHere: false,
  awaitingProvider: false,
  busy: false,
  blockedUntil: 0,
  triedAdmissions: new Set(),
  lastOrderPoll: 0,
});

/**
 * Set once /api/config has said how shoppers identify themselves (before anything uses it).
 * @type {Shopper}
 */
let shopper;

/**
 * The notices that speak of the sale's state (a refusal because it had not started, had ended,
 * had nothing free, or had sold out): taken down when the state moves on. Others (a hold that
 * ran out, a turn that passed, a rate limit) stay until they are dealt with.
 */
const SALE_NOTICES = new Set([
  "insufficient_stock",
  "sale_not_started",
  "sale_ended",
  "shopper_limit_reached",
  "admission_required",
  "queue_disabled",
  "sold_out",
]);

/** The Buy control's state at the last redraw: a change takes down notices it makes untrue. */
/** @type {BuyState | null} */
let lastBuyState = null;

function render() {
  const buy = draw(state, shopper, {
    changeToken() {
      shopper.setToken(null);
      render();
      $("#shopper-token").focus();
    },
  });
  if (buy === null || buy === lastBuyState) return;
  const before = lastBuyState;
  lastBuyState = buy;
  if (before === null || state.step !== "idle") return;
  // The sale moved on (it opened, an item came back, it sold out or ended): what was said about
  // the old state is no longer true, and the new one is said once.
  if (SALE_NOTICES.has(notice.dataset.code ?? "")) clearNotice();
  const news = {
    on:
      before === "soon"
        ? "The sale has started: you can buy now."
        : "An item is free: you can buy now.",
    soon: "",
    waiting: "None free right now: every item is in a basket. One may come back.",
    sold_out: "Sold out: every item has been sold.",
    ended: "The sale has ended.",
    limit: "",
  }[buy];
  if (news) {
    announce(news, { quiet: true });
    render();
  }
}

// ---------------------------------------------------------------- saved progress

function save() {
  const { step, qty, ticket, hold, order } = state;
  const idle = step === "idle" && !ticket;
  shopper.saveProgress(productId, idle ? null : { step, qty, ticket, hold, order });
}

/** Pick up where this tab left off: an order (asked for again), a hold, or a place in line. */
async function restore() {
  const saved = shopper.loadProgress(productId);
  if (!saved) return;
  state.qty = saved.qty ?? 1;
  if (saved.order) {
    state.order = saved.order;
    state.hold = saved.hold ?? null;
    state.step = "ordered";
    await refreshOrder();
  } else if (saved.hold && Date.parse(saved.hold.expires_at) > serverNow()) {
    state.hold = saved.hold;
    state.step = "holding";
  } else if (saved.ticket && ["queued", "admitted"].includes(saved.step ?? "")) {
    state.ticket = saved.ticket;
    state.step = "queued";
    try {
      applyTicket(await readTicket(saved.ticket.ticket));
    } catch {
      state.ticket = null;
      state.step = "idle";
    }
  }
  save();
}

// ---------------------------------------------------------------- messages

const statusLine = $("#status");
const notice = $("#notice");

/**
 * Say what just happened, for everyone (a polite live region: screen readers read it too);
 * `quiet` for screen readers only, where the page already shows it another way.
 * @param {string} text
 * @param {{ quiet?: boolean }} [options]
 */
function announce(text, { quiet = false } = {}) {
  statusLine.textContent = text;
  statusLine.dataset.quiet = String(quiet);
}

/**
 * After an action: the focus goes to the title of what the screen now shows, and the status line
 * says those words (and the ones after them), so a screen reader hears what a sighted shopper
 * sees, when they see it.
 * @param {string} selector the step's title
 * @param {string} [more] what follows the title on screen
 */
function arrive(selector, more = "") {
  render();
  const title = $(selector);
  announce([title.textContent?.trim(), more].filter(Boolean).join(". "));
  title.focus();
}

/**
 * Something the shopper must see: { title, detail, tone } and, folded away under "Support
 * code", the request id of the error behind it.
 * @param {Message} message
 * @param {RequestError | null} [error]
 * @param {string} [code] what it is about, when no error says so
 */
function showNotice({ title, detail, tone = "error" }, error, code) {
  // What the notice is about, so it can be taken down when it stops being true.
  notice.dataset.code = error?.code ?? code ?? "";
  notice.className = `notice notice-${tone}`;
  fill(
    notice,
    el("p", { class: "notice-title" }, title),
    detail ? el("p", {}, ...(Array.isArray(detail) ? detail : [detail])) : null,
    supportCode({ requestId: error?.requestId }),
  );
  show(notice, true);
}

function clearNotice() {
  delete notice.dataset.code;
  show(notice, false);
  fill(notice);
}

// ---------------------------------------------------------------- reading from the API

async function loadProduct() {
  const data = /** @type {Product} */ ((await request(`/api/products/${productId}`)).data);
  state.product = data;
  // The read is exact; once the socket speaks, its frames are the newer word on stock.
  if (!state.stock?.live) {
    const { stock, reserved, available, sold_out } = data;
    state.stock = { stock, reserved, available, sold_out };
  }
  return data;
}

/** @param {string} ticket */
async function readTicket(ticket) {
  const path = `/api/queue/${encodeURIComponent(ticket)}`;
  return /** @type {QueueTicket} */ ((await request(path, { headers: shopper.headers() })).data);
}

/** @param {string} orderId */
async function readOrder(orderId) {
  const path = `/api/orders/${encodeURIComponent(orderId)}`;
  return /** @type {Order} */ ((await request(path, { headers: shopper.headers() })).data);
}

async function refreshOrder() {
  if (!state.order) return;
  state.lastOrderPoll = Date.now();
  try {
    applyOrder(await readOrder(state.order.order_id));
  } catch (error) {
    if (error instanceof RequestError && error.code === "order_not_found") {
      // Another shopper in this browser now, or retention removed it: nothing to follow.
      state.order = state.hold = null;
      state.step = "idle";
      save();
    }
  }
}

// ---------------------------------------------------------------- actions

/**
 * Run an action with its button busy; everything redraws when it is done.
 * @param {HTMLButtonElement} pressed
 * @param {string} busyLabel
 * @param {() => Promise<void>} work
 */
async function act(pressed, busyLabel, work) {
  state.busy = true;
  setBusy(pressed, true, busyLabel);
  render();
  try {
    await work();
  } finally {
    state.busy = false;
    setBusy(pressed, false);
    render();
  }
}

/** @param {SubmitEvent} event */
async function onBuy(event) {
  event.preventDefault();
  if (state.busy || Date.now() < state.blockedUntil) return;
  clearNotice();
  if (!shopper.ready) {
    showNotice({
      title: "Sign in first",
      detail: "Paste your shopper token above, then press Buy again.",
      tone: "warning",
    });
    $("#shopper-token").focus();
    return;
  }
  state.qty = Number(select("#qty").value) || 1;
  if (state.product.queue.enabled) await joinQueue();
  else await hold(state.qty);
}

/**
 * Hold items; a lost answer or a busy server is tried once more with the same key (same hold).
 * @param {number} qty
 * @param {string} [admissionToken]
 * @returns {Promise<Hold>}
 */
async function createHold(qty, admissionToken) {
  /** @type {import("./api-types.js").Schemas["HoldRequest"]} */
  const body = { product_id: productId, qty };
  if (admissionToken) body.admission_token = admissionToken;
  const headers = { ...shopper.headers(), "idempotency-key": newKey() };
  const post = async () =>
    /** @type {Hold} */ ((await request("/api/holds", { method: "POST", body, headers })).data);
  try {
    return await post();
  } catch (error) {
    if (!(error instanceof RequestError) || (error.status !== 0 && error.status !== 503))
      throw error;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    return await post();
  }
}

/**
 * @param {number} qty
 * @param {string} [admissionToken]
 */
async function hold(qty, admissionToken) {
  const pressed = state.step === "admitted" ? button("#queue-retry") : button("#buy");
  await act(pressed, "Reserving…", async () => {
    try {
      const made = await createHold(qty, admissionToken);
      state.hold = made;
      state.order = null;
      state.step = "holding";
      shopper.noteUnits(productId, made.hold_id, {
        qty: made.qty,
        until: Date.parse(made.expires_at),
      });
      if (state.ticket) {
        state.ticket = null; // the admission is spent: stop following the line
        live.restart();
      }
      save();
    } catch (error) {
      await holdFailed(error, qty);
    }
  });
  if (state.step === "holding" && state.hold) {
    arrive("#hold-title", `Place your order by ${timeOfDay(state.hold.expires_at)}`);
  }
}

async function joinQueue() {
  await act(button("#buy"), "Joining the line…", async () => {
    try {
      const answer = await request(`/api/products/${productId}/queue`, {
        method: "POST",
        body: {},
        headers: shopper.headers(),
      });
      const data = /** @type {QueueTicket} */ (answer.data);
      state.ticket = { ...data, joined_position: data.position };
      state.step = "queued";
      save();
      live.restart(); // follow the ticket on the socket
    } catch (error) {
      await holdFailed(error, state.qty);
    }
  });
  if (!state.ticket) return;
  arrive("#queue-title", $("#queue-position").textContent ?? "");
  // Admitted at once (a quiet sale): this reserves the items.
  applyTicket(state.ticket);
}

/**
 * A queue update, from the join answer, the socket or a poll.
 * @param {Partial<QueueTicket>} update
 */
function applyTicket(update) {
  if (!state.ticket) return;
  const before = state.ticket.position;
  const ticket = { ...state.ticket, ...update };
  // Joined before the places were drawn: the first place given is where this shopper starts.
  ticket.joined_position ??= ticket.position ?? null;
  state.ticket = ticket;
  if (ticket.state === "admitted" && ticket.admission_token) {
    if (!state.triedAdmissions.has(ticket.admission_token)) {
      state.triedAdmissions.add(ticket.admission_token);
      // The shopper pressed Buy already: reserve the moment their turn comes (it is short).
      announce("It's your turn. Reserving your items…");
      void hold(state.qty, ticket.admission_token);
    }
  } else if (ticket.state === "expired") {
    stopFollowingLine();
    showNotice(TURN_PASSED);
  } else if (ticket.state === "left") {
    // Left from another tab: this one stops following the place too.
    stopFollowingLine();
  } else if (ticket.state === "sold_out") {
    stopFollowingLine();
    showNotice(soldOutMessage(true), null, "sold_out");
  } else if (ticket.position && ticket.position !== before) {
    // The screen says the new place at once; the live region says it too, politely.
    announce(
      ticket.position === 1
        ? "You're next in line."
        : `You are ${ordinal(ticket.position)} in line.`,
    );
  }
  save();
  render();
}

function stopFollowingLine() {
  state.ticket = null;
  if (state.step === "queued" || state.step === "admitted") state.step = "idle";
  live.restart();
}

/** Leave the line: the place is given up on the server, so the people behind move up. */
async function leaveLine() {
  const ticket = state.ticket;
  if (!ticket) return;
  await act(button("#leave-queue"), "Leaving…", async () => {
    try {
      await request(`/api/queue/${encodeURIComponent(ticket.ticket)}`, {
        method: "DELETE",
        headers: shopper.headers(),
      });
    } catch (error) {
      if (!(error instanceof RequestError)) throw error;
      // A ticket the server no longer knows is a place already gone: the shopper is out either way.
      if (error.code !== "invalid_ticket") {
        showError(error);
        return;
      }
    }
    stopFollowingLine();
    save();
  });
  if (state.step === "idle") {
    announce("You left the line.");
    select("#qty").focus();
  }
}

async function placeOrder() {
  const held = state.hold;
  if (!held) return;
  await act(button("#place-order"), "Placing order…", async () => {
    try {
      const answer = await request("/api/orders", {
        method: "POST",
        body: { hold_id: held.hold_id },
        headers: shopper.headers(),
      });
      const data = /** @type {Order} */ (answer.data);
      state.order = data;
      state.step = "ordered";
      shopper.forgetUnits(productId, held.hold_id);
      shopper.noteUnits(productId, data.order_id, {
        qty: data.qty,
        until: Date.parse(data.pay_by),
      });
      save();
    } catch (error) {
      if (!(error instanceof RequestError)) throw error;
      if (error.code === "hold_expired" || error.code === "hold_released") holdGone(error);
      else showError(error);
    }
  });
  if (state.step === "ordered" && state.order) {
    const o = state.order;
    arrive("#order-title", `${money(o.amount_cents, o.currency)}. Pay by ${timeOfDay(o.pay_by)}`);
  }
}

async function release() {
  const held = state.hold;
  if (!held) return;
  await act(button("#release"), "Removing…", async () => {
    try {
      await request(`/api/holds/${encodeURIComponent(held.hold_id)}`, {
        method: "DELETE",
        headers: shopper.headers(),
      });
      state.hold = null;
      state.step = "idle";
      shopper.forgetUnits(productId, held.hold_id);
      save();
    } catch (error) {
      showError(error);
    }
  });
  if (state.step === "idle") {
    announce("Removed. The items are back on sale.");
    select("#qty").focus();
  }
}

/**
 * Play the payment gateway: an unsigned webhook, accepted only while simulated_payments.
 * @param {"success" | "failure"} status
 * @param {HTMLButtonElement} pressed
 */
async function simulatePayment(status, pressed) {
  const order = state.order;
  if (!order) return;
  await act(pressed, "Sending…", async () => {
    try {
      const answer = await request("/api/payments/webhook", {
        method: "POST",
        body: { idempotency_key: newKey(), order_id: order.order_id, status },
      });
      const data = /** @type {PaymentWebhookAnswer} */ (answer.data);
      // The answer carries the order's status after the webhook, whatever the webhook did.
      applyOrder({ ...order, status: data.order_status });
    } catch (error) {
      showError(error);
    }
  });
  arriveAtEnd();
}

/**
 * Pay at the payment provider: the server opens a checkout session for the order, and the page
 * goes there; the provider sends the shopper back to /?order=…&checkout=success|cancel.
 */
async function pay() {
  const order = state.order;
  if (!order) return;
  await act(button("#pay"), "Opening payment…", async () => {
    try {
      const path = `/api/orders/${encodeURIComponent(order.order_id)}/checkout`;
      const answer = await request(path, { method: "POST", headers: shopper.headers() });
      const session = /** @type {CheckoutSession} */ (answer.data);
      state.awaitingProvider = true;
      location.assign(session.url);
    } catch (error) {
      if (!(error instanceof RequestError)) throw error;
      if (error.code === "order_not_pending") await refreshOrder();
      else showError(error);
    }
  });
  arriveAtEnd();
}

async function cancelOrder() {
  const order = state.order;
  if (!order) return;
  await act(button("#cancel-order"), "Cancelling…", async () => {
    try {
      const path = `/api/orders/${encodeURIComponent(order.order_id)}/cancel`;
      const answer = await request(path, { method: "POST", headers: shopper.headers() });
      state.cancelledHere = true;
      applyOrder(/** @type {Order} */ (answer.data));
    } catch (error) {
      if (!(error instanceof RequestError)) throw error;
      if (error.code === "order_not_pending") await refreshOrder();
      else showError(error);
    }
  });
  arriveAtEnd();
}

/** Once an order has its final word, the focus and the status line go to it. */
function arriveAtEnd() {
  if (["paid", "failed", "cancelled"].includes(state.step)) arrive("#done-title");
}

/**
 * The order as the API sees it now.
 * @param {Order} order
 */
function applyOrder(order) {
  state.order = order;
  state.step = order.status === "pending" ? "ordered" : order.status;
  if (order.status === "paid") {
    shopper.noteUnits(productId, order.order_id, { qty: order.qty, until: null });
  } else if (order.status !== "pending") {
    shopper.forgetUnits(productId, order.order_id);
  }
  save();
}

function startOver() {
  state.hold = state.order = state.ticket = null;
  state.step = "idle";
  state.cancelledHere = false;
  state.awaitingProvider = false;
  clearNotice();
  save();
  announce("");
  render();
  select("#qty").focus();
}

/**
 * The hold expired (or was removed elsewhere) before the order was placed.
 * @param {RequestError | null} error
 */
function holdGone(error) {
  if (state.hold) shopper.forgetUnits(productId, state.hold.hold_id);
  state.hold = null;
  state.step = "idle";
  save();
  showNotice(HOLD_EXPIRED, error);
  announce(`${HOLD_EXPIRED.title}. ${HOLD_EXPIRED.detail}`);
  render();
}

// ---------------------------------------------------------------- when the API says no

/** @param {unknown} error */
function showError(error) {
  if (!(error instanceof RequestError)) throw error;
  let retryAt = null;
  if (error.code === "rate_limited") {
    const seconds = error.retryAfter ?? 10;
    state.blockedUntil = Date.now() + seconds * 1_000;
    retryAt = serverNow() + seconds * 1_000;
  }
  showNotice(errorMessage(error, { countdownTo: liveCountdown, retryAt }), error);
  if (error.code === "shopper_token_required" || error.code === "invalid_shopper_token") {
    shopper.setToken(null);
    render();
    $("#shopper-token").focus();
  }
}

/**
 * A hold (or joining the line) was refused: bring the page up to date, then say why.
 * @param {unknown} error
 * @param {number} qty
 */
async function holdFailed(error, qty) {
  if (!(error instanceof RequestError)) throw error;
  const code = error.code;
  // The product changed under the page (stock, window, queue): read it again first.
  const stale = ["insufficient_stock", "sale_not_started", "sale_ended", "admission_required"];
  if (stale.includes(code) || code === "queue_disabled") await loadProduct().catch(() => {});
  if (["invalid_admission", "admission_used", "queue_disabled"].includes(code)) {
    stopFollowingLine();
  }
  const admitted = code === "insufficient_stock" && Boolean(state.ticket);
  // Admitted, but the items came and went: the admission stays good until it expires.
  if (admitted) state.step = "admitted";
  if (code === "rate_limited" || !holdCodes.has(code)) {
    showError(error);
    return;
  }
  const { product, stock } = state;
  const message = holdErrorMessage(error, {
    qty,
    limit: product.max_units_per_shopper,
    available: stock.available,
    soldOut: Boolean(stock.sold_out),
    admitted,
    startsAt: product.sale_starts_at ? Date.parse(product.sale_starts_at) : null,
    endsAt: product.sale_ends_at ? Date.parse(product.sale_ends_at) : null,
    countdownTo: liveCountdown,
  });
  // The redraw that follows shows the new state of the sale; the notice says why this try failed.
  lastBuyState = null;
  showNotice(message, error);
}

const holdCodes = new Set([
  "insufficient_stock",
  "shopper_limit_reached",
  "sale_not_started",
  "sale_ended",
  "admission_required",
  "invalid_admission",
  "admission_used",
  "queue_disabled",
  "product_not_found",
]);

// ---------------------------------------------------------------- live updates

const live = new LiveFeed({
  path: () =>
    state.ticket
      ? `/api/products/${productId}/live?ticket=${encodeURIComponent(state.ticket.ticket)}`
      : `/api/products/${productId}/live`,
  onFrame(frame) {
    if (frame.type === "stock") {
      state.stock = { ...frame, live: true };
      render();
    } else if (frame.type === "queue") {
      applyTicket(frame);
    }
  },
  async poll() {
    const { stock, reserved, available, sold_out } = await loadProduct();
    /** @type {import("./api-types.js").LiveFrame[]} */
    const frames = [{ type: "stock", stock, reserved, available, sold_out }];
    if (state.ticket) frames.push({ type: "queue", ...(await readTicket(state.ticket.ticket)) });
    return frames;
  },
  onMode: showLiveMode,
});

// ---------------------------------------------------------------- the clock

/** Sale starts and ends already acted on, so each is read again once. */
const passedBoundaries = new Set();

/**
 * The clock: countdowns, and the deadlines that change what the shopper can do. It runs four
 * times a second so that a countdown turns within a quarter second of the real second (a 1 s
 * interval can show a value up to a second stale, depending on when it started).
 */
function tick() {
  updateCountdowns(state);
  const now = serverNow();
  const { hold, order } = state;
  if (state.step === "holding" && hold && !state.busy && Date.parse(hold.expires_at) <= now) {
    holdGone(null);
  }
  if (state.step === "ordered" && order && !state.busy) {
    // A real gateway answers the server, not this page: look at the order now and then, and
    // once its payment window has closed (the server cancels it then).
    const closed = Date.parse(order.pay_by) <= now;
    const watching = closed || state.awaitingProvider || !state.config.simulated_payments;
    if (watching && Date.now() - state.lastOrderPoll > ORDER_POLL_MS) {
      void refreshOrder().then(() => {
        render();
        arriveAtEnd();
      });
    }
  }
  if (state.blockedUntil && Date.now() >= state.blockedUntil) {
    state.blockedUntil = 0;
    if (notice.dataset.code === "rate_limited") clearNotice();
    render();
  }
  // The sale just started (or ended): read the product again and redraw (render() takes down
  // what is no longer true and says what changed).
  for (const iso of [state.product.sale_starts_at, state.product.sale_ends_at]) {
    const at = Date.parse(iso ?? "");
    if (!(at <= now) || passedBoundaries.has(iso)) continue;
    passedBoundaries.add(iso);
    if (at > now - 5_000) void loadProduct().then(render, () => {});
    else render();
  }
}

// ---------------------------------------------------------------- start

/** @param {string | null} raw */
function parseProductId(raw) {
  const id = Number(raw ?? 1);
  return Number.isInteger(id) && id > 0 ? id : 1;
}

function wire() {
  $("#step-buy").addEventListener("submit", onBuy);
  // Redraws (a live frame) set the select from the state, so the state follows the shopper's pick.
  $("#qty").addEventListener("change", () => {
    state.qty = Number(select("#qty").value) || 1;
  });
  $("#place-order").addEventListener("click", placeOrder);
  $("#release").addEventListener("click", release);
  $("#pay-success").addEventListener("click", () =>
    simulatePayment("success", button("#pay-success")),
  );
  $("#pay-failure").addEventListener("click", () =>
    simulatePayment("failure", button("#pay-failure")),
  );
  $("#cancel-order").addEventListener("click", cancelOrder);
  $("#pay").addEventListener("click", pay);
  $("#again").addEventListener("click", startOver);
  $("#leave-queue").addEventListener("click", leaveLine);
  $("#queue-retry").addEventListener("click", () => {
    clearNotice();
    if (state.ticket?.admission_token) void hold(state.qty, state.ticket.admission_token);
  });
  $("#new-shopper").addEventListener("click", () => {
    shopper.newId();
    startOver();
    announce("You are a new shopper now: nothing is in your basket.");
  });
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = input("#shopper-token")
      .value.trim()
      .replace(/^Bearer\s+/i, "");
    if (!tokenClaims(token)?.sub) {
      showNotice({
        title: "That is not a shopper token",
        detail: "A shopper token is a JWT: three parts separated by dots, naming the shopper.",
        tone: "warning",
      });
      return;
    }
    shopper.setToken(token);
    input("#shopper-token").value = "";
    clearNotice();
    announce(`Signed in as ${shopper.name}.`);
    void restore().then(render);
  });
}

/**
 * The page could not show a product: say so plainly, with a way on, and nothing that looks as if
 * it were still loading.
 * @param {RequestError} error
 */
function showLoadError(error) {
  show($("#loading"), false);
  const missing = error.code === "product_not_found" || error.code === "order_not_found";
  const title = $("#load-error-title");
  title.textContent = missing
    ? error.code === "order_not_found"
      ? "We can't find that order"
      : "We can't find that product"
    : "The shop could not be loaded";
  fill(
    $("#load-error-detail"),
    el(
      "p",
      {},
      missing
        ? "The link may be old or mistyped. The sale you are looking for may be over."
        : error.message,
    ),
    el("p", {}, el("a", { href: "/" }, "Go to the shop")),
    supportCode({ requestId: error.requestId }),
  );
  show($("#load-error"), true);
  document.title = `${title.textContent} · Flash sale`;
  title.focus();
}

/**
 * Back from the payment provider (?order=ID&checkout=success|cancel): follow that order on its
 * product's page. On success the provider's word reaches the server by webhook, so the order may
 * still be pending for a moment: the page says it is confirming and keeps looking.
 */
async function resumeCheckout() {
  const orderId = params.get("order");
  if (!orderId) return null;
  const order = await readOrder(orderId);
  productId = order.product_id;
  history.replaceState(null, "", `/?product=${productId}`);
  return { order, outcome: params.get("checkout") };
}

async function main() {
  wire();
  /** @type {Awaited<ReturnType<typeof resumeCheckout>>} */
  let resumed;
  try {
    state.config = /** @type {StorefrontConfig} */ ((await request("/api/config")).data);
    shopper = new Shopper(state.config.shopper_identity);
    resumed = await resumeCheckout();
    await loadProduct();
  } catch (error) {
    if (!(error instanceof RequestError)) throw error;
    showLoadError(error);
    return;
  }
  if (resumed) {
    applyOrder(resumed.order);
    state.awaitingProvider = resumed.outcome === "success";
    state.lastOrderPoll = 0;
  } else {
    await restore();
  }
  render();
  live.start();
  setInterval(tick, CLOCK_MS);
  // While the live socket is open its frames are the stock: no product polling at all.
  setInterval(() => {
    if (!live.isOpen()) void loadProduct().then(render, () => {});
  }, PRODUCT_REFRESH_MS);
  if (resumed) {
    if (state.step === "ordered") {
      arrive(
        "#order-title",
        resumed.outcome === "success"
          ? "Confirming your payment…"
          : "Payment not finished: you can pay again before the time runs out",
      );
    } else {
      arriveAtEnd();
    }
  }
}

void main();
