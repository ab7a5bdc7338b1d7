// Small DOM helpers. Pages build nodes with el() and set text with textContent, never innerHTML,
// because product names, error messages and ids come from the API and are shown as text.

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/**
 * el("button", { type: "button", class: "secondary", onclick }, "Retry"): attributes, `on*`
 * listeners, `dataset`, and children (strings become text; null and false are skipped).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(node.dataset, value);
    } else if (name === "class") {
      node.className = value;
    } else if (value === true) {
      node.setAttribute(name, "");
    } else {
      node.setAttribute(name, String(value));
    }
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** Show or hide a node with the `hidden` attribute (so hidden parts are hidden from everyone). */
export function show(node, visible) {
  node.hidden = !visible;
}

/** Replace a node's children. */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
}

/** A table with column headers, in a box that scrolls sideways on narrow screens. */
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

/** "Request ID abc123", small, for support: every API error shows it. */
export function requestIdLine(requestId) {
  if (!requestId) return null;
  return el("p", { class: "request-id" }, "Request ID ", el("code", {}, requestId));
}

/**
 * A message box's content: a title, a sentence or two, and the request id of the error behind it.
 * `detail` may be a string or nodes (a countdown, a time).
 */
export function messageContent({ title, detail, error }) {
  return [
    title ? el("p", { class: "notice-title" }, title) : null,
    detail ? el("p", {}, ...(Array.isArray(detail) ? detail : [detail])) : null,
    requestIdLine(error?.requestId),
  ];
}

/** Mark a button as working (disabled, aria-busy, optionally relabelled) or give it back. */
export function setBusy(button, busy, busyLabel) {
  if (busy) {
    button.dataset.label ??= button.textContent;
    if (busyLabel) button.textContent = busyLabel;
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
  } else {
    if (button.dataset.label) button.textContent = button.dataset.label;
    delete button.dataset.label;
    button.removeAttribute("aria-busy");
    button.disabled = false;
  }
}
