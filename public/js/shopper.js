// Who is shopping, and what they have going on, kept across reloads.
//
// With shopper_identity "header" (no SHOPPER_TOKEN_SECRET: local use, or a trusted backend in
// front), the page makes up a shopper id once and keeps it in localStorage, so the per-shopper
// limit follows the shopper across reloads. With "token", the shopper pastes a JWT (from their
// storefront backend, or `npm run shopper-token` locally); it is kept for this tab only. With
// "none" (the deployment trusts neither), the page names no one and shops anonymously, where the
// deployment allows that.

import { randomId } from "./api.js";

/** @typedef {import("./api-types.js").Hold} Hold */
/** @typedef {import("./api-types.js").Order} Order */
/** @typedef {import("./api-types.js").QueueTicket} QueueTicket */

/**
 * Where a purchase stands, as the storefront keeps it for the tab.
 * @typedef {object} Progress
 * @property {string} step
 * @property {number} qty
 * @property {(Partial<QueueTicket> & { ticket: string }) | null} ticket
 * @property {Hold | null} hold
 * @property {Order | null} order
 */

/** @typedef {Pick<Storage, "getItem" | "setItem" | "removeItem">} Store */

const SHOPPER_ID_KEY = "flash-sale:shopper-id";
const TOKEN_KEY = "flash-sale:shopper-token";

/**
 * localStorage or sessionStorage, or a stand-in in memory where storage is off (private modes).
 * @param {"localStorage" | "sessionStorage"} kind
 * @returns {Store}
 */
function storage(kind) {
  try {
    const store = window[kind];
    store.getItem("probe");
    return store;
  } catch {
    /** @type {Map<string, string>} */
    const memory = new Map();
    return {
      getItem: (k) => memory.get(k) ?? null,
      setItem: (k, v) => void memory.set(k, String(v)),
      removeItem: (k) => void memory.delete(k),
    };
  }
}
const local = storage("localStorage");
const session = storage("sessionStorage");

/**
 * A JWT's claims, read without verifying it: only to show who the page shops as.
 * @param {string | null} token
 * @returns {{ sub?: string } | null}
 */
export function tokenClaims(token) {
  try {
    const payload = (token ?? "").split(".")[1] ?? "";
    return JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/")));
  } catch {
    return null;
  }
}

export class Shopper {
  /** @param {"header"|"token"|"none"} mode from GET /api/config's shopper_identity */
  constructor(mode) {
    this.mode = mode;
    /** @type {string | null} */
    this.shopperId = null;
    /** @type {string | null} */
    this.token = null;
    if (mode === "token") {
      this.token = session.getItem(TOKEN_KEY);
    } else if (mode === "header") {
      this.shopperId = local.getItem(SHOPPER_ID_KEY) ?? this.newId();
    }
  }

  /**
   * A new generated shopper id (header mode): a new person, as far as the limits go.
   * @returns {string}
   */
  newId() {
    this.shopperId = `shopper-${randomId(8)}`;
    local.setItem(SHOPPER_ID_KEY, this.shopperId);
    return this.shopperId;
  }

  /** @param {string | null} token */
  setToken(token) {
    this.token = token;
    if (token) session.setItem(TOKEN_KEY, token);
    else session.removeItem(TOKEN_KEY);
  }

  /** Signed in (token mode), or named (header mode). */
  get ready() {
    return this.mode === "token" ? Boolean(this.token) : true;
  }

  /** The name shown on the page: the token's subject, or the generated id. */
  get name() {
    return this.mode === "token" ? (tokenClaims(this.token)?.sub ?? null) : this.shopperId;
  }

  /**
   * The headers every shopper call carries.
   * @returns {Record<string, string>}
   */
  headers() {
    if (this.mode === "token") return this.token ? { authorization: `Bearer ${this.token}` } : {};
    return this.shopperId ? { "x-shopper-id": this.shopperId } : {};
  }

  /**
   * What this shopper has going on for a product (step, hold, order, queue ticket), kept for the
   * tab: a reload, or a phone dropping the tab, must not lose a hold or an order.
   * @param {number} productId
   * @returns {Partial<Progress> | null}
   */
  loadProgress(productId) {
    try {
      return JSON.parse(session.getItem(this.progressKey(productId)) ?? "null");
    } catch {
      return null;
    }
  }

  /**
   * @param {number} productId
   * @param {Progress | null} progress
   */
  saveProgress(productId, progress) {
    if (progress) session.setItem(this.progressKey(productId), JSON.stringify(progress));
    else session.removeItem(this.progressKey(productId));
  }

  /**
   * How many units of a product this shopper has, as far as this browser knows: its active
   * holds, pending orders (until they could still be paid) and paid orders count towards the
   * per-shopper limit, as on the server. The server stays the authority: this only keeps the
   * quantity picker from offering what would surely be refused.
   * @param {number} productId
   * @param {number} now server time, ms
   */
  owned(productId, now) {
    let total = 0;
    for (const unit of Object.values(this.units(productId))) {
      if (unit.until === null || unit.until > now) total += unit.qty;
    }
    return total;
  }

  /**
   * Count a hold or an order (by its id) towards what this shopper has, until `until` (ms), or
   * for good (null: paid).
   * @param {number} productId
   * @param {string} id
   * @param {{ qty: number, until: number | null }} unit
   */
  noteUnits(productId, id, unit) {
    const units = this.units(productId);
    units[id] = unit;
    local.setItem(this.unitsKey(productId), JSON.stringify(units));
  }

  /**
   * A hold or an order that no longer counts (removed, expired, failed, cancelled, or ordered:
   * its order counts instead).
   * @param {number} productId
   * @param {string} id
   */
  forgetUnits(productId, id) {
    const units = this.units(productId);
    delete units[id];
    local.setItem(this.unitsKey(productId), JSON.stringify(units));
  }

  /**
   * @param {number} productId
   * @returns {Record<string, { qty: number, until: number | null }>}
   */
  units(productId) {
    try {
      return JSON.parse(local.getItem(this.unitsKey(productId)) ?? "{}");
    } catch {
      return {};
    }
  }

  /** @param {number} productId */
  unitsKey(productId) {
    return `flash-sale:units:${productId}:${this.name ?? "anonymous"}`;
  }

  /** @param {number} productId */
  progressKey(productId) {
    return `flash-sale:checkout:${productId}:${this.name ?? "anonymous"}`;
  }
}
