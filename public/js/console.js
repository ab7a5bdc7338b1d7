// The operator console (/admin): every product with live stock and its counters, the invariant
// check, refunds due, dead letters, and the forms that change products. The admin token is kept
// in memory only (console-session.js); the cards and the work lists are drawn by
// console-cards.js and console-lists.js.

import { RequestError, newKey, request } from "./api.js";
import {
  applyFilter,
  buildCard,
  invariantView,
  renderCard as drawCard,
  renderSaleState,
  sampleSale,
} from "./console-cards.js";
import { confirmAction } from "./console-confirm.js";
import { renderSalesSummary, wireOrders } from "./console-orders.js";
import {
  loadDeadLetters as drawDeadLetters,
  loadRefunds as drawRefunds,
  resetRefunds,
} from "./console-lists.js";
import { SignedOut, admin, endSession, startSession } from "./console-session.js";
import { $, button, el, fill, input, messageContent, select, setBusy, show } from "./dom.js";
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

/** @typedef {import("./api-types.js").StorefrontConfig} StorefrontConfig */
/** @typedef {import("./api-types.js").Product} Product */
/** @typedef {import("./api-types.js").CatalogueItem} CatalogueItem */
/** @typedef {import("./api-types.js").CatalogueList} CatalogueList */
/** @typedef {import("./api-types.js").ProductMetrics} ProductMetrics */
/** @typedef {import("./api-types.js").ProductCreateRequest} ProductCreateRequest */
/** @typedef {import("./api-types.js").ProductUpdateRequest} ProductUpdateRequest */
/** @typedef {import("./console-cards.js").ProductEntry} ProductEntry */
/** @typedef {import("./dom.js").Child} Child */

/** @type {StorefrontConfig | null} */
let config = null;
/** @type {Map<number, ProductEntry>} */
const products = new Map();
/** @type {number | null} */
let selectedId = null;
/** @type {ReturnType<typeof setInterval> | undefined} */
let pollTimer;
/** @type {ReturnType<typeof setInterval> | undefined} */
let refundsTimer;
/** @type {ReturnType<typeof setInterval> | undefined} */
let clockTimer;

// ---------------------------------------------------------------- signing in and out

/** @param {SubmitEvent} event */
async function signIn(event) {
  event.preventDefault();
  const tokenInput = input("#admin-token");
  const signInButton = button("#sign-in");
  const result = $("#login-result");
  const token = tokenInput.value.trim();
  if (!token) return;
  setBusy(signInButton, true, "Signing in…");
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
    tokenInput.focus();
    return;
  } finally {
    setBusy(signInButton, false);
  }
  startSession(token, (error) => signOut("The admin token was refused. Sign in again.", error));
  tokenInput.value = ""; // the token stays in memory only, not in the form
  show($("#login"), false);
  show($("#app"), true);
  show($("#session"), true);
  hideAlert();
  try {
    await loadProducts(/** @type {CatalogueList} */ (first.data));
  } catch (error) {
    showAlert(error, "The products could not all be read");
  }
  startPolling();
}

/**
 * @param {string} [message]
 * @param {RequestError} [error]
 */
