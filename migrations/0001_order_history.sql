-- Catalogue and order history. The live stock of each product is owned by its Durable Object;
-- D1 holds what products exist (read once when an object starts) and the order history that
-- each object writes through its outbox.

CREATE TABLE products (
  id            INTEGER PRIMARY KEY CHECK (id > 0),
  name          TEXT    NOT NULL,
  price_cents   INTEGER NOT NULL CHECK (price_cents >= 0),
  currency      TEXT    NOT NULL,
  initial_stock INTEGER NOT NULL CHECK (initial_stock >= 0),
  created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- One row per order, upserted with its latest status.
CREATE TABLE orders (
  order_id     TEXT    PRIMARY KEY,
  product_id   INTEGER NOT NULL,
  hold_id      TEXT    NOT NULL,
  qty          INTEGER NOT NULL,
  amount_cents INTEGER NOT NULL,
  currency     TEXT    NOT NULL,
  status       TEXT    NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'cancelled')),
  created_at   TEXT    NOT NULL,
  pay_by       TEXT    NOT NULL,
  updated_at   TEXT    NOT NULL,
  needs_refund INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX orders_by_product_status ON orders (product_id, status);

-- Every change, in the order the product's object made it. (product_id, seq) is the object's
-- outbox id, so a flush that is retried after a partial failure never records an event twice.
CREATE TABLE order_events (
  product_id  INTEGER NOT NULL,
  seq         INTEGER NOT NULL,
  order_id    TEXT    NOT NULL,
  event       TEXT    NOT NULL,
  status      TEXT    NOT NULL,
  at          TEXT    NOT NULL,
  detail      TEXT,
  PRIMARY KEY (product_id, seq)
);
CREATE INDEX order_events_by_order ON order_events (order_id);
