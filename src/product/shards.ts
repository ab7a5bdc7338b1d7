/**
 * The escrow of docs/sharding.md inside the product object: the pure functions of src/shards/
 * run over this object's rows, each call one synchronous transaction (read the state, apply the
 * function, write the state back). Two roles, one class:
 *
 * - the **coordinator**, a product's own object: its product row keeps the whole product's stock;
 *   `lent` counts what shards were granted and did not give back, so its pool is
 *   stock - reserved - lent, and its ledger (`shard_accounts`, `shard_grants_out`) numbers every
 *   grant and return;
 * - **shard k**, the object named `<product>:<k>`: its product row's `stock` is its quota (units
 *   it may still sell), `restocked` what it was granted net of what it gave back, so today's hold,
 *   order and payment code sells from it unchanged; `shard_quota` and `shard_returns_out` number
 *   its transfers.
 */
import {
  ackReturns,
  applyGrant,
  beginReturn,
  reportOf,
  surplus,
  type ShardQuota,
} from "../shards/quota";
import {
  ensureShards,
  grant,
  noteReport,
  receiveReturn,
  soldOut,
  unacknowledged,
  checkLedger,
  endgame as inEndgame,
  allotted,
  type Ledger,
} from "../shards/ledger";
import { grantSize, type BlockPolicy } from "../shards/blocks";
import { invariant, type ShardReport, type Transfer } from "../shards/transfer";
import type { Failure } from "../contract/errors";
import { ownerOfHold } from "../contract/ids";
import type { Admitted, HoldRejected } from "./holds";
import type { HoldAdmission } from "./queue";
import { productRow, type ProductRow } from "./product-row";
import { rows, type Tx } from "./tx";

/** Block sizes for a real sale (the simulation's: docs/sharding.md, "The simulation"). */
export const SHARD_BLOCKS: BlockPolicy = { refillMs: 3_000, minBlock: 4, maxBlock: 2_000 };
/** A recall asks at most this many shards (a request has 6 outgoing connections). */
export const RECALL_LIMIT = 6;

/** The shard an object's name says it is: `<product>:<k>`; null for a product's own object. */
export function shardOfName(name: string | undefined): number | null {
  const match = name === undefined ? null : /^[1-9][0-9]{0,9}:(0|[1-9][0-9]{0,2})$/.exec(name);
  return match ? Number(match[1]) : null;
}

// ---- the coordinator ---------------------------------------------------------------------------

interface AccountRow {
  shard: number;
  grant_seq: number;
  granted: number;
  return_seq: number;
  returned: number;
  report: string | null;
}

/** The ledger as the rows have it. The pool is what the product row has neither reserved nor lent. */
export function loadLedger(tx: Pick<Tx, "sql">, product: ProductRow = productRow(tx.sql)): Ledger {
  const pool = product.stock - product.reserved - product.lent;
  const ledger: Ledger = { total: pool + product.lent, pool, accounts: [], outbox: [] };
  for (const row of rows<AccountRow>(tx.sql.exec("SELECT * FROM shard_accounts ORDER BY shard"))) {
    ensureShards(ledger, row.shard + 1);
    ledger.accounts[row.shard] = {
      grantSeq: row.grant_seq,
      granted: row.granted,
      returnSeq: row.return_seq,
      returned: row.returned,
      report: row.report === null ? null : (JSON.parse(row.report) as ShardReport),
    };
  }
  ensureShards(ledger, product.shards);
  ledger.outbox = rows<{ shard: number; seq: number; qty: number }>(
    tx.sql.exec("SELECT shard, seq, qty FROM shard_grants_out ORDER BY shard, seq"),
  );
  loaded.set(ledger, { accounts: ledger.accounts.map(accountKey), outbox: outboxKey(ledger) });
  return ledger;
}

/**
 * The ledger as it was read, so that a save writes only the accounts that changed: one grant
 * touches one account, whatever N (a queued hold on a product of 256 shards is one grant).
 */
