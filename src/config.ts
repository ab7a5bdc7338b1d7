import type { Env } from "./env";
import type { LatePayments } from "./contract/shapes";

/** Tunables read from the environment, with the documented defaults. */
export interface Config {
  holdTtlMs: number;
  paymentTtlMs: number;
  maxQtyPerHold: number;
  maxUnitsPerShopper: number;
  latePayments: LatePayments;
  retentionMs: number;
  /** RATE_LIMITS: `on` or `off`, nothing else. */
  rateLimits: boolean;
  /** MAX_LIVE_SOCKETS: live sockets one product may have open in all. */
  maxLiveSockets: number;
  /** LIVE_SOCKETS_PER_RELAY: live sockets one relay object carries. */
  liveSocketsPerRelay: number;
}

function onOff(name: string, raw: string | undefined): boolean {
  if (raw === "on") return true;
  if (raw === "off") return false;
  throw new Error(`Configuration ${name} must be on or off, got "${raw ?? ""}"`);
}

function latePayments(raw: string | undefined): LatePayments {
  if (raw === undefined || raw.trim() === "" || raw === "refund") return "refund";
  if (raw === "accept_if_available") return raw;
  throw new Error(
    `Configuration LATE_PAYMENTS must be refund or accept_if_available, got "${raw}"`,
  );
}

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`Configuration ${name} must be a positive integer, got "${raw}"`);
  }
  return value;
}

const cache = new WeakMap<object, Config>();

export function configFrom(env: Env): Config {
  let config = cache.get(env);
  if (!config) {
    config = {
      holdTtlMs: positiveInt("HOLD_TTL_SECONDS", env.HOLD_TTL_SECONDS, 120) * 1000,
      paymentTtlMs: positiveInt("PAYMENT_TTL_SECONDS", env.PAYMENT_TTL_SECONDS, 900) * 1000,
      maxQtyPerHold: positiveInt("MAX_QTY_PER_HOLD", env.MAX_QTY_PER_HOLD, 5),
      maxUnitsPerShopper: positiveInt("MAX_UNITS_PER_SHOPPER", env.MAX_UNITS_PER_SHOPPER, 2),
      latePayments: latePayments(env.LATE_PAYMENTS),
      retentionMs: positiveInt("RETENTION_DAYS", env.RETENTION_DAYS, 30) * 86_400_000,
      rateLimits: onOff("RATE_LIMITS", env.RATE_LIMITS),
      maxLiveSockets: positiveInt("MAX_LIVE_SOCKETS", env.MAX_LIVE_SOCKETS, 50_000),
      liveSocketsPerRelay: positiveInt("LIVE_SOCKETS_PER_RELAY", env.LIVE_SOCKETS_PER_RELAY, 2_500),
    };
    cache.set(env, config);
  }
  return config;
}
