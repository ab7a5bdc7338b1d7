// The operator's session: the admin token, in this module's memory only (never in storage or the
// URL: closing or reloading the tab signs the operator out, and nothing on disk can leak it), and
// the one way the console calls admin routes with it.

import { RequestError, request } from "./api.js";

/** @type {string | null} */
let adminToken = null;
/** @type {(error: RequestError) => void} */
let onRefused = () => {};

/** Thrown instead of an API error once the session is over: callers just stop. */
export class SignedOut extends Error {}

/**
 * @param {string} token
 * @param {(error: RequestError) => void} whenRefused
 */
export function startSession(token, whenRefused) {
  adminToken = token;
  onRefused = whenRefused;
}

export function endSession() {
  adminToken = null;
}

/**
 * An admin call. A 401 means the token is wrong (or was rotated): back to the sign-in form.
 * @param {string} path
 * @param {import("./api.js").RequestOptions} [options]
 */
export async function admin(path, options = {}) {
  if (!adminToken) throw new SignedOut();
  try {
    return await request(path, {
      ...options,
      headers: { ...options.headers, authorization: `Bearer ${adminToken}` },
    });
  } catch (error) {
    if (error instanceof RequestError && error.status === 401 && adminToken) {
      adminToken = null;
      onRefused(error);
      throw new SignedOut();
    }
    throw error;
  }
}
