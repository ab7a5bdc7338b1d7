// The operator console (/admin): every product with live stock and its counters, the invariant
// check, refunds due, dead letters, and the forms that change products. The admin token is kept
// in memory only (console-session.js); the cards and the work lists are drawn by
// console-cards.js and console-lists.js.

import { RequestError, newKey, request } from "./api.js";
import { applyFilter, buildCard, invariantView, renderCard as drawCard } from "./console-cards.js";
import {
  loadDeadLetters as drawDeadLetters,
  loadRefunds as drawRefunds,
  resetRefunds,
} from "./console-lists.js";
import { SignedOut, admin, endSession, startSession } from "./console-session.js";
import { $, el, fill, messageContent, setBusy, show } from "./dom.js";
import {
  count,
  fromLocalInput,
  fromMinorUnits,
  minorUnits,
  timeOfDay,
  toLocalInput,
  toMinorUnits,
} from "./format.js";
import { LiveFeed } from "./live.js";

/** Counters are cheap to read (the object keeps them); still, not more often than this. */
const METRICS_EVERY_MS = 5_000;
/** After a live stock change, read that product's counters again this soon. */
const METRICS_AFTER_CHANGE_MS = 1_000;
const REFUNDS_EVERY_MS = 15_000;
/** Products with their own live socket; the rest follow through the 5-second counters. */
const MAX_LIVE = 50;
/** Pages of 100 products read from the catalogue. */
const MAX_PAGES = 20;

let config = null;
/** id → { item, product, stock, metrics, full, feed, card, cells, deadLetters, timer } */
const products = new Map();
let selectedId = null;
let pollTimer = null;
let refundsTimer = null;

// ---------------------------------------------------------------- signing in and out

async function signIn(event) {
  event.preventDefault();
  const input = $("#admin-token");
  const button = $("#sign-in");
  const result = $("#login-result");
  const token = input.value.trim();
  if (!token) return;
  setBusy(button, true, "Signing in…");
  fill(result);
  let first;
  try {
    // Any admin read tells a good token from a bad one; this one is needed anyway.
    first = await request("/api/admin/products", {
      headers: { authorization: `Bearer ${token}` },
    });
  } catch (error) {
    if (!(error instanceof RequestError)) throw error;
    const title =
      error.status === 401
        ? "That token was refused."
        : error.code === "admin_disabled"
          ? "Admin routes are off on this deployment: ADMIN_TOKEN is not set."
          : "Could not sign in.";
    fill(
      result,
      messageContent({ title, detail: error.status === 401 ? null : error.message, error }),
    );
    result.className = "form-result notice notice-error";
    input.focus();
    return;
  } finally {
    setBusy(button, false);
  }
  startSession(token, (error) => signOut("The admin token was refused. Sign in again.", error));
  input.value = ""; // the token stays in memory only, not in the form
  show($("#login"), false);
  show($("#app"), true);
  show($("#session"), true);
  hideAlert();
  try {
    await loadProducts(first.data);
  } catch (error) {
    showAlert(error, "The products could not all be read");
  }
  startPolling();
}

function signOut(message, error) {
  endSession();
  resetRefunds();
  clearInterval(pollTimer);
  clearInterval(refundsTimer);
  for (const entry of products.values()) {
    entry.feed?.stop();
    clearTimeout(entry.timer);
  }
  products.clear();
  selectedId = null;
  fill($("#product-cards"));
  show($("#detail"), false);
  show($("#app"), false);
  show($("#session"), false);
  show($("#login"), true);
  const result = $("#login-result");
  if (message) {
    result.className = "form-result notice notice-warning";
    fill(result, messageContent({ title: message, error }));
  } else {
    result.className = "form-result";
    fill(result);
  }
  $("#admin-token").focus();
}

// ---------------------------------------------------------------- alerts and form results

function showAlert(error, title = "Something went wrong") {
  if (error instanceof SignedOut) return;
  const alert = $("#alert");
  fill(alert, messageContent({ title, detail: error.message, error }));
  show(alert, true);
}

function hideAlert() {
  show($("#alert"), false);
}

