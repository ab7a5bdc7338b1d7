/**
 * The coordinator's side of the escrow: a product's total stock, the pool not yet granted to any
 * shard, and per shard what was granted and returned, with sequence numbers. Units leave the pool
 * only in a grant, which debits the pool in the same transaction as it records the grant in the
 * outbox (the giver debits first); they come back only in a return the shard already debited.
 *
 * I1, the coordinator's invariant, after every function here:
 *   pool + sum over k of (granted[k] - returned[k]) = total,   pool >= 0.
 * I3 follows from the rules of transfer.ts: a shard applies only grants the coordinator issued
 * (granted_k applied <= granted[k]) and the coordinator applies only returns the shard issued
 * (returned[k] <= returned_k issued). With I2 (quota.ts), no oversell:
 *   sum_k (reserved_k + sold_k) <= sum_k (stock_k + sold_k) = sum_k (granted_k - returned_k)
 *                              <= sum_k (granted[k] - returned[k]) = total - pool <= total.
 */
import { invariant, newerReport, type Applied, type ShardReport, type Transfer } from "./transfer";

export interface ShardAccount {
  /** The last grant issued to the shard, and the units of all grants issued. */
  grantSeq: number;
  granted: number;
  /** The last return applied from the shard, and the units of all returns applied. */
  returnSeq: number;
  returned: number;
  /** The most recent report the shard sent (null: never heard from). */
  report: ShardReport | null;
}

export interface Ledger {
  /** Every unit the product ever had: initial stock plus restocks. */
  total: number;
  /** Units not granted to any shard. */
  pool: number;
  /** One account per shard ever used, by shard number. */
  accounts: ShardAccount[];
  /** Grants debited here that their shard has not yet reported applied, oldest first. */
  outbox: (Transfer & { shard: number })[];
}

export function newLedger(total: number, shards: number): Ledger {
  const ledger: Ledger = { total, pool: total, accounts: [], outbox: [] };
  ensureShards(ledger, shards);
  return ledger;
}

/** Room for shards 0..n-1. Accounts are never removed: a shard of an earlier N keeps its ledger. */
export function ensureShards(ledger: Ledger, n: number): void {
  while (ledger.accounts.length < n) {
    ledger.accounts.push({ grantSeq: 0, granted: 0, returnSeq: 0, returned: 0, report: null });
  }
}

function account(ledger: Ledger, shard: number): ShardAccount {
  const found = ledger.accounts[shard];
  invariant(found !== undefined, `no account for shard ${shard}`);
  return found;
}

/** A restock: new units go to the pool (and the sold-out certificate, if any, no longer holds). */
export function restock(ledger: Ledger, qty: number): void {
  invariant(qty > 0, `restock of ${qty}`);
  ledger.total += qty;
  ledger.pool += qty;
}

/**
 * Grant units to a shard: the pool is debited and the grant recorded in this transaction, before
 * anything is sent. Returns the grant to send, or null when the pool cannot cover it.
 */
export function grant(ledger: Ledger, shard: number, qty: number): Transfer | null {
  if (qty <= 0 || ledger.pool < qty) return null;
  const held = account(ledger, shard);
  ledger.pool -= qty;
  held.granted += qty;
  held.grantSeq += 1;
  const transfer = { seq: held.grantSeq, qty };
  ledger.outbox.push({ shard, ...transfer });
  return transfer;
}

/** Grants to `shard` not yet reported applied, in order: what a resend (or a reply) carries. */
export function unacknowledged(ledger: Ledger, shard: number): Transfer[] {
  return ledger.outbox.filter((t) => t.shard === shard).map(({ seq, qty }) => ({ seq, qty }));
}

/**
 * Apply a return from a shard: once, in order (a duplicate is acknowledged and ignored; a gap
 * waits for the shard's resend of the earlier one).
 */
