// The one way the pages talk to the API: same-origin fetch, JSON in and out, and every error
// turned into a RequestError carrying the API's code, message and request id (support traces a
// problem by that id, so the pages always show it).

/** @typedef {import("./api-types.js").Schemas["Error"]["error"]} ErrorBody */

/** A failed call: `status` 0 means the server could not be reached at all. */
export class RequestError extends Error {
  /**
   * @param {object} fields
   * @param {number} fields.status
   * @param {string} fields.code the API's error code, or network_error / http_<status>
   * @param {string} fields.message
   * @param {string | null} [fields.requestId]
   * @param {number | null} [fields.retryAfter]
   */
  constructor({ status, code, message, requestId = null, retryAfter = null }) {
    super(message);
    this.name = "RequestError";
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    /** Seconds, from Retry-After (429, 503), when the server sent one. */
    this.retryAfter = retryAfter;
  }
}

/**
 * How far the server's clock is ahead of this browser's, in ms, from the Date header of the
 * latest answer. Countdowns compare the server's deadlines with Date.now(); a phone whose clock
 * is a minute off would otherwise show a hold with a minute more or less than it really has.
 * Date has one-second resolution and is stamped somewhere between our sending the request and
 * its answer arriving, so only a Date outside [sent - 1 s, received] says the clocks differ, and
 * differences under 2 s are treated as none (a countdown must not jump about).
 */
let clockSkewMs = 0;

/**
 * @param {Response} response
 * @param {number} sentAt
 */
function noteServerClock(response, sentAt) {
  const date = Date.parse(response.headers.get("date") ?? "");
  if (Number.isNaN(date)) return;
  const receivedAt = Date.now();
  let skew = 0;
  if (date + 1_000 < sentAt) skew = date + 1_000 - sentAt;
  else if (date > receivedAt) skew = date - receivedAt;
  clockSkewMs = Math.abs(skew) < 2_000 ? 0 : skew;
}

/** Now, on the server's clock (as far as we can tell). */
export function serverNow() {
  return Date.now() + clockSkewMs;
}

/**
 * @typedef {object} RequestOptions
 * @property {string} [method]
 * @property {unknown} [body] sent as JSON
 * @property {Record<string, string>} [headers]
 */

/**
 * Call the API. `body` is sent as JSON; `headers` are added as given. Resolves with
 * `{ data, status, headers }` for 2xx answers and throws RequestError for everything else. `data` is
 * the parsed JSON as `unknown`: each caller says which of the API's shapes (api-types.js) it is.
 * @param {string} path
 * @param {RequestOptions} [options]
 * @returns {Promise<{ data: unknown, status: number, headers: Headers }>}
 */
export async function request(path, { method = "GET", body, headers = {} } = {}) {
  /** @type {Record<string, string>} */
  const sent = { accept: "application/json", ...headers };
  /** @type {RequestInit} */
  const init = { method, headers: sent };
  if (body !== undefined) {
    sent["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  const sentAt = Date.now();
  try {
    response = await fetch(path, init);
  } catch {
    throw new RequestError({
      status: 0,
      code: "network_error",
      message: "The shop cannot be reached. Check your connection and try again.",
    });
  }
  noteServerClock(response, sentAt);
  const text = await response.text();
  /** @type {unknown} */
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (a proxy's error page): the status below still says what happened.
  }
  if (!response.ok) {
    const error = /** @type {{ error?: Partial<ErrorBody> } | null} */ (data)?.error;
    const retryAfter = Number.parseInt(response.headers.get("retry-after") ?? "", 10);
    throw new RequestError({
      status: response.status,
      code: error?.code ?? `http_${response.status}`,
      message: error?.message ?? `The server answered ${response.status} ${response.statusText}.`,
      requestId: error?.request_id ?? response.headers.get("request-id"),
      retryAfter: Number.isFinite(retryAfter) ? retryAfter : null,
    });
  }
  return { data, status: response.status, headers: response.headers };
}

/**
 * A fresh idempotency key. crypto.randomUUID exists only in secure contexts (https, localhost);
 * a page opened over a LAN address still gets a random v4 UUID from getRandomValues.
 */
export function newKey() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A short random string for generated names (shopper ids). */
export function randomId(length = 10) {
  const alphabet = "abcdefghijkmnopqrstuvwxyz23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join("");
}
