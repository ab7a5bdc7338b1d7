-- Issue 16: every object of a sharded product (its own, and shard k's) numbers the order events
-- it records from 1, so an event is known by its product, the object that recorded it, and its
-- seq. Keyed by (product_id, seq) alone, events of two objects with the same seq collided and all
-- but the first were dropped by INSERT OR IGNORE. `shard` is the object: k for shard k, -1 for
-- the product's own object (every event recorded before shards existed).
CREATE TABLE order_events_keyed (
  product_id  INTEGER NOT NULL,
  shard       INTEGER NOT NULL DEFAULT -1 CHECK (shard BETWEEN -1 AND 255),
  seq         INTEGER NOT NULL,
  order_id    TEXT    NOT NULL,
  event       TEXT    NOT NULL,
  status      TEXT    NOT NULL,
  at          TEXT    NOT NULL,
  detail      TEXT,
  PRIMARY KEY (product_id, shard, seq)
);
INSERT INTO order_events_keyed (product_id, shard, seq, order_id, event, status, at, detail)
  SELECT product_id, -1, seq, order_id, event, status, at, detail FROM order_events;
DROP TABLE order_events;
ALTER TABLE order_events_keyed RENAME TO order_events;
CREATE INDEX order_events_by_order ON order_events (order_id);
CREATE INDEX order_events_by_order_time ON order_events (order_id, at);