/** Show what a form's action did, under its button: "Saved at 10:02:03", or the API's error. */
function formResult(form, outcome) {
  const node = form.querySelector(".form-result");
  if (outcome instanceof Error) {
    if (outcome instanceof SignedOut) return;
    node.className = "form-result notice notice-error";
    fill(node, messageContent({ title: outcome.message, error: outcome }));
  } else {
    node.className = "form-result notice notice-success";
    fill(node, outcome);
  }
}

/** Run a form's action with its submit button busy, and report the outcome under it. */
async function submitting(form, busyLabel, work) {
  const button = form.querySelector('button[type="submit"]');
  setBusy(button, true, busyLabel);
  try {
    const message = await work();
    formResult(form, message);
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    formResult(form, error);
  } finally {
    setBusy(button, false);
  }
}

// ---------------------------------------------------------------- products

async function loadProducts(firstPage) {
  let page = firstPage;
  const seen = new Set();
  for (let pages = 0; page && pages < MAX_PAGES; pages++) {
    for (const item of page.products) {
      seen.add(item.id);
      upsertProduct(item);
    }
    if (!page.next_cursor) break;
    page = (await admin(`/api/admin/products?cursor=${encodeURIComponent(page.next_cursor)}`)).data;
  }
  if (products.size === 0) {
    fill($("#product-cards"), el("p", { class: "empty" }, "No products yet: create one below."));
  }
  suggestNextId();
  applyFilter(products);
  await Promise.all([refreshAllMetrics(), loadRefunds()]);
  markUpdated();
}

function upsertProduct(item) {
  let entry = products.get(item.id);
  if (entry) {
    entry.item = item;
    renderCard(entry);
    return entry;
  }
  entry = {
    item,
    product: null,
    stock: null,
    metrics: null,
    full: null,
    feed: null,
    deadLetters: null,
    timer: null,
  };
  products.set(item.id, entry);
  const cards = $("#product-cards");
  cards.querySelector(".empty")?.remove();
  entry.card = buildCard(entry, (id) => void select(id));
  // Keep cards in id order, whatever order products arrive in.
  const after = [...products.keys()].filter((id) => id > item.id).sort((a, b) => a - b)[0];
  const before = after === undefined ? null : products.get(after)?.card;
  cards.insertBefore(entry.card, before && before.isConnected ? before : null);
  if ([...products.values()].filter((e) => e.feed).length < MAX_LIVE) startFeed(entry);
  renderCard(entry);
  return entry;
}

function startFeed(entry) {
  const id = entry.item.id;
  entry.feed = new LiveFeed({
    path: () => `/api/products/${id}/live`,
    onFrame(frame) {
      if (frame.type !== "stock") return;
      entry.stock = frame;
      renderCard(entry);
      if (id === selectedId) renderDetail();
      // Sold, holds and orders moved too: read the counters again shortly (once per burst).
      clearTimeout(entry.timer);
      entry.timer = setTimeout(() => void refreshMetrics(entry), METRICS_AFTER_CHANGE_MS);
    },
    async poll() {
      const { data } = await request(`/api/products/${id}`);
      return [
        { type: "stock", stock: data.stock, reserved: data.reserved, available: data.available },
      ];
    },
    pollEveryMs: METRICS_EVERY_MS,
  });
  entry.feed.start();
}

async function refreshMetrics(entry, { full = false } = {}) {
  const id = entry.item.id;
  const { data } = await admin(`/api/admin/products/${id}/metrics${full ? "?check=full" : ""}`);
  entry.metrics = data;
  // The counters are as new as the live frame, or newer.
  entry.stock = {
    stock: data.stock,
    reserved: data.reserved,
    available: data.available,
    sold_out: entry.stock?.sold_out,
  };
  if (full) entry.full = { ...data.invariants, at: new Date().toISOString() };
  renderCard(entry);
  if (id === selectedId) {
    renderDetail();
    if (entry.deadLetters === null || entry.deadLetters.count !== data.history_dead_letters) {
      void loadDeadLetters(entry);
    }
  }
  return data;
}

/** Counters for every product, a few at a time (each read wakes that product's object). */
async function refreshAllMetrics({ full = false } = {}) {
  const entries = [...products.values()];
  const failures = [];
  for (let i = 0; i < entries.length; i += 6) {
    const batch = entries.slice(i, i + 6);
    const results = await Promise.allSettled(batch.map((e) => refreshMetrics(e, { full })));
    for (const r of results) if (r.status === "rejected") failures.push(r.reason);
  }
  const failure = failures.find((f) => !(f instanceof SignedOut));
  if (failure) showAlert(failure, "Some products' counters could not be read");
  else hideAlert();
  markUpdated();
}

