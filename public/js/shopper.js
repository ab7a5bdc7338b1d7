// Who is shopping, and what they have going on, kept across reloads.
//
// With shopper_identity "header" (no SHOPPER_TOKEN_SECRET: local use, or a trusted backend in
// front), the page makes up a shopper id once and keeps it in localStorage, so the per-shopper
// limit follows the shopper across reloads. With "token", the shopper pastes a JWT (from their
// storefront backend, or `npm run shopper-token` locally); it is kept for this tab only.

import { randomId } from "./api.js";

const SHOPPER_ID_KEY = "flash-sale:shopper-id";
const TOKEN_KEY = "flash-sale:shopper-token";

/** localStorage or sessionStorage, or a stand-in in memory where storage is off (private modes). */
function storage(kind) {
  try {
    const store = window[kind];
    store.getItem("probe");
    return store;
  } catch {
    const memory = new Map();
    return {
      getItem: (k) => memory.get(k) ?? null,
      setItem: (k, v) => memory.set(k, String(v)),
      removeItem: (k) => memory.delete(k),
    };
  }
}
const local = storage("localStorage");
const session = storage("sessionStorage");

/** A JWT's claims, read without verifying it: only to show who the page shops as. */
export function tokenClaims(token) {
  try {
    const payload = token.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
    return JSON.parse(atob(payload));
  } catch {
    return null;
  }
}

export class Shopper {
  /** @param {"header"|"token"} mode from GET /api/config's shopper_identity */
  constructor(mode) {
    this.mode = mode;
    this.shopperId = null;
    this.token = null;
    if (mode === "token") {
      this.token = session.getItem(TOKEN_KEY);
    } else {
      this.shopperId = local.getItem(SHOPPER_ID_KEY) ?? this.newId();
    }
  }

  /** A new generated shopper id (header mode): a new person, as far as the limits go. */
  newId() {
    this.shopperId = `shopper-${randomId(8)}`;
    local.setItem(SHOPPER_ID_KEY, this.shopperId);
    return this.shopperId;
  }

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

  /** The headers every shopper call carries. */
  headers() {
    if (this.mode === "token") return this.token ? { authorization: `Bearer ${this.token}` } : {};
    return this.shopperId ? { "x-shopper-id": this.shopperId } : {};
  }

  /**
   * What this shopper has going on for a product (step, hold, order, queue ticket), kept for the
   * tab: a reload, or a phone dropping the tab, must not lose a hold or an order.
   */
  loadProgress(productId) {
    try {
      return JSON.parse(session.getItem(this.progressKey(productId)) ?? "null");
    } catch {
      return null;
    }
  }

  saveProgress(productId, progress) {
    if (progress) session.setItem(this.progressKey(productId), JSON.stringify(progress));
    else session.removeItem(this.progressKey(productId));
  }

  progressKey(productId) {
    return `flash-sale:checkout:${productId}:${this.name ?? "anonymous"}`;
  }
}