function signOut(message, error) {
  endSession();
  resetRefunds();
  clearInterval(pollTimer);
  clearInterval(refundsTimer);
  clearInterval(clockTimer);
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

/**
 * @param {unknown} error
 * @param {string} [title]
 */
function showAlert(error, title = "Something went wrong") {
  if (error instanceof SignedOut) return;
  const alert = $("#alert");
  const detail = error instanceof Error ? error.message : String(error);
  fill(alert, messageContent({ title, detail, error: apiError(error) }));
  show(alert, true);
}

function hideAlert() {
  show($("#alert"), false);
}

/**
 * The RequestError behind a failure, if it was one (its request id is shown).
 * @param {unknown} error
 */
function apiError(error) {
  return error instanceof RequestError ? error : null;
}

/**
 * Show what a form's action did, under its button: "Saved at 10:02:03", or the API's error.
 * @param {HTMLFormElement} form
 * @param {Child | Child[] | Error} outcome
 */
function formResult(form, outcome) {
  const node = $(".form-result", form);
  if (outcome instanceof Error) {
    if (outcome instanceof SignedOut) return;
    node.className = "form-result notice notice-error";
    fill(node, messageContent({ title: outcome.message, error: apiError(outcome) }));
  } else {
    node.className = "form-result notice notice-success";
    fill(node, outcome);
  }
}

/**
 * Run a form's action with its submit button busy, and report the outcome under it.
 * @param {HTMLFormElement} form
 * @param {string} busyLabel
 * @param {() => Promise<Child | Child[]>} work
 */
async function submitting(form, busyLabel, work) {
  const submit = button('button[type="submit"]', form);
  setBusy(submit, true, busyLabel);
  try {
    const message = await work();
    formResult(form, message);
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    formResult(form, error);
  } finally {
    setBusy(submit, false);
  }
}

// ---------------------------------------------------------------- products

/** @param {CatalogueList} firstPage */
async function loadProducts(firstPage) {
  let page = firstPage;
  const seen = new Set();
  for (let pages = 0; page && pages < MAX_PAGES; pages++) {
    for (const item of page.products) {
      seen.add(item.id);
      upsertProduct(item);
    }
    if (!page.next_cursor) break;
    const next = await admin(`/api/admin/products?cursor=${encodeURIComponent(page.next_cursor)}`);
    page = /** @type {CatalogueList} */ (next.data);
  }
  if (products.size === 0) {
    fill($("#product-cards"), el("p", { class: "empty" }, "No products yet: create one below."));
  }
  suggestNextId();
  applyFilter(products);
  await Promise.all([refreshAllMetrics(), loadRefunds()]);
  markUpdated();
}

/**
 * @param {CatalogueItem} item
 * @returns {ProductEntry}
 */
function upsertProduct(item) {
  const known = products.get(item.id);
  if (known) {
    known.item = item;
    renderCard(known);
    return known;
  }
  const fields = {
    item,
    product: null,
    stock: null,
    metrics: null,
    full: null,
    feed: null,
    deadLetters: null,
    timer: undefined,
  };
  /** @type {ProductEntry} */
  const entry = { ...fields, ...buildCard(fields, (id) => void selectProduct(id)) };
  products.set(item.id, entry);
  const cards = $("#product-cards");
  cards.querySelector(".empty")?.remove();
  // Keep cards in id order, whatever order products arrive in.
  const after = [...products.keys()].filter((id) => id > item.id).sort((a, b) => a - b)[0];
  const before = after === undefined ? null : products.get(after)?.card;
  cards.insertBefore(entry.card, before && before.isConnected ? before : null);
  if ([...products.values()].filter((e) => e.feed).length < MAX_LIVE) startFeed(entry);
  renderCard(entry);
  return entry;
}

/** @param {ProductEntry} entry */
function startFeed(entry) {
  const id = entry.item.id;
  entry.feed = new LiveFeed({
    path: () => `/api/products/${id}/live`,
    onFrame(frame) {
      if (frame.type !== "stock") return;
      entry.stock = frame;
      renderCard(entry);
      sampleSale(entry);
      if (id === selectedId) renderDetail();
      // Sold, holds and orders moved too: read the counters again shortly (once per burst).
      clearTimeout(entry.timer);
      entry.timer = setTimeout(() => void refreshMetrics(entry), METRICS_AFTER_CHANGE_MS);
    },
    async poll() {
      const data = /** @type {Product} */ ((await request(`/api/products/${id}`)).data);
      const { stock, reserved, available, sold_out } = data;
      return [{ type: "stock", stock, reserved, available, sold_out }];
    },
    pollEveryMs: METRICS_EVERY_MS,
  });
  entry.feed.start();
}

/**
 * @param {ProductEntry} entry
 * @param {{ full?: boolean }} [options]
 */
async function refreshMetrics(entry, { full = false } = {}) {
  const id = entry.item.id;
  const answer = await admin(`/api/admin/products/${id}/metrics${full ? "?check=full" : ""}`);
  const data = /** @type {ProductMetrics} */ (answer.data);
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
  sampleSale(entry);
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
  renderSalesSummary(products.values());
  const failure = failures.find((f) => !(f instanceof SignedOut));
  if (failure) showAlert(failure, "Some products' counters could not be read");
  else hideAlert();
  markUpdated();
}

function startPolling() {
  clearInterval(pollTimer);
  clearInterval(refundsTimer);
  clearInterval(clockTimer);
  // The sale states' countdowns ("Scheduled · starts in 02:59") move every second.
  clockTimer = setInterval(() => {
    for (const entry of products.values()) renderSaleState(entry);
  }, 1_000);
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
  const id = input("#new-id");
  if (id.value && !products.has(Number(id.value))) return;
  id.value = String(Math.max(0, ...products.keys()) + 1);
}

// ---------------------------------------------------------------- drawing, through the modules

/** @param {ProductEntry} entry */
function renderCard(entry) {
  drawCard(entry, entry.item.id === selectedId);
}

/** @param {ProductEntry} entry */
function loadDeadLetters(entry) {
  return drawDeadLetters(entry, {
    isCurrent: (e) => e.item.id === selectedId,
    changed: (e) => void refreshMetrics(e).catch(() => {}),
  });
}

/** @param {{ more?: boolean }} [options] */
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

/**
 * Open a product's detail in place, right under its card (across the whole row), or close it
 * when it is open already.
 * @param {number} id
 */
async function selectProduct(id) {
  const entry = products.get(id);
  if (!entry) return;
  if (selectedId === id) {
    closeDetail();
    return;
  }
  selectedId = id;
  for (const e of products.values()) renderCard(e);
  entry.card.after($("#detail"));
  show($("#detail"), true);
  entry.deadLetters = null;
  fill($("#dead-letters"), el("p", { class: "empty" }, "Loading…"));
  renderDetail();
  fillForms(entry);
  $("#detail").focus();
  try {
    // The public product has the queue rates, which the catalogue list does not carry.
    entry.product = /** @type {Product} */ ((await request(`/api/products/${id}`)).data);
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
  const entry = id === null ? undefined : products.get(id);
  if (entry) {
    renderCard(entry);
    entry.card.querySelector("button")?.focus();
  }
}

function renderDetail() {
  const entry = selectedId === null ? undefined : products.get(selectedId);
  if (!entry) return;
  const { item, metrics: m } = entry;
  $("#detail-heading").textContent = `#${item.id} ${item.name}`;
  $("#detail-storefront").setAttribute("href", `/?product=${item.id}`);
  if (!m) {
    fill($("#detail-stats"), el("p", { class: "hint" }, "Reading the counters…"));
    return;
  }
  /**
   * @param {string} title
   * @param {[string, number | string, string?][]} rows plain name, value, technical name
   */
  const group = (title, rows) =>
    el(
      "section",
      { class: "stat-group", "aria-label": title },
      el("h3", {}, title),
      el(
        "dl",
        {},
        rows.flatMap(([name, value, technical]) => [
          el("dt", {}, technical ? el("span", { title: technical }, name) : name),
          el("dd", {}, typeof value === "number" ? count(value) : value),
        ]),
      ),
    );
  const stock = entry.stock ?? m;
  fill(
    $("#detail-stats"),
    group("Stock", [
      ["Free", stock.available, "available"],
      ["In baskets", stock.reserved, "reserved"],
      ["In stock", stock.stock, "stock"],
      ["Sold", m.sold],
      ["At creation", m.initial_stock, "initial_stock"],
      ["Added since", m.restocked, "restocked"],
    ]),
    group("Baskets", [
      ["Now", m.holds.active, "holds.active"],
      ["Became orders", m.holds.ordered, "holds.ordered"],
      ["Ran out", m.holds.expired, "holds.expired"],
      ["Removed", m.holds.released, "holds.released"],
    ]),
    group("Orders", [
      ["Waiting for payment", m.orders.pending, "orders.pending"],
      ["Paid", m.orders.paid],
      ["Payment failed", m.orders.failed, "orders.failed"],
      ["Cancelled", m.orders.cancelled],
    ]),
    group("Payments", [
      ["Payment messages applied", m.webhooks.processed, "webhooks.processed"],
      ["Ignored", m.webhooks.ignored, "webhooks.ignored"],
      ["Repeats", m.webhooks.duplicates, "webhooks.duplicates"],
      ["Refunds due", m.refunds.due],
      ["Refunds resolved", m.refunds.resolved],
    ]),
    group("Line", [
      ["State", m.queue.enabled ? "On" : "Off", "queue.enabled"],
      ["Joined", m.queue.issued, "queue.issued: tickets issued"],
      ["Waiting", m.queue.waiting, "queue.waiting"],
      ["Let in, not yet buying", m.queue.admitted_unused, "queue.admitted_unused"],
      ["Let in up to place", m.queue.frontier, "queue.frontier"],
    ]),
    group("History and storage", [
      ["Waiting to be saved", m.history_outbox_backlog, "history_outbox_backlog: not yet in D1"],
      ["Not saved", m.history_dead_letters, "history_dead_letters: dead letters"],
      ["Failed save attempts", m.history_failing_attempts, "history_failing_attempts"],
      ["Storage", `${count(Math.round(m.storage_bytes / 1024))} KiB`, "storage_bytes"],
      ["Refused: none free", m.holds_rejected_since_start, "holds_rejected_since_start"],
    ]),
  );
  renderInvariants(entry);
}

/** @param {ProductEntry} entry */
function renderInvariants(entry) {
  const box = $("#detail-invariants");
  const [pill, when] = invariantView(entry);
  const violations = [
    ...(entry.metrics?.invariants.violations ?? []),
    ...(entry.full && !entry.full.ok ? entry.full.violations : []),
  ];
  let check = box.querySelector("button");
  if (!check) {
    const made = el("button", { type: "button", class: "secondary small" }, "Run full check");
    made.addEventListener("click", () => void fullCheck(entry, made));
    check = made;
  }
  fill(
    box,
    el("div", { class: "toolbar" }, el("strong", {}, "Invariants"), pill, when, check),
    violations.length
      ? el(
          "ul",
          { class: "violations" },
          violations.map((v) => el("li", {}, v)),
        )
      : null,
  );
}

/**
 * @param {ProductEntry} entry
 * @param {HTMLButtonElement} pressed
 */
async function fullCheck(entry, pressed) {
  setBusy(pressed, true, "Checking…");
  try {
    await refreshMetrics(selected() ?? entry, { full: true });
  } catch (error) {
    showAlert(error, "The full check failed");
  } finally {
    setBusy(pressed, false);
  }
}

/** The product the detail panel shows, if any. */
function selected() {
  return selectedId === null ? undefined : products.get(selectedId);
}

/**
 * Put the product's current settings in its forms (on select, and after each save).
 * @param {ProductEntry} entry
 */
function fillForms(entry) {
  const { item, product } = entry;
  const digits = minorUnits(item.currency);
  input("#edit-name").value = item.name;
  input("#edit-image").value = product?.image_url ?? "";
  /** @type {HTMLTextAreaElement} */ ($("#edit-description")).value = product?.description ?? "";
  $("#edit-currency").textContent = item.currency;
  input("#edit-price").step = digits === 0 ? "1" : String(10 ** -digits);
  input("#edit-price").value = fromMinorUnits(item.price_cents, item.currency);
  input("#edit-starts").value = toLocalInput(item.sale_starts_at);
  input("#edit-ends").value = toLocalInput(item.sale_ends_at);
  input("#edit-limit").value = String(item.max_units_per_shopper ?? "");
  input("#edit-limit").placeholder = product
    ? `Default (now ${product.max_units_per_shopper})`
    : "";
  select("#edit-late").value = item.late_payments ?? "";
  input("#queue-enabled").checked = product?.queue.enabled ?? item.queue_enabled;
  input("#queue-rate").value = String(product?.queue.admit_per_second ?? "");
  input("#queue-ttl").value = String(product?.queue.admission_ttl_seconds ?? "");
  input("#queue-enabled").disabled = config ? !config.queue_available : false;
  input("#edit-shards").value = String(product?.shards ?? 1);
  show($("#queue-unavailable"), config ? !config.queue_available : false);
  for (const form of [
    "#restock-form",
    "#product-form",
    "#window-form",
    "#queue-form",
    "#shards-form",
  ]) {
    const result = $(`${form} .form-result`);
    result.className = "form-result";
    fill(result);
  }
}

/**
 * The product the detail panel's forms act on: they are shown only while one is selected.
 * @returns {ProductEntry}
 */
function current() {
  const entry = selected();
  if (!entry) throw new Error("No product is selected.");
  return entry;
}

/**
 * The catalogue row of a product, from its public read and its own settings (the read shows
 * the limit and late-payment rule in force, which may be the deployment's defaults).
 * @param {Product} product
 * @param {Pick<CatalogueItem, "initial_stock" | "max_units_per_shopper" | "late_payments" | "created_at">} own
 * @returns {CatalogueItem}
 */
function catalogueItem(product, own) {
  return {
    id: product.id,
    name: product.name,
    image_url: product.image_url,
    description: product.description,
    price_cents: product.price_cents,
    currency: product.currency,
    sale_starts_at: product.sale_starts_at,
    sale_ends_at: product.sale_ends_at,
    queue_enabled: product.queue.enabled,
    ...own,
  };
}

/** @param {ProductUpdateRequest} changes */
async function patchProduct(changes) {
  const entry = current();
  const path = `/api/admin/products/${entry.item.id}`;
  const data = /** @type {Product} */ (
    (await admin(path, { method: "PATCH", body: changes })).data
  );
  entry.product = data;
  const { item } = entry;
  entry.item = catalogueItem(data, {
    initial_stock: item.initial_stock,
    created_at: item.created_at,
    max_units_per_shopper:
      changes.max_units_per_shopper === undefined
        ? item.max_units_per_shopper
        : changes.max_units_per_shopper,
    late_payments: changes.late_payments === undefined ? item.late_payments : changes.late_payments,
  });
  renderCard(entry);
  renderDetail();
  fillForms(entry);
  void refreshMetrics(entry).catch(() => {});
  return `Saved at ${timeOfDay(new Date().toISOString())}.`;
}

/**
 * Run `work` when the form is submitted, with its button busy and its outcome under it.
 * @param {string} selector
 * @param {string} busyLabel
 * @param {(form: HTMLFormElement) => Promise<Child | Child[]>} work
 */
function onSubmit(selector, busyLabel, work) {
  const form = /** @type {HTMLFormElement} */ ($(selector));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void submitting(form, busyLabel, () => work(form));
  });
}