function startPolling() {
  clearInterval(pollTimer);
  clearInterval(refundsTimer);
  pollTimer = setInterval(() => {
    if (document.visibilityState === "visible") void refreshAllMetrics().catch(showAlert);
  }, METRICS_EVERY_MS);
  refundsTimer = setInterval(() => {
    if (document.visibilityState === "visible") void loadRefunds().catch(showAlert);
  }, REFUNDS_EVERY_MS);
}

function markUpdated() {
  $("#updated").textContent = `Updated ${timeOfDay(new Date().toISOString())}`;
}

function suggestNextId() {
  const input = $("#new-id");
  if (input.value && !products.has(Number(input.value))) return;
  input.value = String(Math.max(0, ...products.keys()) + 1);
}

// ---------------------------------------------------------------- drawing, through the modules

function renderCard(entry) {
  drawCard(entry, entry.item.id === selectedId);
}

function loadDeadLetters(entry) {
  return drawDeadLetters(entry, {
    isCurrent: (e) => e.item.id === selectedId,
    changed: (e) => void refreshMetrics(e).catch(() => {}),
  });
}

function loadRefunds(options = {}) {
  return drawRefunds({
    ...options,
    resolved(refund) {
      const entry = products.get(refund.product_id);
      if (entry) void refreshMetrics(entry).catch(() => {});
    },
  });
}

// ---------------------------------------------------------------- one product in detail

async function select(id) {
  selectedId = id;
  const entry = products.get(id);
  for (const e of products.values()) renderCard(e);
  show($("#detail"), true);
  entry.deadLetters = null;
  fill($("#dead-letters"), el("p", { class: "empty" }, "Loading…"));
  renderDetail();
  fillForms(entry);
  $("#detail").focus();
  try {
    // The public product has the queue rates, which the catalogue list does not carry.
    entry.product = (await request(`/api/products/${id}`)).data;
    fillForms(entry);
    await refreshMetrics(entry);
  } catch (error) {
    showAlert(error, `Product ${id} could not be read`);
  }
}

function closeDetail() {
  const id = selectedId;
  selectedId = null;
  show($("#detail"), false);
  const entry = products.get(id);
  if (entry) {
    renderCard(entry);
    entry.card.querySelector("button")?.focus();
  }
}

function renderDetail() {
  const entry = products.get(selectedId);
  if (!entry) return;
  const { item, metrics: m } = entry;
  $("#detail-heading").textContent = `#${item.id} ${item.name}`;
  $("#detail-storefront").href = `/?product=${item.id}`;
  if (!m) {
    fill($("#detail-stats"), el("p", { class: "hint" }, "Reading the counters…"));
    return;
  }
  const group = (title, rows) =>
    el(
      "section",
      { class: "stat-group", "aria-label": title },
      el("h3", {}, title),
      el(
        "dl",
        {},
        rows.flatMap(([name, value]) => [
          el("dt", {}, name),
          el("dd", {}, typeof value === "number" ? count(value) : value),
        ]),
      ),
    );
  const stock = entry.stock ?? m;
  fill(
    $("#detail-stats"),
    group("Stock", [
      ["Available", stock.available],
      ["Reserved", stock.reserved],
      ["In stock", stock.stock],
      ["Sold", m.sold],
      ["Initial stock", m.initial_stock],
      ["Restocked", m.restocked],
    ]),
    group("Holds", [
      ["Active", m.holds.active],
      ["Ordered", m.holds.ordered],
      ["Expired", m.holds.expired],
      ["Released", m.holds.released],
    ]),
    group("Orders", [
      ["Pending", m.orders.pending],
      ["Paid", m.orders.paid],
      ["Failed", m.orders.failed],
      ["Cancelled", m.orders.cancelled],
    ]),
    group("Payments", [
      ["Webhooks applied", m.webhooks.processed],
      ["Ignored", m.webhooks.ignored],
      ["Duplicates", m.webhooks.duplicates],
      ["Refunds due", m.refunds.due],
      ["Refunds resolved", m.refunds.resolved],
    ]),
    group("Queue", [
      ["State", m.queue.enabled ? "On" : "Off"],
      ["Tickets issued", m.queue.issued],
      ["Waiting", m.queue.waiting],
      ["Admitted, unused", m.queue.admitted_unused],
      ["Admitted up to", m.queue.frontier],
    ]),
    group("History and storage", [
      ["Not yet in D1", m.history_outbox_backlog],
      ["Dead letters", m.history_dead_letters],
      ["Failing copies", m.history_failing_attempts],
      ["Storage", `${count(Math.round(m.storage_bytes / 1024))} KiB`],
      ["Sold-out refusals", m.holds_rejected_since_start],
    ]),
  );
  renderInvariants(entry);
}

