-- Payment reconciliation: each order keeps the gateway's payment id and whether a late payment
-- was accepted; every refund due is a record of its own, copied here from the product's object
-- with the rest of the order history, for operators to list and resolve.
ALTER TABLE orders ADD COLUMN payment_id TEXT;
ALTER TABLE orders ADD COLUMN paid_late INTEGER NOT NULL DEFAULT 0;

CREATE TABLE refunds (
  refund_id    TEXT    PRIMARY KEY,
  order_id     TEXT    NOT NULL,
  product_id   INTEGER NOT NULL,
  amount_cents INTEGER NOT NULL,
  currency     TEXT    NOT NULL,
  payment_id   TEXT,
  reason       TEXT    NOT NULL CHECK (reason IN ('late_payment', 'double_charge', 'amount_mismatch')),
  status       TEXT    NOT NULL CHECK (status IN ('due', 'resolved')),
  created_at   TEXT    NOT NULL,
  resolved_at  TEXT,
  note         TEXT
);
-- The operators' list: by status, newest first, then by product.
CREATE INDEX refunds_by_status ON refunds (status, created_at DESC, refund_id DESC);
CREATE INDEX refunds_by_product ON refunds (product_id, status, created_at DESC, refund_id DESC);

-- Late payments: what a product does with a success for an order already closed.
ALTER TABLE products ADD COLUMN late_payments TEXT
  CHECK (late_payments IS NULL OR late_payments IN ('refund', 'accept_if_available'));
