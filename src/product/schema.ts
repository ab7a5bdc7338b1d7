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