function renderInvariants(entry) {
  const box = $("#detail-invariants");
  const [pill, when] = invariantView(entry);
  const violations = [
    ...(entry.metrics?.invariants.violations ?? []),
    ...(entry.full && !entry.full.ok ? entry.full.violations : []),
  ];
  let button = box.querySelector("button");
  if (!button) {
    button = el(
      "button",
      { type: "button", class: "secondary small", onclick: () => void fullCheck(entry, button) },
      "Run full check",
    );
  }
  fill(
    box,
    el("div", { class: "toolbar" }, el("strong", {}, "Invariants"), pill, when, button),
    violations.length
      ? el(
          "ul",
          { class: "violations" },
          violations.map((v) => el("li", {}, v)),
        )
      : null,
  );
}

async function fullCheck(entry, button) {
  setBusy(button, true, "Checking…");
  try {
    await refreshMetrics(products.get(selectedId) ?? entry, { full: true });
  } catch (error) {
    showAlert(error, "The full check failed");
  } finally {
    setBusy(button, false);
  }
}

/** Put the product's current settings in its forms (on select, and after each save). */
function fillForms(entry) {
  const { item, product } = entry;
  const digits = minorUnits(item.currency);
  $("#edit-name").value = item.name;
  $("#edit-currency").textContent = item.currency;
  $("#edit-price").step = digits === 0 ? "1" : String(10 ** -digits);
  $("#edit-price").value = fromMinorUnits(item.price_cents, item.currency);
  $("#edit-starts").value = toLocalInput(item.sale_starts_at);
  $("#edit-ends").value = toLocalInput(item.sale_ends_at);
  $("#edit-limit").value = item.max_units_per_shopper ?? "";
  $("#edit-limit").placeholder = product ? `Default (now ${product.max_units_per_shopper})` : "";
  $("#edit-late").value = item.late_payments ?? "";
  $("#queue-enabled").checked = product?.queue.enabled ?? item.queue_enabled;
  $("#queue-rate").value = product?.queue.admit_per_second ?? "";
  $("#queue-ttl").value = product?.queue.admission_ttl_seconds ?? "";
  $("#queue-enabled").disabled = config ? !config.queue_available : false;
  show($("#queue-unavailable"), config ? !config.queue_available : false);
  for (const form of ["#restock-form", "#product-form", "#window-form", "#queue-form"]) {
    const result = $(`${form} .form-result`);
    result.className = "form-result";
    fill(result);
  }
}

async function patchProduct(changes) {
  const id = selectedId;
  const entry = products.get(id);
  const { data } = await admin(`/api/admin/products/${id}`, { method: "PATCH", body: changes });
  entry.product = data;
  entry.item = {
    ...entry.item,
    name: data.name,
    price_cents: data.price_cents,
    sale_starts_at: data.sale_starts_at,
    sale_ends_at: data.sale_ends_at,
    queue_enabled: data.queue.enabled,
    ...("max_units_per_shopper" in changes
      ? { max_units_per_shopper: changes.max_units_per_shopper }
      : {}),
    ...("late_payments" in changes ? { late_payments: changes.late_payments } : {}),
  };
  renderCard(entry);
  renderDetail();
  fillForms(entry);
  void refreshMetrics(entry).catch(() => {});
  return `Saved at ${timeOfDay(new Date().toISOString())}.`;
}