const loaded = new WeakMap<Ledger, { accounts: string[]; outbox: string }>();
const accountKey = (held: Ledger["accounts"][number]): string => JSON.stringify(held);
const outboxKey = (ledger: Ledger): string => JSON.stringify(ledger.outbox);

/** Write the ledger back: `lent` (so the pool follows), the accounts and the outbox of grants. */
export function saveLedger(tx: Tx, ledger: Ledger): void {
  checkLedger(ledger);
  const lent = ledger.accounts.reduce((sum, held) => sum + held.granted - held.returned, 0);
  tx.sql.exec("UPDATE product SET lent = ?", lent);
  const before = loaded.get(ledger);
  ledger.accounts.forEach((held, shard) => {
    if (before?.accounts[shard] === accountKey(held)) return;
    tx.sql.exec(
      `INSERT INTO shard_accounts (shard, grant_seq, granted, return_seq, returned, report)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (shard) DO UPDATE SET grant_seq = excluded.grant_seq, granted = excluded.granted,
         return_seq = excluded.return_seq, returned = excluded.returned, report = excluded.report`,
      shard,
      held.grantSeq,
      held.granted,
      held.returnSeq,
      held.returned,
      held.report === null ? null : JSON.stringify(held.report),
    );
  });
  if (before?.outbox !== outboxKey(ledger)) {
    tx.sql.exec("DELETE FROM shard_grants_out");
    for (const out of ledger.outbox) {
      tx.sql.exec(
        "INSERT INTO shard_grants_out (shard, seq, qty) VALUES (?, ?, ?)",
        out.shard,
        out.seq,
        out.qty,
      );
    }
  }
  loaded.set(ledger, { accounts: ledger.accounts.map(accountKey), outbox: outboxKey(ledger) });
  // The pair assertion: what the rows now say is what the ledger says.
  const after = productRow(tx.sql);
  invariant(after.stock - after.reserved - after.lent === ledger.pool, "pool written wrong");
}

/** What a shard asks for when it borrows. */
export interface BorrowRequest {
  report: ShardReport;
  /** Units a waiting hold (or late payment) needs (0: asking ahead). */
  need: number;
  /** The block the shard would like (its recent rate over one refill interval). */
  want: number;
  /** The units are for a late payment the product would accept if it had them. */
  late?: boolean;
  /**
   * While the product's queue is on: the admission a hold was sent with, redeemed here for exactly
   * `need` units and used up under the id the hold will have.
   */
  admission?: HoldAdmission & { shopperId: string | null; holdId: string };
}

export interface BorrowAnswer {
  /** Every grant to this shard not yet reported applied, in order (the new one included). */
  grants: Transfer[];
  /** The units of the grant made now (0: none). */
  granted: number;
  /**
   * An admission redeemed: the id its hold must have (the one it was first redeemed under, when
   * this is a retry or a second hold on the same admission).
   */
  holdId?: string;
  /** Units free across the product after this borrow, as the coordinator knows them. */
  available: number;
}

/** The coordinator's queue while it is on, as a borrow needs it. */
export interface QueueGate {
  /** Units unused admissions are counting on. */
  unused: number;
  /** The admission a hold was sent with, checked and used as a hold here would use it. */
  admissionFor(admission: HoldAdmission, shopperId: string | null): Admitted;
}

/**
 * A shard borrows: its report is noted, and units are granted from the pool, debited here in this
 * transaction before the answer leaves. A shard of an earlier N (k >= shards) gets nothing new.
 * While the queue is on, every free unit is the queue's: a hold gets units only for its
 * admission, a late payment only what no unused admission counts on, and nothing is lent ahead.
 */
