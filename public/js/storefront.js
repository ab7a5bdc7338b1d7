// The storefront: one product (?product=ID, default 1), its live stock, and the shopper's way
// through a sale: buy (or join the line) → holding → order pending → paid, failed or cancelled.
//
// The page keeps one `state` object, changes it only here, and redraws from it (render() in
// storefront-view.js); a once-a-second tick moves the countdowns and notices deadlines passing.
// The server is the authority: the page never treats a unit as the shopper's until the API said so.

import { RequestError, newKey, request, serverNow } from "./api.js";
import { $, button, el, fill, input, messageContent, select, setBusy, show } from "./dom.js";
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
import {
  liveCountdown,
  render as draw,
  showLiveMode,
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
/** @typedef {import("./api-types.js").QueueFrame} QueueFrame */
/** @typedef {import("./api-types.js").PaymentWebhookAnswer} PaymentWebhookAnswer */
/** @typedef {import("./storefront-view.js").LoadedState} LoadedState */
/** @typedef {import("./storefront-messages.js").Message} Message */

const productId = parseProductId(new URLSearchParams(location.search).get("product"));

/**
 * Its config, product and stock are null only until main() has read them: nothing that reads
 * them runs before then (the forms are hidden, the socket and the clock not started).
 * @type {LoadedState}
 */
const state = /** @type {LoadedState} */ ({
  config: null,
  product: null,
  /** The latest stock: {stock, reserved, available, sold_out}, from the socket or a read. */
  stock: null,
  /** idle | queued | admitted (turn came, hold failed) | holding | ordered | paid | failed | cancelled */
  step: "idle",
  qty: 1,
  /** The queue ticket being followed: {ticket, position, state, admission_token?, …}. */
  ticket: null,
  hold: null,
  order: null,
  /** An action in flight: its button is busy and the others wait. */
  busy: false,
  /** Rate limited until this time (ms), from Retry-After. */
  blockedUntil: 0,
  /** Admission tokens a hold was tried with already: one admission, one automatic try. */
  triedAdmissions: new Set(),
  lastOrderPoll: 0,
});

/**
 * Set once /api/config has said how shoppers identify themselves (before anything uses it).
 * @type {Shopper}
 */
let shopper;

const render = () =>
  draw(state, shopper, {
    changeToken() {
      shopper.setToken(null);
      render();
      $("#shopper-token").focus();
    },
  });

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
 * Say what just happened, for everyone (a polite live region: screen readers read it too).
 * @param {string} text
 */
function announce(text) {
  statusLine.textContent = text;
}

/**
 * Something the shopper must see: { title, detail, tone } and the error behind it (its id).
 * @param {Message} message
 * @param {RequestError | null} [error]
 */
function showNotice({ title, detail, tone = "error" }, error) {
  // What the notice is about, so it can be taken down when it stops being true.
  notice.dataset.code = error?.code ?? "";
  notice.className = `notice notice-${tone}`;
  fill(notice, messageContent({ title, detail, error }));
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
    state.stock = { stock: data.stock, reserved: data.reserved, available: data.available };
  }
  return data;
}

/** @param {string} ticket */
async function readTicket(ticket) {
  const path = `/api/queue/${encodeURIComponent(ticket)}`;
  return /** @type {QueueTicket} */ ((await request(path, { headers: shopper.headers() })).data);
}

async function refreshOrder() {
  if (!state.order) return;
  state.lastOrderPoll = Date.now();
  try {
    const path = `/api/orders/${encodeURIComponent(state.order.order_id)}`;
    applyOrder(/** @type {Order} */ ((await request(path, { headers: shopper.headers() })).data));
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
 * @param {HTMLButtonElement} button
 * @param {string} busyLabel
 * @param {() => Promise<void>} work
 */
async function act(button, busyLabel, work) {
  state.busy = true;
  setBusy(button, true, busyLabel);
  render();
  try {
    await work();
  } finally {
    state.busy = false;
    setBusy(button, false);
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
 * Hold units; a lost answer or a busy server is tried once more with the same key (same hold).
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
  await act(button("#buy"), "Reserving…", async () => {
    try {
      const made = await createHold(qty, admissionToken);
      state.hold = made;
      state.order = null;
      state.step = "holding";
      if (state.ticket) {
        state.ticket = null; // the admission is spent: stop following the line
        live.restart();
      }
      save();
      const units = made.qty === 1 ? "1 unit" : `${made.qty} units`;
      announce(
        `Reserved ${units} for you until ${timeOfDay(made.expires_at)}. Place your order before then.`,
      );
    } catch (error) {
      await holdFailed(error, qty);
    }
  });
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
      state.ticket = data;
      state.step = "queued";
      save();
      live.restart(); // follow the ticket on the socket
      announce(
        data.position
          ? `You're in line: number ${data.position}.`
          : "You're in line. Your units are reserved when it's your turn.",
      );
    } catch (error) {
      await holdFailed(error, state.qty);
    }
  });
  // Admitted at once (a quiet sale): this reserves the units.
  if (state.ticket) applyTicket(state.ticket);
}

/**
 * A queue update, from the join answer, the socket or a poll.
 * @param {Partial<QueueTicket>} update
 */
