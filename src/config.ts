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
    };
    cache.set(env, config);
  }
  return config;
}