export function lend(
  tx: Tx,
  shard: number,
  request: BorrowRequest,
  queue: QueueGate | null,
): BorrowAnswer | HoldRejected | Failure {
  const product = productRow(tx.sql);
  const ledger = loadLedger(tx, product);
  ensureShards(ledger, shard + 1);
  invariant(request.report.shard === shard, "a report from another shard");
  noteReport(ledger, request.report);
  const decided: Decided | HoldRejected | Failure =
    shard >= product.shards
      ? { size: 0 }
      : queue
        ? queuedGrant(tx, shard, ledger.pool, request, queue)
        : {
            size: grantSize({
              pool: ledger.pool,
              // Holds that waited together ask together: what the pool has of their units is
              // worth granting even when it cannot cover them all.
              need: Math.min(request.need, ledger.pool),
              want: request.want,
              activeShards: product.shards,
              endgame: inEndgame(ledger, product.shards, SHARD_BLOCKS.minBlock),
            }),
          };
  if ("ok" in decided) {
    saveLedger(tx, ledger); // the report noted
    return decided;
  }
  const made = decided.size > 0 ? grant(ledger, shard, decided.size) : null;
  if (made) {
    decided.use?.();
    tx.log("Units granted to a shard.", {
      product_id: tx.productId,
      shard,
      grant_seq: made.seq,
      qty: made.qty,
      pool: ledger.pool,
      ...(request.admission ? { admission_seq: request.admission.seq } : {}),
    });
  }
  saveLedger(tx, ledger);
  return {
    grants: unacknowledged(ledger, shard),
    granted: made?.qty ?? 0,
    available: freeAcross(ledger),
    ...(decided.holdId && (made || decided.again) ? { holdId: decided.holdId } : {}),
  };
}

/** What a borrow is to get: its size, and for an admission the hold id and its use. */
interface Decided {
  size: number;
  holdId?: string;
  /** The admission had been redeemed under `holdId` before. */
  again?: boolean;
  /** Count the admission used (once the grant is made). */
  use?: () => void;
}

/** What the queue lets a borrow have while it is on (see `lend`). */
function queuedGrant(
  tx: Tx,
  shard: number,
  pool: number,
  request: BorrowRequest,
  queue: QueueGate,
): Decided | HoldRejected | Failure {
  const admission = request.admission;
  if (!admission) {
    return { size: request.late && pool - queue.unused >= request.need ? request.need : 0 };
  }
  const again = redeemedBefore(tx, shard, admission);
  if (again) {
    // Redeemed before for this shopper on this shard: a retry of the hold whose answer was lost,
    // or a second hold on the same admission. Units again if the pool has them, under the same
    // hold id; the shard tells the two apart (the hold exists or not). Units granted twice are
    // free at the shard, which gives them back: none is made or lost.
    const offered = redeemedSize(pool, request.need, { heldBack: () => queue.unused });
    return { size: typeof offered === "number" ? offered : 0, holdId: again, again: true };
  }
  const admitted = queue.admissionFor(admission, admission.shopperId);
  const size = redeemedSize(pool, request.need, admitted);
  if (typeof size !== "number") return size;
  return { size, holdId: admission.holdId, use: () => admitted.use(admission.holdId) };
}

/**
 * The hold id an admission was already redeemed under, if that was by this shard for this shopper
 * (a hold retried after its first redemption's answer was lost).
 */
function redeemedBefore(
  tx: Tx,
  shard: number,
  admission: NonNullable<BorrowRequest["admission"]>,
): string | null {
  const used = rows<{ hold_id: string; shopper_id: string | null }>(
    tx.sql.exec(
      "SELECT hold_id, shopper_id FROM queue_admissions_used WHERE seq = ?",
      admission.seq,
    ),
  )[0];
  if (!used || used.shopper_id !== admission.shopperId) return null;
  return ownerOfHold(used.hold_id)?.shard === shard ? used.hold_id : null;
}

/**
 * Units for a hold's admission, as a hold on the coordinator would take them: the admission must
 * be valid and unused, and the hold must leave a unit for every other unused admission.
 */
function redeemedSize(
  pool: number,
  need: number,
  admitted: Pick<Admitted, "heldBack"> & Partial<Admitted>,
): number | HoldRejected | Failure {
  const refused = admitted.check?.();
  if (refused) return refused;
  const free = pool - admitted.heldBack();
  if (free >= need) return need;
  const left = Math.max(0, free);
  return {
    ok: false,
    code: "insufficient_stock",
    message: `Only ${left} unit(s) available, ${need} requested.`,
    available: left,
  };
}