/** A number typed into an input, or undefined when it is empty. */
function numberIn(/** @type {string} */ selector) {
  const value = input(selector).value;
  return value === "" ? undefined : Number(value);
}

function wireForms() {
  onSubmit("#restock-form", "Restocking…", async () => {
    const qty = Number(input("#restock-qty").value);
    const entry = current();
    const inStock = entry.stock?.stock;
    const sure = await confirmAction({
      title: `Add ${count(qty)} units to #${entry.item.id} ${entry.item.name}?`,
      body:
        inStock === undefined
          ? "They go on sale at once. A restock cannot be undone."
          : `Stock goes from ${count(inStock)} to ${count(inStock + qty)}, on sale at once. A restock cannot be undone.`,
      confirm: `Add ${count(qty)} units`,
    });
    if (!sure) return "Not restocked.";
    // One key per submission: a retry after a lost answer adds the units once.
    await admin(`/api/admin/products/${entry.item.id}/restock`, {
      method: "POST",
      body: { qty },
      headers: { "idempotency-key": newKey() },
    });
    input("#restock-qty").value = "";
    await refreshMetrics(entry);
    return `Added ${count(qty)} units at ${timeOfDay(new Date().toISOString())}.`;
  });

  onSubmit("#product-form", "Saving…", () => {
    const image = input("#edit-image").value.trim();
    const description = /** @type {HTMLTextAreaElement} */ ($("#edit-description")).value.trim();
    return patchProduct({
      name: input("#edit-name").value.trim(),
      price_cents: toMinorUnits(input("#edit-price").value, current().item.currency),
      image_url: image || null,
      description: description || null,
    });
  });

  onSubmit("#window-form", "Saving…", () => {
    const late = select("#edit-late").value;
    return patchProduct({
      sale_starts_at: fromLocalInput(input("#edit-starts").value),
      sale_ends_at: fromLocalInput(input("#edit-ends").value),
      max_units_per_shopper: numberIn("#edit-limit") ?? null,
      late_payments: late === "refund" || late === "accept_if_available" ? late : null,
    });
  });

  onSubmit("#queue-form", "Saving…", () =>
    patchProduct({
      queue: {
        enabled: input("#queue-enabled").checked,
        admit_per_second: numberIn("#queue-rate"),
        admission_ttl_seconds: numberIn("#queue-ttl"),
      },
    }),
  );

  onSubmit("#shards-form", "Saving…", () => patchProduct({ shards: numberIn("#edit-shards") }));

  onSubmit("#create-form", "Creating…", async (form) => {
    const currency = input("#new-currency").value.trim().toUpperCase();
    /** @type {ProductCreateRequest} */
    const body = {
      id: Number(input("#new-id").value),
      name: input("#new-name").value.trim(),
      price_cents: toMinorUnits(input("#new-price").value, currency),
      currency,
      stock: Number(input("#new-stock").value),
    };
    const starts = fromLocalInput(input("#new-starts").value);
    const ends = fromLocalInput(input("#new-ends").value);
    if (starts) body.sale_starts_at = starts;
    if (ends) body.sale_ends_at = ends;
    const limit = numberIn("#new-limit");
    if (limit !== undefined) body.max_units_per_shopper = limit;
    if (input("#new-queue").checked) body.queue = { enabled: true };
    const answer = await admin("/api/admin/products", { method: "POST", body });
    const data = /** @type {Product} */ (answer.data);
    const entry = upsertProduct(
      catalogueItem(data, {
        initial_stock: data.stock,
        max_units_per_shopper: limit ?? null,
        late_payments: null,
        created_at: new Date().toISOString(),
      }),
    );
    entry.product = data;
    applyFilter(products);
    form.reset();
    input("#new-currency").value = currency;
    suggestNextId();
    await refreshMetrics(entry);
    return [
      `Created #${data.id} ${data.name}. `,
      el("a", { href: `/?product=${data.id}` }, "Open it in the storefront"),
    ];
  });
}

