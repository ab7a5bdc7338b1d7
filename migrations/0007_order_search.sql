-- The operators' order search (GET /api/admin/orders): newest first, overall and within each
-- filter, so every filter reads an index in order instead of sorting the table.
CREATE INDEX orders_by_time ON orders (created_at DESC, order_id DESC);
CREATE INDEX orders_by_product_time ON orders (product_id, created_at DESC, order_id DESC);
CREATE INDEX orders_by_shopper ON orders (shopper_id, created_at DESC, order_id DESC);
CREATE INDEX orders_by_payment ON orders (payment_id);
-- An order number is the first 10 hex digits of the order id's random part (src/contract/ids.ts).
CREATE INDEX orders_by_number ON orders (substr(order_id, -32, 10));
CREATE INDEX order_events_by_order_time ON order_events (order_id, at);
