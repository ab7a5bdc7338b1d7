/**
 * The product object's own SQLite schema, as ordered migrations. `schema_version` holds how many
 * have run; an object that already exists is brought up to date in place, in one transaction, the
 * first time it starts with newer code (as cloudflare/agents versions its schema). Migrations are
 * never edited once released: a change is a new entry at the end.
 *
 * The CHECK constraints are the stock invariants: a statement that would break one fails, and
 * the transaction around it rolls back whole.
 *
 *   0 <= reserved <= stock              never promise more than is on hand
 *   sold + stock = initial + restocked  stock only leaves by being sold
 */
const MIGRATIONS: readonly string[] = [
  // 1: the first release, before versions were recorded.
  `
CREATE TABLE IF NOT EXISTS product (
  id            INTEGER PRIMARY KEY,
  name          TEXT    NOT NULL,
  price_cents   INTEGER NOT NULL,
  currency      TEXT    NOT NULL,
  initial_stock INTEGER NOT NULL,
  restocked     INTEGER NOT NULL DEFAULT 0,
  stock         INTEGER NOT NULL,
  reserved      INTEGER NOT NULL DEFAULT 0,
  sold          INTEGER NOT NULL DEFAULT 0,
  CHECK (reserved >= 0 AND reserved <= stock),
  CHECK (sold >= 0 AND restocked >= 0 AND sold + stock = initial_stock + restocked)
);

CREATE TABLE IF NOT EXISTS holds (
  hold_id         TEXT    PRIMARY KEY,
  qty             INTEGER NOT NULL CHECK (qty > 0),
  status          TEXT    NOT NULL CHECK (status IN ('active', 'ordered', 'expired')),
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  idempotency_key TEXT    UNIQUE,
  order_id        TEXT
);
CREATE INDEX IF NOT EXISTS holds_active_by_deadline ON holds (expires_at) WHERE status = 'active';

CREATE TABLE IF NOT EXISTS orders (
  order_id     TEXT    PRIMARY KEY,
  hold_id      TEXT    NOT NULL UNIQUE REFERENCES holds (hold_id),
  qty          INTEGER NOT NULL CHECK (qty > 0),
  amount_cents INTEGER NOT NULL,
  currency     TEXT    NOT NULL,
  status       TEXT    NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'cancelled')),
  created_at   INTEGER NOT NULL,
  pay_by       INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  needs_refund INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS orders_pending_by_deadline ON orders (pay_by) WHERE status = 'pending';

CREATE TABLE IF NOT EXISTS webhook_keys (
  idempotency_key TEXT    PRIMARY KEY,
  order_id        TEXT    NOT NULL,
  payment_status  TEXT    NOT NULL CHECK (payment_status IN ('success', 'failure')),
  order_status    TEXT    NOT NULL,
  ignored         INTEGER NOT NULL,
  received_at     INTEGER NOT NULL,
  duplicates      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS outbox (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,
  payload TEXT    NOT NULL
);
`,
  // 2: shoppers, hold release and sale windows. A hold belongs to its shopper and keeps the price
  // it was made at; a shopper can release it ('released'). shopper_units is each shopper's units in
  // active holds, pending and paid orders, kept in the same transactions as the rows it counts.
  // SQLite cannot change a CHECK in place, so holds is rebuilt. Orders reference it, and the
  // object enforces foreign keys: the check is deferred to the commit, the rows move aside, the
  // new table takes the name, and putting the rows back into it satisfies the orders again.
  `
PRAGMA defer_foreign_keys = ON;
ALTER TABLE product ADD COLUMN sale_starts_at INTEGER;
ALTER TABLE product ADD COLUMN sale_ends_at INTEGER;
ALTER TABLE product ADD COLUMN max_units_per_shopper INTEGER
  CHECK (max_units_per_shopper IS NULL OR max_units_per_shopper >= 1);

CREATE TABLE holds_v2 (
  hold_id         TEXT    PRIMARY KEY,
  qty             INTEGER NOT NULL CHECK (qty > 0),
  status          TEXT    NOT NULL CHECK (status IN ('active', 'ordered', 'expired', 'released')),
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  idempotency_key TEXT    UNIQUE,
  order_id        TEXT,
  shopper_id      TEXT,
  price_cents     INTEGER
);
CREATE TABLE holds_v1_rows AS SELECT * FROM holds;
DROP TABLE holds;
ALTER TABLE holds_v2 RENAME TO holds;
INSERT INTO holds (hold_id, qty, status, created_at, expires_at, idempotency_key, order_id)
  SELECT hold_id, qty, status, created_at, expires_at, idempotency_key, order_id FROM holds_v1_rows;
DROP TABLE holds_v1_rows;
CREATE INDEX holds_active_by_deadline ON holds (expires_at) WHERE status = 'active';

ALTER TABLE orders ADD COLUMN shopper_id TEXT;

CREATE TABLE shopper_units (
  shopper_id TEXT    PRIMARY KEY,
  units      INTEGER NOT NULL CHECK (units >= 0)
);
`,
  // 3: money and bounded storage. Orders keep the gateway's payment id and whether a late payment
  // was accepted; each refund due is a record of its own; order history that D1 always rejects
  // waits in dead_letters; restocks remember their idempotency keys. Metrics read counters kept
  // on the product row in the same statements as the rows they count (filled here from the rows
  // an existing object has), so they never scan a table. Partial indexes find what retention may
  // delete without scanning either.
  `
ALTER TABLE product ADD COLUMN late_payments TEXT
  CHECK (late_payments IS NULL OR late_payments IN ('refund', 'accept_if_available'));
ALTER TABLE product ADD COLUMN holds_active      INTEGER NOT NULL DEFAULT 0;
ALTER TABLE product ADD COLUMN holds_ordered     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE product ADD COLUMN holds_expired     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE product ADD COLUMN holds_released    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE product ADD COLUMN orders_pending    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE product ADD COLUMN orders_paid       INTEGER NOT NULL DEFAULT 0;
ALTER TABLE product ADD COLUMN orders_failed     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE product ADD COLUMN orders_cancelled  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE product ADD COLUMN webhooks_processed  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE product ADD COLUMN webhooks_ignored    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE product ADD COLUMN webhooks_duplicates INTEGER NOT NULL DEFAULT 0;
ALTER TABLE product ADD COLUMN refunds_due       INTEGER NOT NULL DEFAULT 0;
ALTER TABLE product ADD COLUMN refunds_resolved  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE product ADD COLUMN outbox_backlog    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE product ADD COLUMN dead_letters      INTEGER NOT NULL DEFAULT 0;
-- Units of paid orders that retention has deleted: sold = paid orders still here + these.
ALTER TABLE product ADD COLUMN pruned_paid_units INTEGER NOT NULL DEFAULT 0;

ALTER TABLE orders ADD COLUMN payment_id TEXT;
ALTER TABLE orders ADD COLUMN paid_late INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shopper_units ADD COLUMN pruned_units INTEGER NOT NULL DEFAULT 0;
-- The whole first answer to a key, replayed to its duplicates (older keys replay from the columns).
ALTER TABLE webhook_keys ADD COLUMN answer TEXT;

CREATE TABLE refunds (
  refund_id    TEXT    PRIMARY KEY,
  order_id     TEXT    NOT NULL,
  amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
  currency     TEXT    NOT NULL,
  payment_id   TEXT,
  reason       TEXT    NOT NULL CHECK (reason IN ('late_payment', 'double_charge', 'amount_mismatch')),
  status       TEXT    NOT NULL CHECK (status IN ('due', 'resolved')),
  created_at   INTEGER NOT NULL,
  resolved_at  INTEGER,
  note         TEXT
);
CREATE INDEX refunds_by_order ON refunds (order_id);
CREATE INDEX refunds_resolved_by_time ON refunds (resolved_at) WHERE status = 'resolved';

-- When each event was queued: whatever changed before the oldest queued event is in D1.
ALTER TABLE outbox ADD COLUMN appended_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
CREATE TABLE dead_letters (
  seq         INTEGER PRIMARY KEY,
  payload     TEXT    NOT NULL,
  appended_at INTEGER NOT NULL,
  attempts    INTEGER NOT NULL,
  error       TEXT    NOT NULL,
  failed_at   INTEGER NOT NULL
);

CREATE TABLE restock_keys (
  idempotency_key TEXT    PRIMARY KEY,
  qty             INTEGER NOT NULL,
  answer          TEXT    NOT NULL,
  received_at     INTEGER NOT NULL
);

CREATE INDEX holds_closed_by_time ON holds (expires_at) WHERE status IN ('expired', 'released');
CREATE INDEX orders_final_by_time ON orders (updated_at) WHERE status != 'pending';
CREATE INDEX webhook_keys_by_time ON webhook_keys (received_at);
CREATE INDEX restock_keys_by_time ON restock_keys (received_at);

-- Refunds flagged before they were records become records, due.
INSERT INTO refunds (refund_id, order_id, amount_cents, currency, payment_id, reason, status, created_at)
  SELECT 'rfd_' || (SELECT id FROM product) || '_' || lower(hex(randomblob(16))), order_id,
         amount_cents, currency, NULL, 'late_payment', 'due', updated_at
  FROM orders WHERE needs_refund = 1;
INSERT INTO outbox (payload, appended_at)
  SELECT json_object('event', 'refund_due', 'refund', json_object(
           'refund_id', refund_id, 'order_id', order_id, 'amount_cents', amount_cents,
           'currency', currency, 'payment_id', payment_id, 'reason', reason, 'status', status,
           'created_at', created_at, 'resolved_at', resolved_at, 'note', note)), created_at
  FROM refunds;

UPDATE product SET
  holds_active    = (SELECT COUNT(*) FROM holds WHERE status = 'active'),
  holds_ordered   = (SELECT COUNT(*) FROM holds WHERE status = 'ordered'),
  holds_expired   = (SELECT COUNT(*) FROM holds WHERE status = 'expired'),
  holds_released  = (SELECT COUNT(*) FROM holds WHERE status = 'released'),
  orders_pending  = (SELECT COUNT(*) FROM orders WHERE status = 'pending'),
  orders_paid     = (SELECT COUNT(*) FROM orders WHERE status = 'paid'),
  orders_failed   = (SELECT COUNT(*) FROM orders WHERE status = 'failed'),
  orders_cancelled = (SELECT COUNT(*) FROM orders WHERE status = 'cancelled'),
  webhooks_processed  = (SELECT COUNT(*) FROM webhook_keys),
  webhooks_ignored    = (SELECT COALESCE(SUM(ignored), 0) FROM webhook_keys),
  webhooks_duplicates = (SELECT COALESCE(SUM(duplicates), 0) FROM webhook_keys),
  refunds_due     = (SELECT COUNT(*) FROM refunds WHERE status = 'due'),
  outbox_backlog  = (SELECT COUNT(*) FROM outbox);
`,
  // 4: the fair queue. Settings live on the product row. Joining writes nothing per shopper: a
  // ticket's place is the seq it carries (signed), seqs are reserved a block at a time
  // (next_seq_reserved), and the shopper -> seq map is saved in batches. What is saved per
  // admission: the frontier and each admission move (bounded by the units on sale, not the crowd),
  // and each admission used for a hold, in the hold's own transaction.
  `
ALTER TABLE product ADD COLUMN queue_enabled INTEGER NOT NULL DEFAULT 0 CHECK (queue_enabled IN (0, 1));
ALTER TABLE product ADD COLUMN queue_admit_per_second INTEGER NOT NULL DEFAULT 50
  CHECK (queue_admit_per_second BETWEEN 1 AND 10000);
ALTER TABLE product ADD COLUMN queue_admission_ttl_seconds INTEGER NOT NULL DEFAULT 60
  CHECK (queue_admission_ttl_seconds BETWEEN 10 AND 3600);

CREATE TABLE queue_state (
  id                INTEGER PRIMARY KEY CHECK (id = 1),
  next_seq_reserved INTEGER NOT NULL,
  frontier          INTEGER NOT NULL,
  shuffle_key       INTEGER,
  shuffle_size      INTEGER
);
INSERT INTO queue_state (id, next_seq_reserved, frontier) VALUES (1, 0, 0);

CREATE TABLE queue_moves (
  at        INTEGER NOT NULL,
  from_rank INTEGER NOT NULL,
  to_rank   INTEGER NOT NULL PRIMARY KEY,
  used      INTEGER NOT NULL DEFAULT 0,
  CHECK (from_rank <= to_rank AND used >= 0 AND used <= to_rank - from_rank + 1)
);

CREATE TABLE queue_admissions_used (
  seq        INTEGER PRIMARY KEY,
  hold_id    TEXT    NOT NULL,
  shopper_id TEXT,
  used_at    INTEGER NOT NULL
);

CREATE TABLE queue_shoppers (
  shopper_id TEXT    PRIMARY KEY,
  seq        INTEGER NOT NULL,
  joined_at  INTEGER NOT NULL
);
`,
  // 5: retention reaches the queue's shopper map and its used admissions too.
  `
CREATE INDEX queue_shoppers_by_time ON queue_shoppers (joined_at);
CREATE INDEX queue_admissions_used_by_time ON queue_admissions_used (used_at);
`,
  // 6: trust. The queue saves the last seq it handed out, not a block reserved ahead, so a restart
  // never turns unissued seqs into phantom tickets (objects from before keep their reservation:
  // a seq in it may be on a ticket). Each admission keeps when it ends, so lowering the TTL never
  // cuts short an admission whose token is signed. An order counts its failed payment attempts
  // (it stays pending: the customer may retry). A deleted order leaves a tombstone (what a late
  // payment needs to be refunded), kept at least 400 days.
  `
ALTER TABLE queue_state RENAME COLUMN next_seq_reserved TO issued;
ALTER TABLE queue_moves ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
UPDATE queue_moves SET expires_at = at + 1000 * (SELECT queue_admission_ttl_seconds FROM product);
CREATE INDEX queue_moves_by_expiry ON queue_moves (expires_at);

ALTER TABLE orders ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;

CREATE TABLE order_tombstones (
  order_id     TEXT    PRIMARY KEY,
  status       TEXT    NOT NULL CHECK (status IN ('paid', 'failed', 'cancelled')),
  payment_id   TEXT,
  amount_cents INTEGER NOT NULL,
  currency     TEXT    NOT NULL,
  closed_at    INTEGER NOT NULL
);
CREATE INDEX order_tombstones_by_time ON order_tombstones (closed_at);
`,
  // 7: a sale shoppers can see and pay for. The product gets a picture and a description (from
  // the catalogue); revenue is a counter kept with `sold` (filled here from the paid orders an
  // existing object still has; what retention deleted before is not known); an order remembers
  // the Stripe Checkout Session opened for it, so a second click gets the same one; a queue
  // ticket whose shopper left the line is remembered by its seq.
  `
ALTER TABLE product ADD COLUMN image_url TEXT;
ALTER TABLE product ADD COLUMN description TEXT;
ALTER TABLE product ADD COLUMN revenue_cents INTEGER NOT NULL DEFAULT 0 CHECK (revenue_cents >= 0);
-- Revenue of paid orders that retention has deleted: revenue = paid orders still here + this.
ALTER TABLE product ADD COLUMN pruned_paid_cents INTEGER NOT NULL DEFAULT 0;
UPDATE product SET
  revenue_cents = (SELECT COALESCE(SUM(amount_cents), 0) FROM orders WHERE status = 'paid');

ALTER TABLE orders ADD COLUMN checkout_session_id TEXT;
ALTER TABLE orders ADD COLUMN checkout_url TEXT;
ALTER TABLE orders ADD COLUMN checkout_expires_at INTEGER;

CREATE TABLE queue_left (
  seq        INTEGER PRIMARY KEY,
  shopper_id TEXT,
  left_at    INTEGER NOT NULL
);
CREATE INDEX queue_left_by_time ON queue_left (left_at);

-- The operators' timeline of an order reads its payment notices.
CREATE INDEX webhook_keys_by_order ON webhook_keys (order_id);
`,
  // 8: stock shards (issue 16, docs/sharding.md). A product's own object is its coordinator: it
  // lends units to shard objects (`lent`, and per shard a ledger of numbered grants and returns,
  // with grants not yet acknowledged in an outbox). A shard (`shard` = k) keeps its quota in its
  // product row (initial stock 0, grants counted as `restocked` net of returns, so the row's
  // CHECK reads stock + sold = granted - returned), its transfer numbers, and its returns not yet
  // acknowledged.
  `
ALTER TABLE product ADD COLUMN shards INTEGER NOT NULL DEFAULT 1 CHECK (shards BETWEEN 1 AND 256);
ALTER TABLE product ADD COLUMN shard INTEGER;
ALTER TABLE product ADD COLUMN lent INTEGER NOT NULL DEFAULT 0 CHECK (lent >= 0);

CREATE TABLE shard_accounts (
  shard      INTEGER PRIMARY KEY,
  grant_seq  INTEGER NOT NULL,
  granted    INTEGER NOT NULL,
  return_seq INTEGER NOT NULL,
  returned   INTEGER NOT NULL,
  report     TEXT,
  CHECK (returned >= 0 AND returned <= granted)
);
CREATE TABLE shard_grants_out (
  shard INTEGER NOT NULL,
  seq   INTEGER NOT NULL,
  qty   INTEGER NOT NULL CHECK (qty > 0),
  PRIMARY KEY (shard, seq)
);
CREATE TABLE shard_quota (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  grant_seq  INTEGER NOT NULL,
  granted    INTEGER NOT NULL,
  return_seq INTEGER NOT NULL,
  returned   INTEGER NOT NULL
);
CREATE TABLE shard_returns_out (
  seq INTEGER PRIMARY KEY,
  qty INTEGER NOT NULL CHECK (qty > 0)
);
`,
  // 9: a shopper's limit across a change of shards. The product keeps the numbers of shards it
  // had before (`shard_eras`, a JSON array), and a shopper's first hold at a new home carries the
  // units they have at their earlier homes (`carried`), which count against the limit here.
  `
ALTER TABLE product ADD COLUMN shard_eras TEXT NOT NULL DEFAULT '[]';
ALTER TABLE shopper_units ADD COLUMN carried INTEGER NOT NULL DEFAULT 0 CHECK (carried >= 0);
`,
];

/** The version this code runs at: every migration applied. */
export const SCHEMA_VERSION = MIGRATIONS.length;

function tableExists(sql: SqlStorage, name: string): boolean {
  return (
    sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", name).toArray()
      .length > 0
  );
}

/**
 * The version this object's storage is at: 0 when it has none (a product never opened here, so
 * nothing may be written yet), 1 for objects made before versions were recorded.
 */
export function storedSchemaVersion(sql: SqlStorage): number {
  if (tableExists(sql, "schema_version")) {
    return sql.exec("SELECT version FROM schema_version").one().version as number;
  }
  return tableExists(sql, "product") ? 1 : 0;
}

/** Apply every migration this storage has not had yet. Call inside a transaction. */
export function migrate(sql: SqlStorage): void {
  const from = storedSchemaVersion(sql);
  if (from > SCHEMA_VERSION) {
    throw new Error(`storage is at schema ${from}, newer than this code's ${SCHEMA_VERSION}`);
  }
  if (from === SCHEMA_VERSION) return;
  for (const migration of MIGRATIONS.slice(from)) sql.exec(migration);
  sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  sql.exec("DELETE FROM schema_version");
  sql.exec("INSERT INTO schema_version (version) VALUES (?)", SCHEMA_VERSION);
}