function applyTicket(update) {
  if (!state.ticket) return;
  const ticket = { ...state.ticket, ...update };
  state.ticket = ticket;
  if (ticket.state === "admitted" && ticket.admission_token) {
    if (!state.triedAdmissions.has(ticket.admission_token)) {
      state.triedAdmissions.add(ticket.admission_token);
      // The shopper pressed Buy already: reserve the moment their turn comes (it is short).
      announce("It's your turn. Reserving your units…");
      void hold(state.qty, ticket.admission_token);
    }
  } else if (ticket.state === "expired") {
    leaveQueue();
    showNotice(TURN_PASSED);
  } else if (ticket.state === "sold_out") {
    leaveQueue();
    showNotice(soldOutMessage(true));
  }
  save();
  render();
}

function leaveQueue() {
  state.ticket = null;
  if (state.step === "queued" || state.step === "admitted") state.step = "idle";
  live.restart();
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
      save();
      announce(
        `Order placed: ${money(data.amount_cents, data.currency)}. Pay by ${timeOfDay(data.pay_by)}.`,
      );
    } catch (error) {
      if (!(error instanceof RequestError)) throw error;
      if (error.code === "hold_expired" || error.code === "hold_released") holdGone(error);
      else showError(error);
    }
  });
}

async function release() {
  const held = state.hold;
  if (!held) return;
  await act(button("#release"), "Releasing…", async () => {
    try {
      await request(`/api/holds/${encodeURIComponent(held.hold_id)}`, {
        method: "DELETE",
        headers: shopper.headers(),
      });
      state.hold = null;
      state.step = "idle";
      save();
      announce("Released. The units are back on sale.");
    } catch (error) {
      showError(error);
    }
  });
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
}

async function cancelOrder() {
  const order = state.order;
  if (!order) return;
  await act(button("#cancel-order"), "Cancelling…", async () => {
    try {
      const path = `/api/orders/${encodeURIComponent(order.order_id)}/cancel`;
      const answer = await request(path, { method: "POST", headers: shopper.headers() });
      applyOrder(/** @type {Order} */ (answer.data));
    } catch (error) {
      if (!(error instanceof RequestError)) throw error;
      if (error.code === "order_not_pending") await refreshOrder();
      else showError(error);
    }
  });
}

/**
 * The order as the API sees it now.
 * @param {Order} order
 */
function applyOrder(order) {
  const before = state.step;
  state.order = order;
  state.step = order.status === "pending" ? "ordered" : order.status;
  save();
  if (state.step === before) return;
  const amount = money(order.amount_cents, order.currency);
  if (state.step === "paid") announce(`Payment received: ${amount}. Your order is paid.`);
  if (state.step === "failed") announce("The payment failed. The units went back on sale.");
  if (state.step === "cancelled") announce("The order was cancelled. The units went back on sale.");
}

function startOver() {
  state.hold = state.order = state.ticket = null;
  state.step = "idle";
  clearNotice();
  save();
  announce("");
  render();
  $("#qty").focus();
}

/**
 * The hold expired (or was released elsewhere) before the order was placed.
 * @param {RequestError | null} error
 */
function holdGone(error) {
  state.hold = null;
  state.step = "idle";
  save();
  showNotice(HOLD_EXPIRED, error);
  announce("Your hold expired.");
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
  if (["invalid_admission", "admission_used", "queue_disabled"].includes(code)) leaveQueue();
  const admitted = code === "insufficient_stock" && Boolean(state.ticket);
  // Admitted, but the units came and went: the admission stays good until it expires.
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
    const watching = closed || !state.config.simulated_payments;
    if (watching && Date.now() - state.lastOrderPoll > ORDER_POLL_MS) {
      void refreshOrder().then(render);
    }
  }
  if (state.blockedUntil && Date.now() >= state.blockedUntil) {
    state.blockedUntil = 0;
    if (notice.dataset.code === "rate_limited") clearNotice();
    render();
  }
  // The sale just started (or ended): take down a refusal that is no longer true, read the
  // product again, and redraw the banner.
  for (const iso of [state.product.sale_starts_at, state.product.sale_ends_at]) {
    const at = Date.parse(iso ?? "");
    if (!(at <= now) || passedBoundaries.has(iso)) continue;
    passedBoundaries.add(iso);
    if (iso === state.product.sale_starts_at && notice.dataset.code === "sale_not_started") {
      clearNotice();
      announce("The sale has started: you can buy now.");
    }
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
  $("#again").addEventListener("click", startOver);
  $("#queue-retry").addEventListener("click", () => {
    clearNotice();
    if (state.ticket?.admission_token) void hold(state.qty, state.ticket.admission_token);
  });
  $("#new-shopper").addEventListener("click", () => {
    shopper.newId();
    startOver();
    announce(`You are now shopper ${shopper.shopperId}.`);
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

async function main() {
  wire();
  try {
    state.config = /** @type {StorefrontConfig} */ ((await request("/api/config")).data);
    shopper = new Shopper(state.config.shopper_identity);
    await loadProduct();
  } catch (error) {
    if (!(error instanceof RequestError)) throw error;
    show($("#loading"), false);
    const missing = error.code === "product_not_found";
    fill(
      $("#load-error"),
      messageContent({
        title: missing ? `There is no product ${productId}` : "The shop could not be loaded",
        detail: missing ? "Check the link, or go to the first product." : error.message,
        error,
      }),
      missing ? el("p", {}, el("a", { href: "/" }, "Go to the shop")) : null,
    );
    show($("#load-error"), true);
    return;
  }
  await restore();
  render();
  live.start();
  setInterval(tick, CLOCK_MS);
  // While the live socket is open its frames are the stock: no product polling at all.
  setInterval(() => {
    if (!live.isOpen()) void loadProduct().then(render, () => {});
  }, PRODUCT_REFRESH_MS);
}

void main();