/**
 * Shards a borrow that found the pool short should ask to give back their free units, at most
 * RECALL_LIMIT of them: first those that may have free units by their last reports (counting as
 * free what was granted to them since: a report travels with a borrow, before its grant is
 * applied), most first; then those that reported units held, which may have expired or been
 * released since (nothing tells the coordinator). A shard asked with nothing free gives nothing,
 * and its fresh report makes the next choice better.
 */
export function recallFrom(tx: Tx, except: number): number[] {
  const ledger = loadLedger(tx);
  const targets: { shard: number; free: number; reserved: number }[] = [];
  ledger.accounts.forEach((held, shard) => {
    const report = held.report;
    const free = (report?.free ?? 0) + held.granted - (report?.granted ?? 0);
    const reserved = report?.reserved ?? 0;
    if (shard !== except && (free > 0 || reserved > 0)) targets.push({ shard, free, reserved });
  });
  targets.sort((a, b) => b.free - a.free || b.reserved - a.reserved || a.shard - b.shard);
  return targets.slice(0, RECALL_LIMIT).map((t) => t.shard);
}

/** Returns from a shard, each applied once and in order; its report noted. */
export function takeBack(
  tx: Tx,
  shard: number,
  returns: Transfer[],
  report: ShardReport | null,
): { returnSeq: number } {
  const ledger = loadLedger(tx);
  ensureShards(ledger, shard + 1);
  for (const transfer of returns) {
    if (receiveReturn(ledger, shard, transfer) === "applied") {
      tx.log("Units returned by a shard.", {
        product_id: tx.productId,
        shard,
        return_seq: transfer.seq,
        qty: transfer.qty,
      });
    }
  }
  if (report) noteReport(ledger, report);
  saveLedger(tx, ledger);
  return { returnSeq: ledger.accounts[shard]?.returnSeq ?? 0 };
}

/** Reports fetched from shards (a read, a check): kept when newer, as every report is. */
export function noteReports(tx: Tx, reports: ShardReport[]): Ledger {
  const ledger = loadLedger(tx);
  for (const report of reports) {
    ensureShards(ledger, report.shard + 1);
    noteReport(ledger, report);
  }
  saveLedger(tx, ledger);
  return ledger;
}

/**
 * Units free across the product as the coordinator knows them: its pool and every shard's free
 * units by its last report, counting as free the grants made since (a shard never heard from
 * holds what it was granted).
 */
export function freeAcross(ledger: Ledger): number {
  let free = ledger.pool;
  ledger.accounts.forEach((held, k) => {
    const report = held.report;
    free += report === null ? allotted(ledger, k) : report.free + held.granted - report.granted;
  });
  return free;
}

/** Shards that ever got a unit or may get one: 0..n-1. */
export function knownShards(tx: Tx): number {
  const product = productRow(tx.sql);
  const row = tx.sql.exec("SELECT COALESCE(MAX(shard) + 1, 0) AS n FROM shard_accounts").one();
  return Math.max(product.shards > 1 ? product.shards : 0, row.n as number);
}

/**
 * The sold-out certificate (src/shards/ledger.ts `soldOut`): the pool is empty, nothing is held
 * here, and every shard ever granted a unit has reported, after its last grant and return, that
 * it has nothing free and nothing held.
 */
export function certifiedSoldOut(tx: Pick<Tx, "sql">, ledger: Ledger = loadLedger(tx)): boolean {
  return productRow(tx.sql).reserved === 0 && soldOut(ledger);
}

/** Grants not yet acknowledged, by shard: what the alarm resends. */
export function grantsToResend(tx: Tx): Map<number, Transfer[]> {
  const ledger = loadLedger(tx);
  const by = new Map<number, Transfer[]>();
  for (const out of ledger.outbox) by.set(out.shard, unacknowledged(ledger, out.shard));
  return by;
}

// ---- a shard -----------------------------------------------------------------------------------