export function receiveReturn(ledger: Ledger, shard: number, transfer: Transfer): Applied {
  const held = account(ledger, shard);
  if (transfer.seq <= held.returnSeq) return "duplicate";
  if (transfer.seq !== held.returnSeq + 1) return "gap";
  invariant(transfer.qty > 0, `return of ${transfer.qty}`);
  held.returnSeq = transfer.seq;
  held.returned += transfer.qty;
  invariant(held.returned <= held.granted, `shard ${shard} returned more than it was granted`);
  ledger.pool += transfer.qty;
  return "applied";
}

/**
 * A shard's report (every message from a shard carries one): kept if it is the most recent yet,
 * and every grant it says it applied leaves the outbox.
 */
export function noteReport(ledger: Ledger, report: ShardReport): void {
  const held = account(ledger, report.shard);
  invariant(
    report.grantSeq <= held.grantSeq && report.granted <= held.granted,
    `shard ${report.shard} reports grants never issued (I3)`,
  );
  if (newerReport(held.report, report)) held.report = report;
  ledger.outbox = ledger.outbox.filter((t) => t.shard !== report.shard || t.seq > report.grantSeq);
}

/**
 * The sold-out certificate: true only when every unit is sold. It needs no barrier and no clock:
 * the pool is empty, and every shard that was ever granted a unit has reported, after applying
 * every grant it was ever issued and with every return it issued applied here, that it had
 * nothing free and nothing reserved. A shard's stock only grows by a grant; since that report it
 * got none (its grant count is still the one it reported), so it still has none. A stale report
 * is therefore as good as a fresh one here; it can only delay the certificate.
 */
export function soldOut(ledger: Ledger): boolean {
  if (ledger.pool !== 0) return false;
  let sold = 0;
  for (const held of ledger.accounts) {
    if (held.grantSeq === 0) continue;
    const report = held.report;
    if (
      report === null ||
      report.grantSeq !== held.grantSeq ||
      report.returnSeq !== held.returnSeq ||
      report.free !== 0 ||
      report.reserved !== 0
    ) {
      return false;
    }
    sold += report.sold;
  }
  // The pair assertion: by I1-I3 everything granted and not returned was sold.
  invariant(sold === ledger.total, `sold-out certificate with ${sold} of ${ledger.total} sold`);
  return true;
}

/**
 * The end of a sale: the pool can no longer give every active shard a minimum block. Then the
 * coordinator recalls free units from shards that hold more than `keep` (by their last reports),
 * so the units go to the shards whose shoppers still ask, and grants shrink to what is asked.
 */
export function endgame(ledger: Ledger, activeShards: number, minBlock: number): boolean {
  return ledger.pool < activeShards * minBlock;
}

/**
 * Whom a recall should ask: the shards whose last reports show more than `keep` free units, most
 * free first, at most `limit` of them (one request can hold only 6 outgoing connections, and a
 * recall that reaches every shard at N = 256 costs more than the units it moves are worth).
 */
export function recallTargets(
  ledger: Ledger,
  keep: number,
  options: { except?: number; limit?: number } = {},
): number[] {
  const { except, limit = Infinity } = options;
  const targets: { shard: number; free: number }[] = [];
  ledger.accounts.forEach((held, shard) => {
    const free = held.report?.free ?? 0;
    if (shard !== except && free > keep) targets.push({ shard, free });
  });
  targets.sort((a, b) => b.free - a.free || a.shard - b.shard);
  return targets.slice(0, limit).map((t) => t.shard);
}

/** What a shard holds by the coordinator's books: granted and not returned (sold included). */
export function allotted(ledger: Ledger, shard: number): number {
  const held = account(ledger, shard);
  return held.granted - held.returned;
}

/** I1, checked: the pair assertion to the arithmetic above. */
export function checkLedger(ledger: Ledger): void {
  const out = ledger.accounts.reduce((sum, held) => sum + held.granted - held.returned, 0);
  invariant(ledger.pool >= 0, `pool ${ledger.pool}`);
  invariant(
    ledger.pool + out === ledger.total,
    `I1: pool ${ledger.pool} + out ${out} != total ${ledger.total}`,
  );
  for (const [shard, held] of ledger.accounts.entries()) {
    invariant(held.returned <= held.granted, `shard ${shard}: returned > granted`);
  }
}
