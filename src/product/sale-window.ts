import { failure, type Failure } from "../contract/errors";

/** When a product can be held: from `sale_starts_at` (inclusive) until `sale_ends_at` (exclusive). */
export interface SaleWindow {
  sale_starts_at: number | null;
  sale_ends_at: number | null;
}

export function saleClosedFailure(window: SaleWindow, now: number): Failure | null {
  if (window.sale_starts_at !== null && now < window.sale_starts_at) {
    const at = new Date(window.sale_starts_at).toISOString();
    return failure("sale_not_started", `The sale starts at ${at}.`);
  }
  if (window.sale_ends_at !== null && now >= window.sale_ends_at) {
    const at = new Date(window.sale_ends_at).toISOString();
    return failure("sale_ended", `The sale ended at ${at}.`);
  }
  return null;
}

/** The window of a catalogue entry (ISO strings) in epoch ms. */
export function windowOf(entry: {
  sale_starts_at: string | null;
  sale_ends_at: string | null;
}): SaleWindow {
  return {
    sale_starts_at: entry.sale_starts_at === null ? null : Date.parse(entry.sale_starts_at),
    sale_ends_at: entry.sale_ends_at === null ? null : Date.parse(entry.sale_ends_at),
  };
}

/** The window must still make sense once the change is applied to what the product has now. */
export function windowOrderFailure(window: SaleWindow): Failure | null {
  const { sale_starts_at: start, sale_ends_at: end } = window;
  if (start !== null && end !== null && end <= start) {
    return failure("invalid_request", "sale_ends_at: must be later than sale_starts_at");
  }
  return null;
}