/**
 * Run a toolbar button's action with the button busy.
 * @param {string} selector
 * @param {string} busyLabel
 * @param {() => Promise<void>} work
 */
function onClick(selector, busyLabel, work) {
  const pressed = button(selector);
  pressed.addEventListener("click", async () => {
    setBusy(pressed, true, busyLabel);
    try {
      await work();
    } finally {
      setBusy(pressed, false);
    }
  });
}

// ---------------------------------------------------------------- start

async function main() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  for (const node of document.querySelectorAll(".tz")) node.textContent = zone;
  $("#login-form").addEventListener("submit", (event) => void signIn(event));
  $("#sign-out").addEventListener("click", () => signOut());
  onClick("#refresh", "Refreshing…", async () => {
    try {
      const { data } = await admin("/api/admin/products");
      await loadProducts(/** @type {CatalogueList} */ (data));
    } catch (error) {
      showAlert(error);
    }
  });
  onClick("#check-all", "Checking…", () => refreshAllMetrics({ full: true }));
  wireForms();
  wireOrders();
  $("#filter").addEventListener("input", () => applyFilter(products));
  $("#refunds-status").addEventListener("change", () => {
    resetRefunds();
    fill($("#refunds"), el("p", { class: "empty" }, "Loading…"));
    void loadRefunds().catch(showAlert);
  });
  $("#close-detail").addEventListener("click", closeDetail);
  try {
    const answer = /** @type {StorefrontConfig} */ ((await request("/api/config")).data);
    config = answer;
    // Only a local server shows its well-known token; a deployment's page does not hint at one.
    show($("#local-token-hint"), answer.simulated_payments && answer.anonymous_shoppers);
  } catch {
    // The console works without it; the queue form then does not say whether a queue is possible.
  }
  $("#admin-token").focus();
}

void main();
