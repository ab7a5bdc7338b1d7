// Small DOM helpers. Pages build nodes with el() and set text with textContent, never innerHTML,
// because product names, error messages and ids come from the API and are shown as text.

/**
 * The element the selector names, which the page must have: a missing one is a bug in the page,
 * said as such at once rather than as a null met later. Where the caller needs an input's
 * `value` or a button's `disabled`, it casts the answer (see input() and button() below).
 * @param {string} selector
 * @param {ParentNode} [root]
 * @returns {HTMLElement}
 */
export function $(selector, root = document) {
  const node = root.querySelector(selector);
  if (!(node instanceof HTMLElement)) throw new Error(`the page has no ${selector}`);
  return node;
}

/**
 * The form control the selector names (its `value`), as $() finds it.
 * @param {string} selector
 * @param {ParentNode} [root]
 */
export function input(selector, root) {
  return /** @type {HTMLInputElement} */ ($(selector, root));
}

/**
 * The <select> the selector names (its `value`), as $() finds it.
 * @param {string} selector
 * @param {ParentNode} [root]
 */
export function select(selector, root) {
  return /** @type {HTMLSelectElement} */ ($(selector, root));
}

/**
 * The button the selector names (its `disabled`), as $() finds it.
 * @param {string} selector
 * @param {ParentNode} [root]
 */
export function button(selector, root) {
  return /** @type {HTMLButtonElement} */ ($(selector, root));
}

/** @typedef {Node | string | null | undefined | false} Child */

/**
 * el("button", { type: "button", class: "secondary", onclick }, "Retry"): attributes, `on*`
 * listeners, `dataset`, and children (strings become text; null and false are skipped).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, unknown>} [props]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), /** @type {EventListener} */ (value));
    } else if (name === "dataset") {
      Object.assign(node.dataset, value);
    } else if (name === "class") {
      node.className = String(value);
    } else if (value === true) {
      node.setAttribute(name, "");
    } else {
      node.setAttribute(name, String(value));
    }
  }
  node.append(...present(children));
  return node;
}

/**
 * The children to append: nested lists flattened, and null, undefined and false left out.
 * @param {(Child | Child[])[]} children
 * @returns {(Node | string)[]}
 */
function present(children) {
  return children.flat().filter((c) => c !== null && c !== undefined && c !== false);
}

/**
 * Show or hide a node with the `hidden` attribute (so hidden parts are hidden from everyone).
 * @param {HTMLElement} node
 * @param {boolean} visible
 */
export function show(node, visible) {
  node.hidden = !visible;
}

/**
 * Replace a node's children.
 * @param {Element} node
 * @param {...(Child | Child[])} children
 */
export function fill(node, ...children) {
  node.replaceChildren(...present(children));
}

/**
 * A table with column headers, in a box that scrolls sideways on narrow screens.
 * @param {string[]} headers
 * @param {HTMLTableSectionElement} body
 */
export function scrollingTable(headers, body) {
  return el(
    "div",
    { class: "table-scroll" },
    el(
      "table",
      {},
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          headers.map((h) => el("th", { scope: "col" }, h)),
        ),
      ),
      body,
    ),
  );
}

/**
 * "Request ID abc123", small, for support: every API error shows it.
 * @param {string | null | undefined} requestId
 */
export function requestIdLine(requestId) {
  if (!requestId) return null;
  return el("p", { class: "request-id" }, "Request ID ", el("code", {}, requestId));
}

/**
 * A message box's content: a title, a sentence or two, and the request id of the error behind it.
 * `detail` may be a string or nodes (a countdown, a time).
 * @param {{ title?: string | null, detail?: Child | Child[], error?: { requestId?: string | null } | null }} message
 */
export function messageContent({ title, detail, error }) {
  return [
    title ? el("p", { class: "notice-title" }, title) : null,
    detail ? el("p", {}, ...(Array.isArray(detail) ? detail : [detail])) : null,
    requestIdLine(error?.requestId),
  ];
}

/**
 * Mark a button as working (disabled, aria-busy, optionally relabelled) or give it back.
 * @param {HTMLButtonElement} button
 * @param {boolean} busy
 * @param {string} [busyLabel]
 */
export function setBusy(button, busy, busyLabel) {
  // A button with more than words in it (Buy and its countdown) names the part to relabel.
  const label = button.querySelector(".button-label") ?? button;
  if (busy) {
    button.dataset.label ??= label.textContent ?? "";
    if (busyLabel) label.textContent = busyLabel;
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
  } else {
    if (button.dataset.label) label.textContent = button.dataset.label;
    delete button.dataset.label;
    button.removeAttribute("aria-busy");
    button.disabled = false;
  }
}
