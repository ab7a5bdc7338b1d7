/**
 * The product object's own SQLite schema. The CHECK constraints are the stock invariants: a
 * statement that would break one fails, and the transaction around it rolls back whole.
 *
 *   0 <= reserved <= stock              never promise more than is on hand
 *   sold + stock = initial + restocked  stock only leaves by being sold
 */
export const SCHEMA = `
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
`;