interface QuotaRow {
  grant_seq: number;
  granted: number;
  return_seq: number;
  returned: number;
}

/** The quota as the rows have it: the product row's counters and the transfer numbers. */
export function loadQuota(tx: Tx, shard: number): ShardQuota {
  const product = productRow(tx.sql);
  const numbers = rows<QuotaRow>(tx.sql.exec("SELECT * FROM shard_quota"))[0] ?? {
    grant_seq: 0,
    granted: 0,
    return_seq: 0,
    returned: 0,
  };
  return {
    shard,
    stock: product.stock,
    reserved: product.reserved,
    sold: product.sold,
    grantSeq: numbers.grant_seq,
    granted: numbers.granted,
    returnSeq: numbers.return_seq,
    returned: numbers.returned,
    outbox: rows<Transfer>(tx.sql.exec("SELECT seq, qty FROM shard_returns_out ORDER BY seq")),
  };
}

/**
 * Write the quota back. Only transfers change it here (holds, orders and payments change
 * `reserved` and `sold` through their own statements), so this writes `stock`, `restocked` (what
 * was granted net of returns; the row's CHECK then reads stock + sold = granted - returned), the
 * numbers and the outbox of returns.
 */
export function saveQuota(tx: Tx, quota: ShardQuota): void {
  tx.sql.exec(
    "UPDATE product SET stock = ?, restocked = ?",
    quota.stock,
    quota.granted - quota.returned,
  );
  tx.sql.exec(
    `INSERT INTO shard_quota (id, grant_seq, granted, return_seq, returned) VALUES (1, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET grant_seq = excluded.grant_seq, granted = excluded.granted,
       return_seq = excluded.return_seq, returned = excluded.returned`,
    quota.grantSeq,
    quota.granted,
    quota.returnSeq,
    quota.returned,
  );
  tx.sql.exec("DELETE FROM shard_returns_out");
  for (const out of quota.outbox) {
    tx.sql.exec("INSERT INTO shard_returns_out (seq, qty) VALUES (?, ?)", out.seq, out.qty);
  }
}

/** This shard's report, as it stands. */
export function shardReport(tx: Tx, shard: number): ShardReport {
  return reportOf(loadQuota(tx, shard));
}

/** Grants from the coordinator: each applied once and in order (a duplicate changes nothing). */
export function applyGrants(tx: Tx, shard: number, grants: Transfer[]): ShardReport {
  const quota = loadQuota(tx, shard);
  let applied = 0;
  for (const transfer of grants) {
    if (applyGrant(quota, transfer) === "applied") applied += transfer.qty;
  }
  if (applied > 0) {
    saveQuota(tx, quota);
    tx.log("Grant applied by a shard.", {
      product_id: tx.productId,
      shard,
      grant_seq: quota.grantSeq,
      qty: applied,
    });
  }
  return reportOf(quota);
}

/**
 * Give free units back, keeping `keep` free: debited here, in this transaction, before anything is
 * sent, and kept in the outbox until the coordinator acknowledges them.
 */
export function giveBack(
  tx: Tx,
  shard: number,
  keep: number,
): { returns: Transfer[]; report: ShardReport } {
  const quota = loadQuota(tx, shard);
  const made = beginReturn(quota, surplus(quota, keep));
  if (made) {
    saveQuota(tx, quota);
    tx.log("Units given back by a shard.", {
      product_id: tx.productId,
      shard,
      return_seq: made.seq,
      qty: made.qty,
    });
  }
  return { returns: quota.outbox, report: reportOf(quota) };
}

/** The coordinator applied every return up to `seq`. */
export function returnsAcknowledged(tx: Tx, shard: number, seq: number): void {
  const quota = loadQuota(tx, shard);
  if (!quota.outbox.some((out) => out.seq <= seq)) return;
  ackReturns(quota, seq);
  saveQuota(tx, quota);
}

/** Whether anything is held or pending here (a change of N must wait for none). */
export function busy(product: ProductRow): boolean {
  return product.reserved > 0;
}