function wireForms() {
  $("#restock-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    void submitting(form, "Restocking…", async () => {
      const qty = Number($("#restock-qty").value);
      const entry = products.get(selectedId);
      // One key per submission: a retry after a lost answer adds the units once.
      await admin(`/api/admin/products/${selectedId}/restock`, {
        method: "POST",
        body: { qty },
        headers: { "idempotency-key": newKey() },
      });
      $("#restock-qty").value = "";
      await refreshMetrics(entry);
      return `Added ${count(qty)} units at ${timeOfDay(new Date().toISOString())}.`;
    });
  });

  $("#product-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    void submitting(form, "Saving…", () =>
      patchProduct({
        name: $("#edit-name").value.trim(),
        price_cents: toMinorUnits($("#edit-price").value, products.get(selectedId).item.currency),
      }),
    );
  });

  $("#window-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const limit = $("#edit-limit").value;
    void submitting(form, "Saving…", () =>
      patchProduct({
        sale_starts_at: fromLocalInput($("#edit-starts").value),
        sale_ends_at: fromLocalInput($("#edit-ends").value),
        max_units_per_shopper: limit === "" ? null : Number(limit),
        late_payments: $("#edit-late").value || null,
      }),
    );
  });

  $("#queue-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const queue = { enabled: $("#queue-enabled").checked };
    if ($("#queue-rate").value) queue.admit_per_second = Number($("#queue-rate").value);
    if ($("#queue-ttl").value) queue.admission_ttl_seconds = Number($("#queue-ttl").value);
    void submitting(form, "Saving…", () => patchProduct({ queue }));
  });

  $("#create-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    void submitting(form, "Creating…", async () => {
      const currency = $("#new-currency").value.trim().toUpperCase();
      const body = {
        id: Number($("#new-id").value),
        name: $("#new-name").value.trim(),
        price_cents: toMinorUnits($("#new-price").value, currency),
        currency,
        stock: Number($("#new-stock").value),
      };
      const starts = fromLocalInput($("#new-starts").value);
      const ends = fromLocalInput($("#new-ends").value);
      if (starts) body.sale_starts_at = starts;
      if (ends) body.sale_ends_at = ends;
      if ($("#new-limit").value) body.max_units_per_shopper = Number($("#new-limit").value);
      if ($("#new-queue").checked) body.queue = { enabled: true };
      const { data } = await admin("/api/admin/products", { method: "POST", body });
      const entry = upsertProduct({
        id: data.id,
        name: data.name,
        price_cents: data.price_cents,
        currency: data.currency,
        initial_stock: data.stock,
        sale_starts_at: data.sale_starts_at,
        sale_ends_at: data.sale_ends_at,
        max_units_per_shopper: body.max_units_per_shopper ?? null,
        late_payments: null,
        queue_enabled: data.queue.enabled,
        created_at: new Date().toISOString(),
      });
      entry.product = data;
      applyFilter(products);
      form.reset();
      $("#new-currency").value = currency;
      suggestNextId();
      await refreshMetrics(entry);
      return [
        `Created #${data.id} ${data.name}. `,
        el("a", { href: `/?product=${data.id}` }, "Open it in the storefront"),
      ];
    });
  });
}

// ---------------------------------------------------------------- start

async function main() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  for (const node of document.querySelectorAll(".tz")) node.textContent = zone;
  $("#login-form").addEventListener("submit", (event) => void signIn(event));
  $("#sign-out").addEventListener("click", () => signOut());
  $("#refresh").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    setBusy(button, true, "Refreshing…");
    try {
      const { data } = await admin("/api/admin/products");
      await loadProducts(data);
    } catch (error) {
      showAlert(error);
    } finally {
      setBusy(button, false);
    }
  });
  $("#check-all").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    setBusy(button, true, "Checking…");
    try {
      await refreshAllMetrics({ full: true });
    } finally {
      setBusy(button, false);
    }
  });
  wireForms();
  $("#filter").addEventListener("input", () => applyFilter(products));
  $("#close-detail").addEventListener("click", closeDetail);
  try {
    config = (await request("/api/config")).data;
    // Only a local server shows its well-known token; a deployment's page does not hint at one.
    show($("#local-token-hint"), config.simulated_payments && config.anonymous_shoppers);
  } catch {
    // The console works without it; the queue form then does not say whether a queue is possible.
  }
  $("#admin-token").focus();
}

void main();
