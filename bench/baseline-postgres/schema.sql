-- The classic design's tables, as its Laravel migrations would make them: counters on the product
-- row, one row per hold and order, and a table of webhook idempotency keys with a unique key.

CREATE TABLE products (
  id          bigint      PRIMARY KEY,
  name        text        NOT NULL,
  price_cents integer     NOT NULL CHECK (price_cents >= 0),
  currency    text        NOT NULL,
  stock       integer     NOT NULL CHECK (stock >= 0),
  reserved    integer     NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= stock),
  sold        integer     NOT NULL DEFAULT 0 CHECK (sold >= 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE holds (
  id              uuid        PRIMARY KEY,
  product_id      bigint      NOT NULL REFERENCES products (id),
  qty             integer     NOT NULL CHECK (qty > 0),
  status          text        NOT NULL CHECK (status IN ('active', 'ordered', 'expired')),
  expires_at      timestamptz NOT NULL,
  idempotency_key text        UNIQUE,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX holds_product_id_status_index ON holds (product_id, status);

CREATE TABLE orders (
  id           uuid        PRIMARY KEY,
  hold_id      uuid        NOT NULL UNIQUE REFERENCES holds (id),
  product_id   bigint      NOT NULL REFERENCES products (id),
  qty          integer     NOT NULL CHECK (qty > 0),
  amount_cents integer     NOT NULL,
  currency     text        NOT NULL,
  status       text        NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'cancelled')),
  pay_by       timestamptz NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_product_id_status_index ON orders (product_id, status);

CREATE TABLE payment_webhooks (
  idempotency_key text        PRIMARY KEY,
  order_id        uuid        NOT NULL REFERENCES orders (id),
  status          text        NOT NULL CHECK (status IN ('success', 'failure')),
  order_status    text        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
